"""What the order forms share: the questions every one asks (the shop, the
order number, the line, units, problems, a yes or no) and how each answer is
checked, and opening a case on the order (see actions/orders.py).
"""

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import order_api
from actions.claim import channel_of
from actions.formatting import fold, format_date
from actions.identity import (
    KNOWN,
    ShopIdentityMixin,
    check_registration_code,
)
from actions.messages import say
from actions.order_words import (
    delivery_problem_in,
    divergence_problem_in,
    find_lines,
    line_label,
    means_whole_order,
    order_number_in,
    quantity_in,
)
from actions.warranty_form import language_of

logger = logging.getLogger(__name__)

ORDER_FORMS = (
    "order_status_form",
    "order_divergence_form",
    "order_discount_form",
    "delivery_problem_form",
)
# Every slot of an order request: cleared when it ends, however it ends.
ORDER_SLOTS = [
    "order_number",
    "order_pending",
    "order_request_text",
    "order",
    "order_line",
    "order_quantity",
    "divergence_problem",
    "delivery_problem",
    "delivery_description",
    "order_case_confirmed",
    "order_case",
    "order_stop",
    "order_followup",
    "order_customer",
]
# Not an answer but something else: the rules handle it and the form resumes.
INTERRUPTIONS = frozenset(
    {
        "cancel",
        "request_human",
        "bot_challenge",
        "help",
        "switch_language",
        "report_fault",
        "check_repair_status",
        "request_display_units",
        "check_display_request",
        "identify_shop",
    }
)
_YES_NO = {"affirm": True, "deny": False}
PHOTO_CHANNELS = ("telegram", "sms")
_REPAIR_WORDS = ("reparacion", "repair", "tecnico", "technician", "garantia")


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text[:500]


