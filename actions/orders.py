"""iGO forms for shop staff: order status and divergences. Discounts and
delivery problems are in actions/order_reports.py; what every order form
shares (the questions, their checks, opening a case) in actions/order_base.py.

Each form first makes sure the speaker is a shop (actions/identity.py), then
asks for the order number and reads the order from the CRM, which only ever
shows the speaker's own orders: another shop's number is "not found", as a
number that does not exist. What the first message already said ("me faltan
2 lavavajillas del pedido 48213") fills the questions it answers.

A message mixing two requests ("mi pedido 4512 llego roto y quiero saber de
mi reparacion") is handled in order: the first request is taken, the person
is told so, and the closing message says how to go on with the second.
"""

import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.general import FlowSwitchMixin
from actions.identity import shop_slots
from actions.messages import say
from actions.order_base import (
    ORDER_FORMS,
    ORDER_SLOTS,
    OrderFormMixin,
    missing_lines,
    open_case,
    photo_channel,
    say_order_status,
    stopped,
)
from actions.order_words import (
    divergence_problem_in,
    find_lines,
    line_label,
    quantity_in,
)
from actions.warranty_form import language_of

logger = logging.getLogger(__name__)

__all__ = [
    "ORDER_FORMS",
    "ORDER_SLOTS",
    "ValidateOrderDivergenceForm",
    "ValidateOrderStatusForm",
    "missing_lines",
    "photo_channel",
]


class ValidateOrderStatusForm(FlowSwitchMixin, OrderFormMixin, FormValidationAction):
    """ "Estado del pedido 48213": where it is, what arrived, a case if short."""

    def name(self) -> str:
        return "validate_order_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if stopped(tracker):
            return []
        steps = shop_slots(tracker) + ["order_number"]
        order = tracker.get_slot("order")
        if order and missing_lines(order):
            steps.append("order_case_confirmed")
        return steps

    async def after_order(
        self,
        order: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        language = language_of(tracker)
        say_order_status(dispatcher, tracker, order)
        for line in order["divergences"]:
            say(
                dispatcher,
                tracker,
                "order_divergence_short" if line["missing"] > 0 else "order_extra",
                product=line_label(line, language),
                ordered=line["quantity_ordered"],
                delivered=line["quantity_delivered"],
            )
        return {}

    async def validate_order_case_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is not True:
            return {"order_case_confirmed": value}
        cases = []
        for line in missing_lines(tracker.get_slot("order")):
            case = await open_case(
                dispatcher,
                tracker,
                "divergences",
                {
                    "line": line["position"],
                    "quantity": line["missing"],
                    "problem": "missing",
                },
                key_suffix=f"line{line['position']}",
            )
            if case is None:
                return {"order_case_confirmed": None}
            cases.append(case)
        return {"order_case_confirmed": True, "order_case": cases}


class ValidateOrderDivergenceForm(
    FlowSwitchMixin, OrderFormMixin, FormValidationAction
):
    """ "Me faltan 2 lavavajillas del pedido 48213" → a divergence case."""

    def name(self) -> str:
        return "validate_order_divergence_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if stopped(tracker):
            return []
        return shop_slots(tracker) + [
            "order_number",
            "order_line",
            "divergence_problem",
            "order_quantity",
            "order_case_confirmed",
        ]

    async def after_order(
        self,
        order: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        delivered = order["status"] == "delivered" or any(
            line["quantity_delivered"] for line in order["lines"]
        )
        if not delivered:
            say_order_status(dispatcher, tracker, order)
            say(dispatcher, tracker, "divergence_not_delivered_yet")
            return {"order_stop": "not_delivered"}
        text = tracker.get_slot("order_request_text") or ""
        slots: dict[str, Any] = {}
        named = find_lines(order, text.replace(order["number"], " "))
        if len(named) == 1:
            slots["order_line"] = named[0]["position"]
        elif len(order["lines"]) == 1:
            slots["order_line"] = order["lines"][0]["position"]
        elif not named and len(missing_lines(order)) == 1:
            slots["order_line"] = missing_lines(order)[0]["position"]
        problem = divergence_problem_in(text)
        if problem:
            slots["divergence_problem"] = problem
        quantity = quantity_in(text.replace(order["number"], " "))
        if quantity and quantity > 0:
            slots["order_quantity"] = quantity
        tracker.slots.update(slots)
        if slots.get("order_quantity") and "order_line" in slots:
            # Checked like an answer: 12 of 10 ordered is refused here too.
            checked = await self.validate_order_quantity(
                quantity, dispatcher, tracker, {}
            )
            slots.update(checked)
        return slots

    async def validate_order_case_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is not True:
            return {"order_case_confirmed": value}
        case = await open_case(
            dispatcher,
            tracker,
            "divergences",
            {
                "line": tracker.get_slot("order_line"),
                "quantity": tracker.get_slot("order_quantity"),
                "problem": tracker.get_slot("divergence_problem"),
            },
        )
        if case is None:
            return {"order_case_confirmed": None}
        return {"order_case_confirmed": True, "order_case": [case]}
