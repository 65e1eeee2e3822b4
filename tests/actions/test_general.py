"""General conversation: leaving a form, corrections, language, suggestions."""

import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.claim import CLAIM_SLOTS
from actions.crm_client import CrmClient
from actions.general import (
    FORMS,
    RULES_FILE,
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    ActionSwitchFlow,
    ActionSwitchLanguage,
    FlowSwitchMixin,
    form_slots,
    interrupting_intents,
    module_rules,
    rules_text,
    stopped_form,
    suggestion_payload,
    switching_intents,
    wanted_language,
)
from actions.warranty_form import ValidateWarrantyClaimForm
from tests.actions.factories import initial_slots, new_conversation_id, next_timestamp

pytestmark = pytest.mark.anyio

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
WARRANTY = "warranty_claim_form"


def load_domain() -> dict[str, Any]:
    """Every file of bot/domain merged, as Rasa sends the domain to actions."""
    merged: dict[str, Any] = {"slots": {}, "forms": {}, "actions": []}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["slots"].update(part.get("slots") or {})
        merged["forms"].update(part.get("forms") or {})
        merged["actions"].extend(part.get("actions") or [])
    return merged


DOMAIN = load_domain()


def user(
    text: str,
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9} if intent else {},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    return {
        "event": "user",
        "timestamp": next_timestamp(),
        "text": text,
        "parse_data": parse_data,
        "input_channel": "rest",
        "metadata": {"channel": "telegram"},
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": next_timestamp(), "name": name}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {
        "event": "slot",
        "timestamp": next_timestamp(),
        "name": name,
        "value": value,
    }


def loop(name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "timestamp": next_timestamp(), "name": name}


def entity(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": len(value)}


def tracker_of(
    events: list[dict[str, Any]],
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    language: str = "es",
) -> Tracker:
    """A tracker whose latest message is the last user event of `events`."""
    values = {**initial_slots(), "language": language}
    for event in events:
        if event["event"] == "slot":
            values[event["name"]] = event["value"]
    values.update(slots or {})
    latest = next(e for e in reversed(events) if e["event"] == "user")
    names = [e["name"] for e in events if e["event"] == "action"]
    return Tracker(
        new_conversation_id("general"),
        values,
        latest["parse_data"],
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        names[-1] if names else None,
    )


def form_turn(
    message: dict[str, Any],
    asked: str,
    candidates: dict[str, Any],
    before: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    language: str = "es",
) -> Tracker:
    """The tracker the claim's validation gets right after a message.

    As Rasa builds it: the conversation so far, the requested slot, the
    form's own execution, then the slot candidates taken from the message.
    """
    events = [
        user("la lavadora no va", "report_fault"),
        action(WARRANTY),
        loop(WARRANTY),
        *(before or []),
        slot("requested_slot", asked),
        action("action_listen"),
        message,
        slot("requested_slot", asked),
        action(WARRANTY),
        *(slot(name, value) for name, value in candidates.items()),
    ]
    return tracker_of(events, slots=slots, active_loop=WARRANTY, language=language)


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["text"] for message in dispatcher.messages]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def validate(tracker: Tracker) -> tuple[list[dict[str, Any]], list[str]]:
    dispatcher = CollectingDispatcher()
    events = await ValidateWarrantyClaimForm().run(dispatcher, tracker, DOMAIN)
    return events, said(dispatcher)


