"""iGO forms that report a problem on an order: a discount above the shop's
conditions, and damage or delay in transport (see actions/orders.py)."""

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import order_api
from actions.general import FlowSwitchMixin
from actions.identity import shop_slots, speaker
from actions.messages import say
from actions.order_base import (
    ORDER_SLOTS,
    OrderFormMixin,
    open_case,
    percent,
    stopped,
)
from actions.order_words import (
    delivery_problem_in,
    display_number_in,
    find_lines,
    line_label,
    order_number_in,
)
from actions.warranty_form import language_of


class ValidateOrderDiscountForm(FlowSwitchMixin, OrderFormMixin, FormValidationAction):
    """ "El descuento del pedido 4540 no es el pactado": check, and a case."""

    def name(self) -> str:
        return "validate_order_discount_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if stopped(tracker):
            return []
        return shop_slots(tracker) + ["order_number"]

    async def after_order(
        self,
        order: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        try:
            check = await order_api.check_discounts(tracker, order["number"])
        except (
            order_api.OrderNotFoundError,
            order_api.NotAShopError,
            order_api.CrmDownError,
        ):
            say(dispatcher, tracker, "crm_unavailable")
            return {"order_number": None, "order": None}
        if check["within_conditions"]:
            say(dispatcher, tracker, "discount_within", number=order["number"])
            return {}
        language = language_of(tracker)
        for item in check["exceeding"]:
            say(
                dispatcher,
                tracker,
                "discount_exceeds",
                product=line_label(item["line"], language),
                given=percent(item["line"]["discount_percent"]),
                maximum=percent(item["max_discount_percent"]),
            )
        case = await open_case(dispatcher, tracker, "discount-case", {})
        if case is None:
            return {"order_number": None, "order": None}
        return {"order_case": [case]}


class ValidateDeliveryProblemForm(
    FlowSwitchMixin, OrderFormMixin, FormValidationAction
):
    """ "Ha llegado el frigo con un golpe": damage or delay, against the carrier."""

    whole_order_allowed = True

    def name(self) -> str:
        return "validate_delivery_problem_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if stopped(tracker):
            return []
        if tracker.get_slot("order_customer"):
            return ["order_number", "delivery_problem", "delivery_description"]
        steps = shop_slots(tracker) + ["order_number", "delivery_problem"]
        order = tracker.get_slot("order") or {}
        damage = tracker.get_slot("delivery_problem") == "damage"
        several = len(order.get("lines", [])) > 1 or tracker.get_slot("order_line")
        if damage and several:
            steps.append("order_line")
        return [*steps, "delivery_description"]

    def number_in(self, text: str) -> str | None:
        # The transport of a display-unit request is reported here too.
        return display_number_in(text) or order_number_in(text)

    async def _first_message(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if tracker.get_slot("shop") or (await speaker(tracker)).get("kind") != (
            "customer"
        ):
            return await super()._first_message(text, dispatcher, tracker)
        # An end customer's delivery: no shop code, and no order to look up.
        slots: dict[str, Any] = {slot: None for slot in ORDER_SLOTS}
        slots.update(order_request_text=text, order_customer=True)
        tracker.slots.update(slots)
        number = order_number_in(text)
        if number is not None:
            slots.update(await self._check_order(number, dispatcher, tracker))
        return slots

    async def _check_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if tracker.get_slot("order_customer"):
            return await self._customer_reference(value, dispatcher, tracker)
        number = display_number_in(str(value or ""))
        if number is None:
            return await super()._check_order(value, dispatcher, tracker)
        try:
            request = await order_api.read_display_request(tracker, number)
        except order_api.OrderNotFoundError:
            say(dispatcher, tracker, "display_request_not_found", number=number)
            return {"order_number": None}
        except (order_api.NotAShopError, order_api.CrmDownError):
            say(dispatcher, tracker, "crm_unavailable")
            return {"order_number": None}
        order = {"number": request["number"], "display_request": True, "lines": []}
        slots = {"order_number": request["number"], "order": order}
        tracker.slots.update(slots)
        slots.update(await self.after_order(order, dispatcher, tracker))
        return slots

    async def _customer_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """The customer's number is kept as given, never looked up."""
        number = order_number_in(str(value or ""))
        if number is None:
            say(dispatcher, tracker, "order_number_not_a_number")
            return {"order_number": None}
        order = {"number": number, "customer": True, "lines": []}
        slots = {"order_number": number, "order": order}
        tracker.slots.update(slots)
        slots.update(await self.after_order(order, dispatcher, tracker))
        return slots

    async def after_order(
        self,
        order: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        text = tracker.get_slot("order_request_text") or ""
        slots: dict[str, Any] = {}
        problem = delivery_problem_in(text)
        if problem:
            slots["delivery_problem"] = problem
            # The first message told what happened: it is the description.
            if len(text.replace(order["number"], "").split()) >= 4:
                slots["delivery_description"] = text
        named = find_lines(order, text.replace(order["number"], " "))
        if len(named) == 1:
            slots["order_line"] = named[0]["position"]
        tracker.slots.update(slots)
        if slots.get("delivery_description") and (
            problem == "delay" or len(order["lines"]) <= 1 or named
        ):
            return {**slots, **await self._report(dispatcher, tracker)}
        return slots

    async def validate_order_line(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        slots = await super().validate_order_line(value, dispatcher, tracker, domain)
        ready = tracker.get_slot("delivery_description") and slots["order_line"]
        if not ready or tracker.get_slot("order_case"):
            return slots
        # The first message already said what happened: report it now.
        tracker.slots.update(slots)
        return {**slots, **await self._report(dispatcher, tracker)}

    async def validate_delivery_problem(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"delivery_problem": value if value in ("damage", "delay") else None}

    async def validate_delivery_description(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if tracker.get_slot("order_case"):
            return {"delivery_description": value}
        tracker.slots["delivery_description"] = value
        return {
            "delivery_description": value,
            **await self._report(dispatcher, tracker),
        }

    async def _report(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        line = tracker.get_slot("order_line")
        body = {
            "problem": tracker.get_slot("delivery_problem"),
            "description": str(tracker.get_slot("delivery_description"))[:2000],
        }
        order = tracker.get_slot("order") or {}
        if not (order.get("display_request") or order.get("customer")):
            body["line"] = line if isinstance(line, int) else None
        case = await open_case(dispatcher, tracker, "delivery-problems", body)
        if case is None:
            return {"delivery_description": None}
        return {"order_case": [case]}
