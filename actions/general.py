"""General conversation: changing one's mind in a form, corrections, language,
and suggestions when the assistant did not understand.

Every form of the assistant is listed in ``FORMS`` with the intents that belong
to its own flow. For every other request (another flow, "cancel", "a person",
a question such as "are you a bot?") the form's validation action, built on
``FlowSwitchMixin``, rejects the message instead of taking it as an answer;
RulePolicy then applies the rules of data/general/form_switches.yml, generated
from ``FORMS`` (``python -m actions.general``): the form is stopped and its
slots cleared by ``action_switch_flow``, which hands the message back to the
dialogue as if no form had been active, so the new flow starts by its own rules.
Questions answered in passing (bot, help, language, warranty term) are
answered by their general rules, after which RulePolicy resumes the form and
it asks its question again.
"""

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.claim import CLAIM_SLOTS
from actions.messages import render, say
from actions.slot_mappings import latest_user_event

logger = logging.getLogger(__name__)

# Intents that start a flow of their own: said in the middle of another
# flow's form, they stop it and start theirs.
FLOW_INTENTS = (
    "report_fault",
    "request_paid_repair",
    "check_repair_status",
    "check_order_status",
    "report_divergence",
    "check_discount",
    "report_delivery_problem",
    "request_display_units",
    "check_display_request",
)
# Stop the form whatever it is doing ("dejalo", "a person please").
STOP_INTENTS = ("cancel", "request_human")
# Answered in passing by a general rule; the form then asks its question again.
ASIDE_INTENTS = ("bot_challenge", "help", "switch_language", "ask_warranty_term")


@dataclass(frozen=True)
class FormFlow:
    """What the general rules need to know of a form.

    Attributes:
        answers: intents the form takes as answers to its questions; never a
            reason to leave it.
        extra_slots: slots the flow keeps besides the form's required slots
            and the slots mapped on its conditions, cleared when it stops.

    Intents the module's own rules handle while the form is active (its own
    "cancel" rule, say) are read from data/ when the rules are generated.
    """

    answers: frozenset[str] = frozenset()
    extra_slots: tuple[str, ...] = field(default=())


_ORDER_INTENTS = frozenset(
    {
        "check_order_status",
        "report_divergence",
        "check_discount",
        "report_delivery_problem",
    }
)
# One line per form. After adding one, run `python -m actions.general` to
# regenerate data/general/form_switches.yml (a test checks it is current).
FORMS: dict[str, FormFlow] = {
    "warranty_claim_form": FormFlow(
        answers=frozenset(
            {"report_fault", "request_paid_repair", "open_without_serial"}
        ),
        extra_slots=(*CLAIM_SLOTS, "serial_attempts"),
    ),
    "shop_identity_form": FormFlow(),
    # An order form's answers often read as another order request ("the
    # 4512", "2 are missing").
    "order_status_form": FormFlow(answers=_ORDER_INTENTS),
    "order_divergence_form": FormFlow(answers=_ORDER_INTENTS),
    "order_discount_form": FormFlow(answers=_ORDER_INTENTS),
    "delivery_problem_form": FormFlow(answers=_ORDER_INTENTS),
    # "el lavavajillas", "un frigo": a product named for display reads as a fault.
    "display_request_form": FormFlow(
        answers=frozenset({"request_display_units", "report_fault"})
    ),
    "display_status_form": FormFlow(answers=frozenset({"check_display_request"})),
    "repair_status_form": FormFlow(answers=frozenset({"check_repair_status"})),
    # A free-text answer may read as any request, and "no thanks" (even as
    # "dejalo") ends the survey by its own rules: only a person, or an aside,
    # interrupts it.
    "survey_form": FormFlow(answers=frozenset({*FLOW_INTENTS, "cancel"})),
}

# The loop Rasa runs for the two-stage fallback is not a form to switch from.
_NOT_A_FORM = {"action_two_stage_fallback"}
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
RULES_FILE = DATA_DIR / "general" / "form_switches.yml"


