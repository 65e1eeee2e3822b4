"""Actions around the warranty claim form: its end, questions, cancel, a person."""

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.claim import CLAIM_SLOTS
from actions.formatting import format_date
from actions.messages import say
from actions.warranty_form import language_of, product_label

logger = logging.getLogger(__name__)


def reset_claim() -> list[dict[str, Any]]:
    """Clears every slot of the claim, so the next one starts afresh."""
    return [SlotSet(slot, None) for slot in CLAIM_SLOTS] + [
        SlotSet("serial_attempts", 0),
        SlotSet("check_step", 0),
    ]


class ActionFinishWarrantyClaim(Action):
    """Tells the person how the claim ended, then clears it."""

    def name(self) -> str:
        return "action_finish_warranty_claim"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ticket = tracker.get_slot("ticket")
        if not ticket:
            say(dispatcher, tracker, "claim_not_opened")
            return reset_claim()

        if tracker.get_slot("problem_solved"):
            response = "resolved_first_contact"
        elif ticket["kind"] == "replacement":
            response = "ticket_replacement"
        elif ticket["status"] != "assigned":
            response = "ticket_pending_assignment"
        elif ticket["kind"] == "paid_repair":
            response = "paid_repair_assigned"
        else:
            response = "ticket_assigned"
        say(
            dispatcher,
            tracker,
            response,
            ticket_number=ticket["number"],
            centre=ticket.get("centre"),
            postal_code=ticket.get("postal_code"),
            reason=ticket.get("reason") or "",
        )
        shop = tracker.get_slot("claim_for_shop")
        if shop and not tracker.get_slot("problem_solved"):
            say(dispatcher, tracker, "claim_on_behalf", shop=shop)
        return reset_claim()


class ActionCancelClaim(Action):
    """Stops the claim without opening anything."""

    def name(self) -> str:
        return "action_cancel_claim"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        logger.info("claim cancelled in conversation %s", tracker.sender_id)
        say(dispatcher, tracker, "claim_cancelled")
        return reset_claim()


class ActionAnswerWarrantyTerm(Action):
    """Answers how long the warranty lasts: the unit's own end date if known."""

    def name(self) -> str:
        return "action_answer_warranty_term"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        unit = tracker.get_slot("unit")
        end_date = tracker.get_slot("warranty_end_date")
        if unit and unit.get("term_months") and end_date:
            say(
                dispatcher,
                tracker,
                "warranty_term_unit",
                product=product_label(unit, language_of(tracker)),
                months=unit["term_months"],
                end_date=format_date(end_date),
            )
        else:
            say(dispatcher, tracker, "warranty_term_general")
        return []
