"""The questions of the order forms, and how an order request ends.

The forms find the questions by name (`action_ask_<slot>`); each says what
the request already knows, so the person can check the numbers.
"""

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import say_if_locked
from actions.messages import say
from actions.order_base import ORDER_SLOTS, missing_lines, photo_channel
from actions.order_words import line_label
from actions.warranty_form import language_of

logger = logging.getLogger(__name__)


def _form(tracker: Tracker) -> str | None:
    return (tracker.active_loop or {}).get("name")


def _line(tracker: Tracker) -> dict[str, Any] | None:
    position = tracker.get_slot("order_line")
    order = tracker.get_slot("order") or {}
    return next(
        (line for line in order.get("lines", []) if line["position"] == position),
        None,
    )


def reset_order_request() -> list[dict[str, Any]]:
    """Clears the request's slots; the shop stays known for the conversation."""
    return [SlotSet(slot, None) for slot in ORDER_SLOTS]


class _Question(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"


class ActionAskOrderNumber(_Question):
    slot = "order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        delivery = _form(tracker) == "delivery_problem_form"
        if delivery and photo_channel(tracker):
            say(dispatcher, tracker, "ask_order_number_delivery_photo")
        elif delivery:
            say(dispatcher, tracker, "ask_order_number_delivery")
        else:
            say(dispatcher, tracker, "ask_order_number")
        return []


class ActionAskOrderLine(_Question):
    slot = "order_line"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order = tracker.get_slot("order") or {}
        language = language_of(tracker)
        lines = order.get("lines", [])
        buttons = [
            {"title": line_label(line, language), "payload": line["sku"]}
            for line in lines
        ]
        whole = _form(tracker) == "delivery_problem_form"
        say(
            dispatcher,
            tracker,
            "ask_order_line_or_all" if whole else "ask_order_line",
            buttons=buttons,
            number=order.get("number", ""),
            lines="; ".join(
                f"{line['position']}) {line_label(line, language)}" for line in lines
            ),
        )
        return []


class ActionAskDivergenceProblem(_Question):
    slot = "divergence_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        line = _line(tracker)
        say(
            dispatcher,
            tracker,
            "ask_divergence_problem",
            product=line_label(line, language_of(tracker)) if line else "",
        )
        return []


class ActionAskOrderQuantity(_Question):
    slot = "order_quantity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        line = _line(tracker) or {}
        wrong = tracker.get_slot("divergence_problem") == "wrong_model"
        say(
            dispatcher,
            tracker,
            "ask_quantity_wrong_model" if wrong else "ask_quantity_missing",
            product=line_label(line, language_of(tracker)) if line else "",
            ordered=line.get("quantity_ordered", ""),
            delivered=line.get("quantity_delivered", ""),
        )
        return []


class ActionAskOrderCaseConfirmed(_Question):
    slot = "order_case_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order = tracker.get_slot("order") or {}
        language = language_of(tracker)
        if _form(tracker) == "order_status_form":
            short = missing_lines(order)
            if len(short) == 1:
                say(
                    dispatcher,
                    tracker,
                    "offer_divergence_case",
                    quantity=short[0]["missing"],
                )
            else:
                say(dispatcher, tracker, "offer_divergence_cases", count=len(short))
            return []
        line = _line(tracker) or {}
        wrong = tracker.get_slot("divergence_problem") == "wrong_model"
        say(
            dispatcher,
            tracker,
            "confirm_divergence_wrong_model" if wrong else "confirm_divergence_missing",
            quantity=tracker.get_slot("order_quantity"),
            product=line_label(line, language) if line else "",
            number=order.get("number", ""),
        )
        return []


class ActionAskDeliveryProblem(_Question):
    slot = "delivery_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "ask_delivery_problem")
        return []


class ActionAskDeliveryDescription(_Question):
    slot = "delivery_description"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        damage = tracker.get_slot("delivery_problem") == "damage"
        if damage and photo_channel(tracker):
            say(dispatcher, tracker, "ask_delivery_description_photo")
        else:
            say(dispatcher, tracker, "ask_delivery_description")
        return []


class ActionFinishOrderRequest(Action):
    """Says how the request ended, with the case numbers, then clears it."""

    def name(self) -> str:
        return "action_finish_order_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        cases = tracker.get_slot("order_case") or []
        for case in cases:
            kind = case["kind"]
            if kind == "divergence":
                key = "divergence_case_opened"
            elif kind == "discount":
                key = "discount_case_opened"
            else:
                key = "delivery_case_opened"
            if case.get("display_request_number"):
                key = "display_case_opened"
            elif not case.get("order_number"):
                key = "customer_delivery_case_opened"
            if case.get("existing"):
                key = "order_case_already_open"
            say(
                dispatcher,
                tracker,
                key,
                ticket_number=case["number"],
                number=case["order_number"]
                or case.get("display_request_number")
                or case.get("reference"),
                quantity=case.get("quantity") or "",
                product=case.get("product") or "",
                carrier=case.get("carrier") or "-",
            )
            if kind in ("delivery_damage", "delivery_delay"):
                if case.get("photos"):
                    say(
                        dispatcher,
                        tracker,
                        "delivery_photos_kept",
                        count=case["photos"],
                    )
                elif kind == "delivery_damage" and photo_channel(tracker):
                    say(dispatcher, tracker, "delivery_photo_later")
            logger.info(
                "order case %s (%s) in conversation %s",
                case["number"],
                kind,
                tracker.sender_id,
            )
        if not cases and tracker.get_slot("order_case_confirmed") is False:
            say(dispatcher, tracker, "order_case_declined")
        if say_if_locked(dispatcher, tracker):
            logger.info(
                "order request without a verified shop in %s", tracker.sender_id
            )
        if tracker.get_slot("order_followup") == "repair":
            say(dispatcher, tracker, "order_then_repair")
        return reset_order_request()


class ActionCancelOrderRequest(Action):
    """Stops the order request without opening anything."""

    def name(self) -> str:
        return "action_cancel_order_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        logger.info("order request cancelled in %s", tracker.sender_id)
        say(dispatcher, tracker, "claim_cancelled")
        return reset_order_request()


class ActionClearOrderRequest(Action):
    """Forgets the order request quietly (a person takes over)."""

    def name(self) -> str:
        return "action_clear_order_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return reset_order_request()
