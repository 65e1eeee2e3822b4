"""Passing the conversation to a person of the team.

The person asks for one (``action_request_human``), or the assistant fails to
understand them twice in a row (``action_default_fallback``, which Rasa's
two-stage fallback runs when it gives up). Either way a handoff case is
opened in the CRM with what the assistant knew, and the CRM puts the
conversation in the agents' queue for the module it was about; the gateway
then tells the person their place in the queue or when they will be
contacted, and keeps the assistant quiet until an agent hands it back.
"""

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.claim import ticket_payload
from actions.crm_client import CrmError, CrmUnavailableError
from actions.messages import say
from actions.slot_mappings import latest_user_event
from actions.warranty_actions import reset_claim
from actions.warranty_form import crm

logger = logging.getLogger(__name__)

TWO_STAGE_FALLBACK = "action_two_stage_fallback"

# Which agents a conversation needs, by the form it was in or what was asked.
MODULE_OF_FORM = {
    "warranty_claim_form": "warranty",
    "repair_status_form": "warranty",
    "order_status_form": "orders",
    "order_divergence_form": "orders",
    "order_discount_form": "orders",
    "delivery_problem_form": "orders",
    "display_request_form": "display",
    "display_status_form": "display",
}
MODULE_OF_INTENT = {
    "report_fault": "warranty",
    "request_paid_repair": "warranty",
    "check_repair_status": "warranty",
    "ask_warranty_term": "warranty",
    "check_order_status": "orders",
    "report_divergence": "orders",
    "check_discount": "orders",
    "report_delivery_problem": "orders",
    "request_display_units": "display",
    "check_display_request": "display",
}


def module_of(tracker: Tracker) -> str:
    """What the conversation was about lately: the latest form or request
    that belongs to a module, else "general"."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "active_loop" and event.get("name") in MODULE_OF_FORM:
            return MODULE_OF_FORM[event["name"]]
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if intent.get("name") in MODULE_OF_INTENT:
                return MODULE_OF_INTENT[intent["name"]]
    return "general"


async def open_handoff(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> bool:
    """Opens (or finds again) the conversation's handoff case and says so.

    Returns False when the CRM could not record it; the person is told.
    """
    payload = ticket_payload(tracker, resolved_first_contact=False)
    payload["kind"] = "handoff"
    payload["handoff_reason"] = reason
    payload["module"] = module_of(tracker)
    event = latest_user_event(tracker)
    moment = f"{event.get('timestamp') or 0:.6f}" if event else "none"
    payload["idempotency_key"] = f"{tracker.sender_id}:handoff:{moment}"
    try:
        ticket = await crm.open_ticket(payload)
    except (CrmUnavailableError, CrmError):
        logger.exception("handoff ticket failed for conversation %s", tracker.sender_id)
        say(dispatcher, tracker, "crm_unavailable")
        return False
    logger.info(
        "handoff (%s, %s) in conversation %s: ticket %s",
        reason,
        payload["module"],
        tracker.sender_id,
        ticket["number"],
    )
    message = (
        "handoff_not_understood" if reason == "not_understood" else "handoff_opened"
    )
    say(dispatcher, tracker, message, ticket_number=ticket["number"])
    return True


class ActionRequestHuman(Action):
    """Records that the person wants a human, with what the bot had so far."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if not await open_handoff(dispatcher, tracker, "requested"):
            return []
        return reset_claim()


class ActionDefaultFallback(Action):
    """Replaces Rasa's default fallback.

    When the two-stage fallback gives up (the person was not understood
    twice in a row), the conversation goes to a person. Any other fallback
    (no rule knows the next step) apologises and offers a person, as Rasa's
    own does with utter_default; both revert the message not understood.
    """

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.active_loop.get("name") == TWO_STAGE_FALLBACK:
            opened = await open_handoff(dispatcher, tracker, "not_understood")
            if opened:
                return [UserUtteranceReverted(), *reset_claim()]
            return [UserUtteranceReverted()]
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