class TestLeavingAForm:
    async def test_another_flow_mid_claim_is_rejected_and_its_text_not_kept(
        self,
    ) -> None:
        message = user(
            "mejor dime como va mi pedido 4512",
            "check_order_status",
            [entity("order_number", "4512")],
        )
        tracker = form_turn(
            message, "serial_number", {"serial_number": message["text"]}
        )

        events, texts = await validate(tracker)

        assert texts == [], "no 'that is not a serial' for a change of mind"
        assert events[-1] == {
            "event": "action_execution_rejected",
            "timestamp": None,
            "name": WARRANTY,
            "policy": None,
            "confidence": None,
        }
        assert slots_set(events) == {"serial_number": None}

    @pytest.mark.parametrize(
        "intent", ["cancel", "help", "switch_language", "bot_challenge"]
    )
    async def test_stop_and_aside_requests_are_rejected(self, intent: str) -> None:
        tracker = form_turn(user("xx", intent), "customer_name", {})

        events, _ = await validate(tracker)

        assert events[-1]["event"] == "action_execution_rejected"

    async def test_a_fault_told_again_is_an_answer_of_the_claim(
        self, crm: CrmClient
    ) -> None:
        text = "pues la lavadora sigue sin centrifugar"
        tracker = form_turn(
            user(text, "report_fault"), "serial_number", {"serial_number": text}
        )

        events, texts = await validate(tracker)

        assert all(e["event"] != "action_execution_rejected" for e in events)
        assert texts == [
            "Eso no parece un número de serie. Lo encontrará en la etiqueta del "
            "aparato, con letras y cifras (por ejemplo WM 1234 5678)."
        ]

    async def test_a_serial_read_as_another_request_is_still_the_answer(
        self, crm: CrmClient
    ) -> None:
        message = user(
            "WM 4821 7730",
            "check_display_request",
            [entity("serial_number", "WM 4821 7730")],
        )
        tracker = form_turn(message, "serial_number", {"serial_number": "WM 4821 7730"})

        events, texts = await validate(tracker)

        assert all(e["event"] != "action_execution_rejected" for e in events)
        assert slots_set(events)["serial_number"] == "WM 4821 7730"
        assert "14/03/2029" in texts[0]

    async def test_after_an_aside_the_form_asks_again_without_rejecting(self) -> None:
        events = [
            user("la lavadora no va", "report_fault"),
            action(WARRANTY),
            loop(WARRANTY),
            slot("requested_slot", "customer_name"),
            action("action_listen"),
            user("que puedes hacer", "help"),
            action("utter_help"),
            slot("requested_slot", "customer_name"),
            action(WARRANTY),
        ]
        tracker = tracker_of(
            events, slots={"contact_confirmed": False}, active_loop=WARRANTY
        )

        result, _ = await validate(tracker)

        assert all(e["event"] != "action_execution_rejected" for e in result)

    async def test_switching_clears_the_claim_and_replays_the_message(self) -> None:
        message = user(
            "mejor dime como va mi pedido 4512",
            "check_order_status",
            [entity("order_number", "4512")],
        )
        events = [
            user("la lavadora no va", "report_fault"),
            action(WARRANTY),
            loop(WARRANTY),
            slot("serial_number", "WM 4821 7730"),
            slot("customer_name", "Lucía Martín"),
            slot("requested_slot", "phone_number"),
            action("action_listen"),
            message,
            {"event": "action_execution_rejected", "name": WARRANTY},
            action("action_deactivate_loop"),
            loop(None),
            slot("requested_slot", None),
        ]
        dispatcher = CollectingDispatcher()

        result = await ActionSwitchFlow().run(dispatcher, tracker_of(events), DOMAIN)

        cleared = slots_set(result)
        assert {name: cleared[name] for name in CLAIM_SLOTS} == {
            **dict.fromkeys(CLAIM_SLOTS),
            "check_step": 0,
        }
        assert cleared["serial_attempts"] == 0
        assert "language" not in cleared
        listen, replayed = result[-2:]
        assert listen["event"] == "action" and listen["name"] == "action_listen"
        assert replayed["event"] == "user"
        assert replayed["text"] == message["text"]
        assert replayed["parse_data"]["intent"]["name"] == "check_order_status"
        assert replayed["parse_data"]["entities"] == message["parse_data"]["entities"]
        assert replayed["metadata"] == {"channel": "telegram"}
        assert dispatcher.messages == []

    async def test_a_fault_told_in_another_form_keeps_its_words(self) -> None:
        events = [
            user("soy de la tienda", "identify_shop"),
            action("shop_identity_form"),
            loop("shop_identity_form"),
            action("action_listen"),
            user("la lavadora de mi casa pierde agua", "report_fault"),
            {"event": "action_execution_rejected", "name": "shop_identity_form"},
            action("action_deactivate_loop"),
            loop(None),
        ]

        result = await ActionSwitchFlow().run(
            CollectingDispatcher(), tracker_of(events), DOMAIN
        )

        cleared = slots_set(result)
        assert cleared["fault_description"] == "la lavadora de mi casa pierde agua"
        assert cleared["registration_code"] is None
        assert "serial_number" not in cleared

    def test_the_stopped_form_is_found_without_a_rejection_event(self) -> None:
        events = [
            user("soy de la tienda", "identify_shop"),
            action("shop_identity_form"),
            loop("shop_identity_form"),
            action("action_listen"),
            user("dejalo", "cancel"),
            action("action_deactivate_loop"),
            loop(None),
        ]

        assert stopped_form(tracker_of(events)) == "shop_identity_form"

    def test_no_form_is_stopped_when_none_was_active(self) -> None:
        events = [
            user("hola", "greet"),
            action("utter_greet"),
            loop(None),
            action("action_listen"),
            user("dejalo", "cancel"),
        ]

        assert stopped_form(tracker_of(events)) is None


