"""What a warranty claim needs next, and how it becomes a CRM ticket.

Pure functions over the slots, so the branching of the conversation can be
read (and tested) without a running dialogue engine.
"""

from typing import Any

from rasa_sdk import Tracker

from actions.slot_mappings import latest_user_metadata

FORM_NAME = "warranty_claim_form"
MAX_SERIAL_ATTEMPTS = 3
CONTACT_SLOTS = ["customer_name", "phone_number", "postal_code"]

# Every slot the claim uses: cleared when it ends, however it ends.
CLAIM_SLOTS = [
    "fault_description",
    "serial_number",
    "unit",
    "product_category",
    "warranty_status",
    "warranty_end_date",
    "claim_option",
    "check_step",
    "check_phase",
    "check_answer",
    "problem_solved",
    "contact_known",
    "contact_confirmed",
    *CONTACT_SLOTS,
    "claim_confirmed",
    "ticket",
    "claim_for_shop",
    "requested_slot",
]


# Intents that are not an answer but a new request: the form lets the rules
# handle them (answer the question, cancel, pass to a person) and resumes.
INTERRUPTIONS = frozenset(
    {
        "ask_warranty_term",
        "cancel",
        "request_human",
        "bot_challenge",
        "nlu_fallback",
        # Answered by the general conversation, then the question is asked
        # again: "en español, por favor" is no unclear yes or no.
        "switch_language",
        "help",
    }
)
UNCLEAR = "unclear"
_YES_NO = {"affirm": True, "deny": False}
_CHOICES = {
    "open_without_serial": "without_serial",
    "request_paid_repair": "paid_repair",
    "deny": "none",
}


def answer_for(slot: str, intent: str | None) -> Any:
    """What the person's intent answers to a yes/no or choice question.

    Returns:
        The slot value, "unclear" for a message that answers nothing, or None
        for an interruption that the rules handle.
    """
    if intent is None or intent in INTERRUPTIONS:
        return None
    table = _CHOICES if slot == "claim_option" else _YES_NO
    return table.get(intent, UNCLEAR)


def required_claim_slots(slots: dict[str, Any]) -> list[str]:
    """Returns the slots the claim needs, in the order they are asked.

    Args:
        slots: the tracker's current slot values.

    Returns:
        Slot names; the form ends when all of them are filled.
    """
    option = slots.get("claim_option")
    if slots.get("serial_number") is None:
        if option == "without_serial":
            steps = ["claim_option", "product_category"]
        elif (slots.get("serial_attempts") or 0) < MAX_SERIAL_ATTEMPTS:
            # claim_option is listed so that "I don't have it" can answer it.
            return ["serial_number", "claim_option"]
        else:
            return ["claim_option"]
    elif slots.get("warranty_status") == "expired":
        if option != "paid_repair":
            return ["serial_number", "claim_option"]
        steps = ["serial_number", "claim_option"]
    else:
        steps = ["serial_number"]
        if slots.get("problem_solved"):
            return steps
        if slots.get("check_phase") not in (None, "done"):
            steps.append("check_answer")
    # Once asked, contact_confirmed stays in the list: the form validates only
    # the slots it lists, and an answer must not remove its own question.
    if slots.get("contact_known") or slots.get("contact_confirmed") is not None:
        steps.append("contact_confirmed")
    return [*steps, *CONTACT_SLOTS, "claim_confirmed"]


def ticket_kind(slots: dict[str, Any]) -> str:
    """A claim on an expired unit becomes a paid repair request."""
    if slots.get("claim_option") == "paid_repair":
        return "paid_repair"
    return "warranty"


def idempotency_key(tracker: Tracker, kind: str) -> str:
    """Names one claim: the conversation and the moment its form started.

    A retried action, or a repeated confirmation, carries the same key, so the
    CRM returns the ticket it already opened instead of a second one.
    """
    started = "none"
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            started = f"{event.get('timestamp', 0):.6f}"
            break
    return f"{tracker.sender_id}:{kind}:{started}"


def channel_of(tracker: Tracker) -> str:
    """The product channel (web, sms, voice, telegram) the person uses."""
    channel = latest_user_metadata(tracker).get("channel")
    return channel if channel in ("web", "sms", "voice", "telegram") else "web"


def ticket_payload(tracker: Tracker, resolved_first_contact: bool) -> dict[str, Any]:
    """Builds the CRM ticket request from the claim's slots."""
    slots = tracker.current_slot_values()
    kind = ticket_kind(slots)
    customer = None
    if all(slots.get(slot) for slot in CONTACT_SLOTS):
        customer = {
            "name": slots["customer_name"],
            "phone": slots["phone_number"],
            "postal_code": slots["postal_code"],
        }
    return {
        "idempotency_key": idempotency_key(tracker, kind),
        "kind": kind,
        "channel": channel_of(tracker),
        "conversation_id": tracker.sender_id,
        "language": slots.get("language") or "es",
        "serial_number": slots.get("serial_number"),
        "product_category": slots.get("product_category"),
        "fault_description": (slots.get("fault_description") or "")[:2000] or None,
        "customer": customer,
        "resolved_first_contact": resolved_first_contact,
    }