def _answering(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def missing_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Delivered lines with fewer units than ordered (a case can be opened)."""
    return [line for line in order.get("divergences", []) if line["missing"] > 0]


class OrderFormMixin(ShopIdentityMixin):
    """The questions every order form shares, and how each answer is checked."""

    def number_in(self, text: str) -> str | None:
        """The number this form works on, in what the person wrote."""
        return order_number_in(text)

    async def after_order(
        self,
        order: dict[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        """What the form does once the order is known; slots to set."""
        return {}

    # -- the order number -----------------------------------------------------

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if _intent(tracker) in INTERRUPTIONS and not order_number_in(_text(tracker)):
            return {}
        if _answering(tracker, "order_number"):
            return {"order_number": _text(tracker) or None}
        if tracker.get_slot("requested_slot") or tracker.get_slot("order_number"):
            return {}
        # The message that started the form: only what a validate method
        # returns reaches the conversation, so it goes through validation.
        return {"order_number": {"first_message": _text(tracker)}}

    async def validate_registration_code(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        shop = tracker.get_slot("shop")
        if shop and value == KNOWN:
            # Known from the channel: keep the shop for the whole request.
            return {"registration_code": KNOWN, "shop": shop}
        slots = await check_registration_code(value, dispatcher, tracker)
        pending = tracker.get_slot("order_pending")
        if slots.get("shop") and pending and not tracker.get_slot("order_number"):
            # The number came with the first message, before the code.
            tracker.slots.update(slots)
            slots.update(await self._check_order(pending, dispatcher, tracker))
            slots["order_pending"] = None
        return slots

    async def validate_order_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if isinstance(value, dict):
            return await self._first_message(
                str(value.get("first_message") or ""), dispatcher, tracker
            )
        if tracker.get_slot("order") and tracker.get_slot("order_number") == value:
            return {"order_number": value}
        return await self._check_order(value, dispatcher, tracker)

    async def _first_message(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        # A new request: nothing of an earlier one, left for another flow, stays.
        slots: dict[str, Any] = {slot: None for slot in ORDER_SLOTS}
        slots["order_request_text"] = text
        if any(word in fold(text) for word in _REPAIR_WORDS):
            slots["order_followup"] = "repair"
        tracker.slots.update(slots)
        number = self.number_in(text)
        if number is None:
            return slots
        if not tracker.get_slot("shop"):
            return {**slots, "order_pending": number}
        return {**slots, **await self._check_order(number, dispatcher, tracker)}

    async def _check_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        number = order_number_in(str(value or ""))
        if number is None:
            say(dispatcher, tracker, "order_number_not_a_number")
            return {"order_number": None}
        try:
            order = await order_api.read_order(tracker, number)
        except order_api.OrderNotFoundError:
            say(dispatcher, tracker, "order_not_found", number=number)
            return {"order_number": None}
        except order_api.NotAShopError:
            say(dispatcher, tracker, "order_needs_shop")
            return {"order_number": None, "order_stop": "not_a_shop"}
        except order_api.CrmDownError:
            say(dispatcher, tracker, "crm_unavailable")
            return {"order_number": None}
        if tracker.get_slot("order_followup") == "repair":
            say(dispatcher, tracker, "order_first_then_repair", number=number)
        slots = {"order_number": number, "order": order}
        tracker.slots.update(slots)
        slots.update(await self.after_order(order, dispatcher, tracker))
        return slots

    # -- the line -------------------------------------------------------------

    async def extract_order_line(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "order_line") or _intent(tracker) in INTERRUPTIONS:
            return {}
        return {"order_line": _text(tracker) or None}

    async def validate_order_line(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if isinstance(value, int) or value == "all":
            return {"order_line": value}
        order = tracker.get_slot("order") or {}
        text = str(value or "")
        if self.whole_order_allowed and means_whole_order(text):
            return {"order_line": "all"}
        found = find_lines(order, text)
        if len(found) == 1:
            return {"order_line": found[0]["position"]}
        say(
            dispatcher,
            tracker,
            "order_line_ambiguous" if found else "order_line_unknown",
            number=order.get("number", ""),
            lines=_line_list(found or order.get("lines", []), language_of(tracker)),
        )
        return {"order_line": None}

    whole_order_allowed = False

    # -- quantities, problems, descriptions, confirmation --------------------

    async def extract_order_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "order_quantity"):
            return {}
        if _intent(tracker) in INTERRUPTIONS:
            return {}
        return {"order_quantity": _text(tracker) or None}

    async def validate_order_quantity(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        quantity = value if isinstance(value, int) else quantity_in(str(value or ""))
        line = _line(tracker)
        if quantity is None:
            say(dispatcher, tracker, "quantity_not_a_number", value=str(value)[:30])
            return {"order_quantity": None}
        if quantity < 1:
            say(dispatcher, tracker, "quantity_too_small")
            return {"order_quantity": None}
        if line and quantity > line["quantity_ordered"]:
            say(
                dispatcher,
                tracker,
                "quantity_too_large",
                quantity=quantity,
                ordered=line["quantity_ordered"],
                product=line_label(line, language_of(tracker)),
            )
            return {"order_quantity": None}
        return {"order_quantity": quantity}

    async def extract_divergence_problem(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "divergence_problem"):
            return {}
        if _intent(tracker) in INTERRUPTIONS:
            return {}
        problem = divergence_problem_in(_text(tracker))
        if problem is None:
            say(dispatcher, tracker, "answer_divergence_problem")
        return {"divergence_problem": problem}

    async def extract_delivery_problem(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "delivery_problem"):
            return {}
        if _intent(tracker) in INTERRUPTIONS:
            return {}
        problem = delivery_problem_in(_text(tracker))
        if problem is None:
            say(dispatcher, tracker, "answer_delivery_problem")
        return {"delivery_problem": problem}

    async def extract_delivery_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "delivery_description"):
            return {}
        if _intent(tracker) in INTERRUPTIONS:
            return {}
        text = _text(tracker).strip()
        if len(text) < 3:
            say(dispatcher, tracker, "ask_delivery_description_again")
            return {"delivery_description": None}
        return {"delivery_description": text}

    async def extract_order_case_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answering(tracker, "order_case_confirmed"):
            return {}
        intent = _intent(tracker)
        if intent in INTERRUPTIONS:
            return {}
        if intent not in _YES_NO:
            say(dispatcher, tracker, "answer_yes_no")
            return {"order_case_confirmed": None}
        return {"order_case_confirmed": _YES_NO[intent]}


def say_order_status(
    dispatcher: CollectingDispatcher, tracker: Tracker, order: dict[str, Any]
) -> None:
    """ "Pedido 48213: entregado el 03/12/2026 por TransNorte." and the like."""
    shipment = (order.get("shipments") or [{}])[-1]
    status = order["status"]
    key = "order_status_placed"
    if status == "shipped":
        key = "order_status_shipped"
    elif status == "in_transit":
        key = "order_status_in_transit"
    elif status == "delivered":
        key = "order_status_delivered"
    elif status == "cancelled":
        key = "order_status_cancelled"
    say(
        dispatcher,
        tracker,
        key,
        number=order["number"],
        shop=order["point_of_sale"]["name"],
        carrier=order.get("carrier") or "",
        tracking=shipment.get("tracking_number") or "-",
        ordered_on=format_date(order.get("ordered_on")),
        expected_on=format_date(order.get("expected_on")) or "-",
        delivered_on=format_date(order.get("delivered_on")),
    )


async def open_case(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    path: str,
    body: dict[str, Any],
    key_suffix: str = "",
) -> dict[str, Any] | None:
    """Opens a case on the form's order; None (and an apology) when it fails."""
    number = tracker.get_slot("order_number")
    payload = {
        "idempotency_key": order_api.idempotency_key(tracker, path, key_suffix),
        "channel": channel_of(tracker),
        "language": language_of(tracker),
        **body,
    }
    try:
        order = tracker.get_slot("order") or {}
        if order.get("customer"):
            payload["reference"] = number
            case = await order_api.report_customer_problem(tracker, payload)
        elif order.get("display_request"):
            case = await order_api.report_display_problem(tracker, number, payload)
        else:
            case = await order_api.open_case(tracker, number, path, payload)
    except order_api.CaseRefusedError as refused:
        logger.warning(
            "case on order %s refused in %s: %s", number, tracker.sender_id, refused
        )
        say(dispatcher, tracker, "order_case_refused")
        return None
    except (
        order_api.OrderNotFoundError,
        order_api.NotAShopError,
        order_api.CrmDownError,
    ):
        say(dispatcher, tracker, "crm_unavailable")
        return None
    language = language_of(tracker)
    return {
        "number": case["number"],
        "kind": case["kind"],
        "order_number": case.get("order_number") or "",
        "display_request_number": case.get("display_request_number") or "",
        "reference": number,
        "carrier": case.get("carrier") or "",
        "quantity": case.get("quantity"),
        "product": line_label(case["line"], language) if case.get("line") else "",
        "photos": len(case.get("attachments") or []),
        "existing": case.get("existing", False),
    }


def _line(tracker: Tracker) -> dict[str, Any] | None:
    position = tracker.get_slot("order_line")
    order = tracker.get_slot("order") or {}
    return next(
        (line for line in order.get("lines", []) if line["position"] == position),
        None,
    )


def _line_list(lines: list[dict[str, Any]], language: str) -> str:
    return "; ".join(
        f"{line['position']}) {line_label(line, language)}" for line in lines
    )


def percent(value: Any) -> str:
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def stopped(tracker: Tracker) -> bool:
    """Nothing more to ask: no shop could be verified, or the order says no."""
    if tracker.get_slot("order_stop"):
        return True
    return bool(tracker.get_slot("identity_locked")) and not tracker.get_slot("shop")


def photo_channel(tracker: Tracker) -> bool:
    return channel_of(tracker) in PHOTO_CHANNELS