# A claim whose serial was found and checks done; contact data being typed.
CLAIM_SO_FAR = {
    "serial_number": "BX-2024-55812",
    "product_category": "boiler",
    "warranty_status": "valid",
    "check_phase": "done",
    "contact_confirmed": False,
}


class TestCorrections:
    async def test_a_postcode_given_while_asked_the_phone_corrects_it(self) -> None:
        text = "sorry, my postcode is 46015"
        message = user(text, "inform", [entity("postal_code", "46015")])
        tracker = form_turn(
            message,
            "phone_number",
            {"postal_code": "46015", "phone_number": text},
            slots={**CLAIM_SO_FAR, "customer_name": "Ann Lee"},
            language="en",
        )

        events, texts = await validate(tracker)

        assert texts == ["All right, I've noted it: 46015."]
        assert slots_set(events) == {
            "phone_number": None,
            "postal_code": "46015",
            "requested_slot": "phone_number",
        }

    async def test_a_postcode_corrected_at_the_summary_shows_it_again(self) -> None:
        text = "no, el cp es 46015"
        message = user(text, "inform", [entity("postal_code", "46015")])
        tracker = form_turn(
            message,
            "claim_confirmed",
            {"postal_code": "46015"},
            before=[slot("postal_code", "46010")],
            slots={
                **CLAIM_SO_FAR,
                "customer_name": "Ana Gil",
                "phone_number": "+34612345222",
            },
        )

        events, texts = await validate(tracker)

        assert texts == ["De acuerdo, lo corrijo: 46015."]
        assert slots_set(events) == {
            "postal_code": "46015",
            "requested_slot": "claim_confirmed",
        }

    async def test_a_serial_corrected_while_asked_the_name_is_checked_again(
        self, crm: CrmClient
    ) -> None:
        text = "no perdona, el numero es WM 4821 7730"
        message = user(text, "inform", [entity("serial_number", "WM 4821 7730")])
        tracker = form_turn(
            message,
            "customer_name",
            {"serial_number": "WM 4821 7730", "customer_name": text},
            before=[slot("serial_number", "BX-2024-55812")],
            slots=CLAIM_SO_FAR,
        )

        events, texts = await validate(tracker)

        assert len(texts) == 1 and "14/03/2029" in texts[0], texts
        values = slots_set(events)
        assert values["serial_number"] == "WM 4821 7730"
        assert values["customer_name"] is None
        assert values["unit"]["name"] == "EcoWash 8 kg"

    async def test_an_answer_that_also_names_a_postcode_is_an_answer(self) -> None:
        text = "612 345 222, y mi cp es 46015"
        message = user(
            text,
            "inform",
            [entity("phone_number", "612 345 222"), entity("postal_code", "46015")],
        )
        tracker = form_turn(
            message,
            "phone_number",
            {"phone_number": "612 345 222", "postal_code": "46015"},
            slots={**CLAIM_SO_FAR, "customer_name": "Ana Gil"},
        )

        events, texts = await validate(tracker)

        assert texts == []
        values = slots_set(events)
        assert values["phone_number"] == "+34612345222"
        assert values["postal_code"] == "46015"


class TestLanguage:
    @pytest.mark.parametrize(
        ("text", "current", "expected"),
        [
            ("can we speak english", "es", "en"),
            ("hablame en ingles porfa", "es", "en"),
            ("en español por favor", "en", "es"),
            ("spanish please", "en", "es"),
            ("castellano", "en", "es"),
            ("otro idioma", "es", "en"),
            ("other language", "en", "es"),
        ],
    )
    def test_the_language_asked_for(
        self, text: str, current: str, expected: str
    ) -> None:
        assert wanted_language(text, current) == expected

    async def test_the_switch_is_confirmed_in_the_new_language(self) -> None:
        dispatcher = CollectingDispatcher()
        tracker = tracker_of([user("hablame en ingles", "switch_language")])

        events = await ActionSwitchLanguage().run(dispatcher, tracker, DOMAIN)

        assert slots_set(events) == {"language": "en"}
        assert said(dispatcher) == [
            "Of course, let's continue in English. How can I help?"
        ]

    async def test_in_a_form_the_confirmation_leaves_the_question_to_it(self) -> None:
        dispatcher = CollectingDispatcher()
        tracker = tracker_of(
            [user("en español por favor", "switch_language")],
            active_loop=WARRANTY,
            language="en",
        )

        events = await ActionSwitchLanguage().run(dispatcher, tracker, DOMAIN)

        assert slots_set(events) == {"language": "es"}
        assert said(dispatcher) == ["Por supuesto, seguimos en español."]