def _flow(form: str) -> FormFlow:
    return FORMS.get(form, FormFlow())


def interrupting_intents(form: str) -> frozenset[str]:
    """Intents that are not an answer to this form's questions."""
    return frozenset(FLOW_INTENTS + STOP_INTENTS + ASIDE_INTENTS) - _flow(form).answers


def switching_intents(
    form: str, handled: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Intents that stop this form by the general rule: another flow, cancel,
    a person (unless the form's module handles them itself)."""
    skip = _flow(form).answers | handled
    return [intent for intent in FLOW_INTENTS + STOP_INTENTS if intent not in skip]


def module_rules(data: Path = DATA_DIR) -> dict[str, set[str]]:
    """Form -> intents that rules outside the generated file handle in it."""
    handled: dict[str, set[str]] = {}
    for path in sorted(data.rglob("*.yml")):
        if path == RULES_FILE or path.parent.name == "nlu":
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in content.get("rules") or []:
            steps = rule.get("steps") or []
            if not steps or "intent" not in steps[0]:
                continue
            for condition in rule.get("condition") or []:
                if condition.get("active_loop"):
                    handled.setdefault(condition["active_loop"], set()).add(
                        steps[0]["intent"]
                    )
    return handled


def intent_of(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _initial_value(domain: DomainDict, slot: str) -> Any:
    return (domain.get("slots", {}).get(slot) or {}).get("initial_value")


def form_slots(form: str, domain: DomainDict) -> list[str]:
    """Every slot a form fills: required, mapped on its conditions, extra."""
    slots = list((domain.get("forms", {}).get(form) or {}).get("required_slots", []))
    for name, definition in (domain.get("slots") or {}).items():
        for mapping in (definition or {}).get("mappings", []):
            conditions = mapping.get("conditions") or []
            if any(condition.get("active_loop") == form for condition in conditions):
                slots.append(name)
    if form in FORMS:
        slots.extend(FORMS[form].extra_slots)
    slots.append("requested_slot")
    return list(dict.fromkeys(slots))


def clear_form(form: str | None, domain: DomainDict) -> list[dict[str, Any]]:
    """Events that put a form's slots back to their initial values."""
    if not form:
        return []
    return [
        SlotSet(slot, _initial_value(domain, slot)) for slot in form_slots(form, domain)
    ]


def stopped_form(tracker: Tracker) -> str | None:
    """The form stopped in this turn (rejected, then deactivated), if any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action_execution_rejected":
            name = event.get("name")
            if name and name not in _NOT_A_FORM:
                return name
    # Without a rejection event (a rule predicted the stop directly), the
    # last form activated before this turn's deactivation.
    deactivated = False
    for event in reversed(tracker.events):
        if event.get("event") != "active_loop":
            continue
        name = event.get("name")
        if name is None:
            deactivated = True
        elif deactivated and name not in _NOT_A_FORM:
            return name
        else:
            return None
    return None


def replay_latest_message(tracker: Tracker) -> list[dict[str, Any]]:
    """The person's latest message again, as if no form had been active.

    This is what Rasa's own two-stage fallback does with a clarified message:
    an action_listen, then the same user message, so that the rules that
    start a flow from its intent apply to it.
    """
    latest = latest_user_event(tracker)
    parse_data = dict(tracker.latest_message or {})
    return [
        {"event": "action", "timestamp": time.time(), "name": "action_listen"},
        {
            "event": "user",
            "timestamp": time.time(),
            "text": latest.get("text") or parse_data.get("text"),
            "parse_data": parse_data,
            "input_channel": latest.get("input_channel"),
            "message_id": latest.get("message_id"),
            "metadata": latest.get("metadata") or {},
        },
    ]


class ActionSwitchFlow(Action):
    """Stops the form the person left, clearing it, and starts what they asked."""

    def name(self) -> str:
        return "action_switch_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        form = stopped_form(tracker)
        intent = intent_of(tracker)
        logger.info("conversation %s leaves %s for %s", tracker.sender_id, form, intent)
        events = clear_form(form, domain)
        text = tracker.latest_message.get("text") or ""
        if intent == "report_fault" and not text.startswith("/"):
            # Outside a form the fault's words are kept as its description
            # (action_validate_slot_mappings); here a form was active.
            events.append(SlotSet("fault_description", text[:2000]))
        return events + replay_latest_message(tracker)


# --- a mixin for every form's validation action ------------------------------


class FlowSwitchMixin:
    """Lets a form be left, and its values corrected, at any question.

    Put it first among the bases of the form's validation action and list
    the form in ``FORMS``:

        class ValidateOrderForm(FlowSwitchMixin, FormValidationAction): ...

    - A message whose intent is another request (``interrupting_intents``)
      is rejected instead of answering the question: what the slot mappings
      took from it is undone, and the rules decide (stop, switch, or answer
      and ask again).
    - A message that carries a value for another slot of the form ("no, the
      number is WM-2023-10477", "sorry, my postcode is 46015") while the
      question asked cannot take it re-fills and re-validates that slot only,
      and the question is asked again.
    """

    def form_name(self) -> str:
        return self.name().replace("validate_", "", 1)  # type: ignore[attr-defined]

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[dict[str, Any]]:
        form = self.form_name()
        if not _answering(tracker, form):
            return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        candidates = tracker.slots_to_validate()
        intent = intent_of(tracker)
        if intent in interrupting_intents(form) and not _answers_with_entity(
            tracker, domain
        ):
            logger.info(
                "conversation %s: %s interrupts %s", tracker.sender_id, intent, form
            )
            return [
                *_undo(candidates, tracker, domain),
                ActionExecutionRejected(form),
            ]
        correction = await self._correction(candidates, dispatcher, tracker, domain)
        if correction is not None:
            return correction
        return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]

    async def _correction(
        self,
        candidates: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[dict[str, Any]] | None:
        """Validates a corrected value alone, or None when it is no correction."""
        asked = tracker.get_slot("requested_slot")
        corrected = [
            slot
            for slot in _slots_from_entities(tracker, domain)
            if slot != asked and slot in candidates
        ]
        if not corrected:
            return None
        if asked in candidates and await self._fits(
            asked, candidates[asked], tracker, domain
        ):
            return None  # an answer that happens to mention another value
        previous = _previous_values(tracker, domain)
        events: list[dict[str, Any]] = []
        if asked in candidates:
            # The question asked took the whole message: it answered nothing.
            events.append(SlotSet(asked, previous.get(asked)))
        for slot in corrected:
            result = {slot: candidates[slot]}
            validate = getattr(self, f"validate_{slot}", None)
            said = len(dispatcher.messages)
            if validate is not None:
                result = await validate(candidates[slot], dispatcher, tracker, domain)
            value = result.get(slot)
            quiet = len(dispatcher.messages) == said
            if quiet and value is not None and value != previous.get(slot):
                # The validation said nothing of it: say that it was taken.
                say(
                    dispatcher,
                    tracker,
                    "value_corrected" if previous.get(slot) else "value_noted",
                    value=str(value)[:60],
                )
            events.extend(SlotSet(name, value) for name, value in result.items())
        tracker.add_slots(events)
        next_slot = await self.next_requested_slot(  # type: ignore[attr-defined]
            dispatcher, tracker, domain
        )
        logger.info(
            "conversation %s corrected %s while asked %s",
            tracker.sender_id,
            corrected,
            asked,
        )
        return events + ([next_slot] if next_slot else [])

    async def _fits(
        self, slot: str, value: Any, tracker: Tracker, domain: DomainDict
    ) -> bool:
        """Whether the question asked would take this value (checked silently)."""
        validate = getattr(self, f"validate_{slot}", None)
        if validate is None:
            return True
        result = await validate(value, CollectingDispatcher(), tracker, domain)
        return result.get(slot) is not None


def _answering(tracker: Tracker, form: str) -> bool:
    """The form runs right after a message of the person, while it asks."""
    if tracker.active_loop.get("name") != form or not tracker.get_slot(
        "requested_slot"
    ):
        return False
    actions = [event for event in tracker.events if event.get("event") == "action"]
    # Rasa adds the form's own execution before calling its validation.
    return len(actions) >= 2 and actions[-2].get("name") == "action_listen"


def _entity_slots(domain: DomainDict) -> dict[str, set[str]]:
    """Entity name -> slots with a from_entity mapping of it."""
    found: dict[str, set[str]] = {}
    for name, definition in (domain.get("slots") or {}).items():
        for mapping in (definition or {}).get("mappings", []):
            if mapping.get("type") == "from_entity" and mapping.get("entity"):
                found.setdefault(mapping["entity"], set()).add(name)
    return found


def _slots_from_entities(tracker: Tracker, domain: DomainDict) -> list[str]:
    by_entity = _entity_slots(domain)
    slots: list[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        slots.extend(sorted(by_entity.get(entity.get("entity"), ())))
    return list(dict.fromkeys(slots))


def _answers_with_entity(tracker: Tracker, domain: DomainDict) -> bool:
    """The message carries a value for the very question asked."""
    return tracker.get_slot("requested_slot") in _slots_from_entities(tracker, domain)


def _previous_values(tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
    """Slot values as they were before the latest message."""
    values: dict[str, Any] = {
        name: (definition or {}).get("initial_value")
        for name, definition in (domain.get("slots") or {}).items()
    }
    events = tracker.events
    last_user = max(
        (index for index, event in enumerate(events) if event.get("event") == "user"),
        default=len(events),
    )
    for event in events[:last_user]:
        if event.get("event") == "slot":
            values[event["name"]] = event.get("value")
        elif event.get("event") in ("restart", "session_started"):
            values = {name: None for name in values}
    return values


def _undo(
    candidates: dict[str, Any], tracker: Tracker, domain: DomainDict
) -> list[dict[str, Any]]:
    previous = _previous_values(tracker, domain)
    return [SlotSet(slot, previous.get(slot)) for slot in candidates]


# --- language -----------------------------------------------------------------

_ASKS_ENGLISH = ("english", "ingles", "inglés", "engl")
_ASKS_SPANISH = ("spanish", "español", "espanol", "castellano", "espa")


def wanted_language(text: str, current: str | None) -> str:
    """The language the person asks for; the other one when they do not say."""
    lowered = text.lower()
    if any(word in lowered for word in _ASKS_ENGLISH):
        return "en"
    if any(word in lowered for word in _ASKS_SPANISH):
        return "es"
    return "es" if current == "en" else "en"


class ActionSwitchLanguage(Action):
    """ "Can we speak English?": confirms in the new language.

    In a form, RulePolicy runs the form next and it asks its question again,
    now in the new language; otherwise the confirmation asks how to help.
    """

    def name(self) -> str:
        return "action_switch_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        language = wanted_language(text, tracker.get_slot("language"))
        # say() reads the slot: answer in the language just chosen.
        tracker.slots["language"] = language
        in_form = bool(tracker.active_loop.get("name"))
        say(
            dispatcher,
            tracker,
            "language_switched_in_form" if in_form else "language_switched",
        )
        return [SlotSet("language", language)]


# --- suggestions when the message was not understood -------------------------

# Intents offered as "did you mean…?", each with its label in the catalogue.
SUGGESTIONS = (
    "report_fault",
    "check_repair_status",
    "check_order_status",
    "report_divergence",
    "check_discount",
    "report_delivery_problem",
    "request_display_units",
    "check_display_request",
    "ask_warranty_term",
    "request_paid_repair",
    "identify_shop",
    "request_human",
)
MAX_SUGGESTIONS = 2
# Telegram carries at most 64 bytes back from a button.
MAX_PAYLOAD_BYTES = 64


def suggestion_payload(intent: str, entities: list[dict[str, Any]]) -> str:
    """/intent with the message's entities when they fit in a button."""
    values: dict[str, Any] = {}
    for entity in entities:
        if entity.get("entity") and entity.get("value") is not None:
            values.setdefault(entity["entity"], entity["value"])
    if values:
        payload = f"/{intent}{json.dumps(values, ensure_ascii=False)}"
        if len(payload.encode()) <= MAX_PAYLOAD_BYTES:
            return payload
    return f"/{intent}"


def suggested_intents(ranking: list[dict[str, Any]]) -> list[str]:
    """The likeliest intents worth offering, best first."""
    ranked = [
        item.get("name")
        for item in sorted(ranking, key=lambda item: -(item.get("confidence") or 0))
    ]
    offered = [name for name in ranked if name in SUGGESTIONS]
    if len(offered) < MAX_SUGGESTIONS:
        offered += [
            name
            for name in ("report_fault", "check_order_status")
            if name not in offered
        ]
    return offered[:MAX_SUGGESTIONS]


class ActionDefaultAskAffirmation(Action):
    """First stage of the two-stage fallback: "Did you mean…?" with buttons.

    Replaces Rasa's default, which offers one intent by its name in English.
    A button sends its intent (with the entities of the message); "Something
    else" sends /out_of_scope, after which Rasa asks to rephrase
    (action_default_ask_rephrase). Two misunderstandings in a row, or a
    second "Something else", and Rasa gives up with utter_default, which
    offers a person.
    """

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = tracker.get_slot("language") or "es"
        message = tracker.latest_message or {}
        entities = message.get("entities") or []
        buttons = [
            {
                "title": render(f"suggest_{intent}", language)["text"],
                "payload": suggestion_payload(intent, entities),
            }
            for intent in suggested_intents(message.get("intent_ranking") or [])
        ]
        buttons.append(
            {
                "title": render("suggest_something_else", language)["text"],
                "payload": "/out_of_scope",
            }
        )
        say(dispatcher, tracker, "did_you_mean", buttons=buttons)
        return []


class ActionDefaultAskRephrase(Action):
    """Second stage of the two-stage fallback: asks for other words, with examples."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "ask_rephrase")
        return []


# --- the rules of every form ---------------------------------------------------


def form_switch_rules() -> dict[str, Any]:
    """The rules of data/general/form_switches.yml, one or two per form."""
    rules = []
    handled = module_rules()
    for form in FORMS:
        own = handled.get(form, set())
        rules.append(
            {
                "rule": f"Another request stops {form}",
                "condition": [{"active_loop": form}],
                "steps": [
                    {"or": [{"intent": i} for i in switching_intents(form, own)]},
                    {"action": "action_deactivate_loop"},
                    {"active_loop": None},
                    {"action": "action_switch_flow"},
                ],
            }
        )
        if "nlu_fallback" not in own:
            rules.append(
                {
                    "rule": f"Not understood in {form}",
                    "condition": [{"active_loop": form}],
                    "steps": [
                        {"intent": "nlu_fallback"},
                        {"action": "utter_default"},
                        {"action": form},
                        {"active_loop": form},
                    ],
                }
            )
    return {"version": "3.1", "rules": rules}


RULES_HEADER = """\
# Generated by `python -m actions.general` from actions.general.FORMS: do not
# edit by hand. In every form, another flow's request, "cancel" or "a person"
# stops the form (action_switch_flow clears it and starts what was asked).
"""


def rules_text() -> str:
    body = yaml.safe_dump(
        form_switch_rules(), sort_keys=False, allow_unicode=True, width=88
    )
    return RULES_HEADER + body


if __name__ == "__main__":  # pragma: no cover - a developer's command
    RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
    RULES_FILE.write_text(rules_text(), encoding="utf-8")
    sys.stdout.write(f"wrote {RULES_FILE}\n")