class TestSuggestions:
    RANKING = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "check_order_status", "confidence": 0.31},
        {"name": "greet", "confidence": 0.2},
        {"name": "report_fault", "confidence": 0.11},
        {"name": "request_display_units", "confidence": 0.05},
    ]

    async def run(self, language: str, entities: list[dict[str, Any]]) -> Any:
        dispatcher = CollectingDispatcher()
        tracker = tracker_of(
            [user("el 4512 q tal", "nlu_fallback", entities, self.RANKING)],
            language=language,
        )
        await ActionDefaultAskAffirmation().run(dispatcher, tracker, DOMAIN)
        return dispatcher.messages

    async def test_the_likely_requests_are_offered_as_buttons_in_spanish(
        self,
    ) -> None:
        [message] = await self.run("es", [entity("order_number", "4512")])

        assert message["text"].startswith("Perdone, no estoy seguro")
        assert message["buttons"] == [
            {
                "title": "Consultar un pedido",
                "payload": '/check_order_status{"order_number": "4512"}',
            },
            {
                "title": "Reparación en garantía",
                "payload": '/report_fault{"order_number": "4512"}',
            },
            {"title": "Otra cosa", "payload": "/out_of_scope"},
        ]

    async def test_and_in_english(self) -> None:
        [message] = await self.run("en", [])

        assert (
            message["text"]
            == "Sorry, I'm not sure I understood. Did you mean one of these?"
        )
        assert [b["title"] for b in message["buttons"]] == [
            "Check an order",
            "Repair under warranty",
            "Something else",
        ]
        assert message["buttons"][0]["payload"] == "/check_order_status"

    def test_entities_too_long_for_a_telegram_button_are_left_out(self) -> None:
        long = [entity("product", "lavavajillas CleanLine 45 de acero inoxidable")]

        payload = suggestion_payload("report_delivery_problem", long)

        assert payload == "/report_delivery_problem"
        assert json.loads('{"a": 1}')  # payloads with entities are JSON

    async def test_a_rephrase_is_asked_with_examples(self) -> None:
        dispatcher = CollectingDispatcher()

        await ActionDefaultAskRephrase().run(
            dispatcher, tracker_of([user("x", "out_of_scope")], language="en"), DOMAIN
        )

        assert said(dispatcher)[0].startswith("All right. Could you say it in other")


class TestEveryForm:
    def test_every_form_of_the_domain_is_listed(self) -> None:
        assert set(DOMAIN["forms"]) <= set(FORMS), (
            "list the form in actions.general.FORMS and run python -m actions.general"
        )

    def test_the_generated_rules_are_current(self) -> None:
        assert RULES_FILE.read_text(encoding="utf-8") == rules_text(), (
            "run python -m actions.general"
        )

    def test_each_form_validates_with_the_mixin(self) -> None:
        validators = {}
        for module in pkgutil.iter_modules(actions.__path__):
            loaded = importlib.import_module(f"actions.{module.name}")
            for _, cls in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(cls, FormValidationAction) and not inspect.isabstract(
                    cls
                ):
                    try:
                        validators[cls().name()] = cls
                    except NotImplementedError:
                        continue
        for form in FORMS:
            cls = validators.get(f"validate_{form}")
            assert cls is not None and issubclass(cls, FlowSwitchMixin), form

    def test_a_form_never_leaves_itself_for_its_own_intents(self) -> None:
        for form, flow in FORMS.items():
            assert not flow.answers & interrupting_intents(form)
            assert not flow.answers & set(switching_intents(form))

    def test_no_rule_is_generated_for_what_a_module_handles_itself(self) -> None:
        handled = module_rules()
        assert {"cancel", "request_human", "nlu_fallback"} <= handled[WARRANTY]
        assert "cancel" not in switching_intents(WARRANTY, handled[WARRANTY])
        assert "cancel" in switching_intents("survey_form", set()) or (
            "cancel" in FORMS["survey_form"].answers
        )
        assert "request_human" in switching_intents("survey_form", set())

    def test_form_slots_include_the_required_and_mapped_ones(self) -> None:
        slots = form_slots("shop_identity_form", DOMAIN)
        assert "registration_code" in slots and "requested_slot" in slots
        assert set(CLAIM_SLOTS) <= set(form_slots(WARRANTY, DOMAIN))
