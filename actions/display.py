"""iDC: a shop requests display units and follows its requests.

The request form asks, one question at a time: which product of the eligible
catalogue, how many, whether there is anything else, and to confirm; then the
CRM opens a DSP case for the warehouse. A shop not yet known gives its
registration code first (actions/identity.py).
"""

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import warranty_form
from actions.claim import answer_for, channel_of
from actions.crm_client import CrmError, CrmUnavailableError, conversation_path
from actions.formatting import fold, format_date
from actions.general import FlowSwitchMixin
from actions.identity import ShopIdentityMixin, say_if_locked, shop_slots
from actions.messages import say
from actions.warranty_form import language_of

logger = logging.getLogger(__name__)

REQUEST_FORM = "display_request_form"
STATUS_FORM = "display_status_form"
REQUEST_SLOTS = [
    "display_product",
    "display_quantity",
    "display_lines",
    "display_more",
    "display_confirmed",
    "display_request",
    "registration_code",
    "requested_slot",
]
STATUS_SLOTS = ["display_number", "registration_code", "requested_slot"]

NUMBER_WORDS = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "one": 1,
    "a": 1,
    "dos": 2,
    "two": 2,
    "tres": 3,
    "three": 3,
    "cuatro": 4,
    "four": 4,
    "cinco": 5,
    "five": 5,
    "seis": 6,
    "six": 6,
    "diez": 10,
    "ten": 10,
}
_DSP = re.compile(r"dsp\W*(\d{4})\W*(\d{1,6})", re.IGNORECASE)


async def catalogue(tracker: Tracker) -> list[dict[str, Any]]:
    """The eligible display products, named in the conversation's language."""
    return await warranty_form.crm.request(
        "GET",
        f"{conversation_path(tracker.sender_id)}/display/catalogue",
        params={"language": language_of(tracker)},
    )


def match_products(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalogue items a person's words name: a SKU, a model, a category.

    "DW-CL45", "la cleanline 45", "lavavajillas" (one or several), "frigo".
    """
    words = fold(text)
    compact = re.sub(r"[^a-z0-9]", "", words)
    by_sku = [
        item
        for item in items
        if re.sub(r"[^a-z0-9]", "", item["sku"].lower()) in compact
    ]
    if by_sku:
        return by_sku
    by_name = [item for item in items if _name_matches(words, fold(item["name"]))]
    if by_name:
        return by_name
    synonyms = {"frigo": "frigorifico", "nevera": "frigorifico", "washer": "washing"}
    tokens = {synonyms.get(token, token) for token in re.findall(r"[a-z]+", words)}
    return [
        item
        for item in items
        if any(
            token.rstrip("s") in fold(item["category"])
            for token in tokens
            if len(token) >= 4
        )
    ]


def _name_matches(words: str, name: str) -> bool:
    # "cleanline 45" names "CleanLine 45 cm"; "ecowash 9" names "EcoWash 9 kg
    # Inverter"; the brand alone names every model of it.
    parts = name.split()
    return len(parts) >= 2 and " ".join(parts[:2]) in words


def parse_quantity(text: str) -> int | None:
    """ "2", "dos", "two", "10 unidades" → the number; None if there is none."""
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group()[:4])
    for word in re.findall(r"[a-z]+", fold(text)):
        if word in NUMBER_WORDS and word != "a":
            return NUMBER_WORDS[word]
    return None


def quantity_besides(text: str, item: dict[str, Any]) -> int | None:
    """A quantity said with the product ("2 lavavajillas cleanline 45"), not
    counting the numbers of the model itself (the 45 of CleanLine 45)."""
    model_numbers = set(re.findall(r"\d+", f"{item['sku']} {item['name']}"))
    for word in re.findall(r"[a-z]+|\d+", fold(text)):
        if word.isdigit() and word not in model_numbers:
            return int(word[:4])
        if word in NUMBER_WORDS and word != "a":
            return NUMBER_WORDS[word]
    return None


def request_number(text: str) -> str | None:
    """The DSP number in "DSP-2026-000003", "dsp 2026 3" and the like."""
    match = _DSP.search(text or "")
    if match is None:
        return None
    return f"DSP-{match.group(1)}-{int(match.group(2)):06d}"


def lines_text(lines: list[dict[str, Any]]) -> str:
    return ", ".join(f"{line['quantity']} {line['name']}" for line in lines)


class ValidateDisplayRequestForm(
    FlowSwitchMixin, ShopIdentityMixin, FormValidationAction
):
    """Which product, how many, anything else, confirm: then the DSP case."""

    def name(self) -> str:
        return "validate_display_request_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if not tracker.get_slot("shop") and tracker.get_slot("identity_locked"):
            return []  # too many wrong codes: the identity check said so
        first = shop_slots(tracker)
        if first:
            return [*first, "display_product"]
        more = tracker.get_slot("display_more")
        if not tracker.get_slot("display_lines"):
            steps = ["display_product", "display_quantity"]
        # Once asked, display_more stays listed: the form validates only the
        # slots it lists, and an answer must not remove its own question.
        elif more is None:
            steps = ["display_more"]
        elif more is True:
            steps = ["display_more", "display_product", "display_quantity"]
        else:
            steps = ["display_more", "display_confirmed"]
        return [*identity_slots(tracker), *steps]

    async def extract_shop(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {}  # set with the registration code, never on its own

    async def validate_shop(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"shop": value}

    async def extract_display_more(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _yes_no("display_more", tracker)

    async def extract_display_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _yes_no("display_confirmed", tracker)

    async def validate_display_product(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        try:
            items = await catalogue(tracker)
        except (CrmError, CrmUnavailableError) as error:
            logger.warning("display catalogue unavailable: %s", error)
            say(dispatcher, tracker, "crm_unavailable")
            return {"display_product": None}
        found = match_products(str(value or "")[:200], items)
        chosen = {line["sku"] for line in tracker.get_slot("display_lines") or []}
        if len(found) != 1:
            key = "display_product_ambiguous" if found else "display_product_unknown"
            say(
                dispatcher,
                tracker,
                key,
                value=str(value or "")[:40],
                buttons=[
                    {"title": item["name"], "payload": item["sku"]}
                    for item in (found or items)
                ],
            )
            return {"display_product": None}
        item = found[0]
        if item["sku"] in chosen:
            say(dispatcher, tracker, "display_product_already", product=item["name"])
            return {"display_product": None}
        slots: dict[str, Any] = {"display_product": item}
        quantity = quantity_besides(str(value or ""), item)
        if quantity is not None and 1 <= quantity <= item["max_quantity"]:
            # "2 lavavajillas CleanLine 45": the quantity came with the product.
            slots.update(self._added(tracker, item, quantity))
        return slots

    async def validate_display_quantity(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        item = tracker.get_slot("display_product")
        if not isinstance(item, dict):
            return {"display_quantity": None, "display_product": None}
        quantity = parse_quantity(str(value or ""))
        if quantity is None or not 1 <= quantity <= item["max_quantity"]:
            say(
                dispatcher,
                tracker,
                "display_quantity_invalid",
                product=item["name"],
                maximum=item["max_quantity"],
            )
            return {"display_quantity": None}
        return self._added(tracker, item, quantity)

    @staticmethod
    def _added(tracker: Tracker, item: dict[str, Any], quantity: int) -> dict[str, Any]:
        lines = list(tracker.get_slot("display_lines") or [])
        lines.append({"sku": item["sku"], "name": item["name"], "quantity": quantity})
        return {
            "display_lines": lines,
            "display_product": None,
            "display_quantity": None,
            "display_more": None,
        }

    async def validate_display_more(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value not in (True, False):
            say(dispatcher, tracker, "answer_yes_no")
            return {"display_more": None}
        return {"display_more": value}

    async def validate_display_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value not in (True, False):
            say(dispatcher, tracker, "answer_yes_no")
            return {"display_confirmed": None}
        if value is False:
            return {"display_confirmed": False}
        request = await _open_request(dispatcher, tracker)
        if request is None:
            return {"display_confirmed": None}
        return {"display_confirmed": True, "display_request": request}


def identity_slots(tracker: Tracker) -> list[str]:
    """The identity slots to keep listed once the shop is known.

    A form saves only the slots it lists: the shop found from the channel (a
    staff phone) in this very run must stay listed to be saved. Once the code
    slot is cleared (a finished request), nothing is asked again.
    """
    if tracker.get_slot("registration_code"):
        return ["registration_code", "shop"]
    return []


def _yes_no(slot: str, tracker: Tracker) -> dict[str, Any]:
    if tracker.get_slot("requested_slot") != slot:
        return {}
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    answer = answer_for(slot, intent)
    return {} if answer is None else {slot: answer}


def _idempotency_key(tracker: Tracker) -> str:
    started = "none"
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == REQUEST_FORM:
            started = f"{event.get('timestamp', 0):.6f}"
            break
    return f"{tracker.sender_id}:display:{started}"


async def _open_request(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any] | None:
    lines = tracker.get_slot("display_lines") or []
    try:
        request = await warranty_form.crm.request(
            "POST",
            f"{conversation_path(tracker.sender_id)}/display/requests",
            json={
                "idempotency_key": _idempotency_key(tracker),
                "channel": channel_of(tracker),
                "language": language_of(tracker),
                "lines": [
                    {"sku": line["sku"], "quantity": line["quantity"]} for line in lines
                ],
            },
        )
    except (CrmError, CrmUnavailableError):
        logger.exception("display request failed for %s", tracker.sender_id)
        say(dispatcher, tracker, "crm_unavailable")
        return None
    logger.info(
        "display request %s opened for conversation %s",
        request["number"],
        tracker.sender_id,
    )
    return request


class ActionAskDisplayProduct(Action):
    """Shows the eligible catalogue briefly and asks which product."""

    def name(self) -> str:
        return "action_ask_display_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            items = await catalogue(tracker)
        except (CrmError, CrmUnavailableError):
            say(dispatcher, tracker, "crm_unavailable")
            return []
        chosen = {line["sku"] for line in tracker.get_slot("display_lines") or []}
        left = [item for item in items if item["sku"] not in chosen]
        listing = "; ".join(
            f"{item['name']} ({item['sku']}, máx. {item['max_quantity']})"
            if language_of(tracker) == "es"
            else f"{item['name']} ({item['sku']}, max {item['max_quantity']})"
            for item in left
        )
        say(
            dispatcher,
            tracker,
            "ask_display_product_next" if chosen else "ask_display_product",
            catalogue=listing,
            buttons=[{"title": item["name"], "payload": item["sku"]} for item in left],
        )
        return []


class ActionAskDisplayQuantity(Action):
    def name(self) -> str:
        return "action_ask_display_quantity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        item = tracker.get_slot("display_product") or {}
        say(
            dispatcher,
            tracker,
            "ask_display_quantity",
            product=item.get("name", ""),
            maximum=item.get("max_quantity", 1),
        )
        return []


class ActionAskDisplayMore(Action):
    def name(self) -> str:
        return "action_ask_display_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(
            dispatcher,
            tracker,
            "ask_display_more",
            lines=lines_text(tracker.get_slot("display_lines") or []),
        )
        return []


class ActionAskDisplayConfirmed(Action):
    def name(self) -> str:
        return "action_ask_display_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        shop = tracker.get_slot("shop") or {}
        say(
            dispatcher,
            tracker,
            "ask_display_confirmed",
            lines=lines_text(tracker.get_slot("display_lines") or []),
            shop=shop.get("name", ""),
        )
        return []


class ActionFinishDisplayRequest(Action):
    """Reads back the DSP number and what happens next, then clears the form."""

    def name(self) -> str:
        return "action_finish_display_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        request = tracker.get_slot("display_request")
        if request:
            say(
                dispatcher,
                tracker,
                "display_request_opened",
                number=request["number"],
                lines=lines_text(request["lines"]),
            )
        elif tracker.get_slot("shop"):
            say(dispatcher, tracker, "display_request_not_sent")
        else:
            say_if_locked(dispatcher, tracker)
        return [SlotSet(slot, None) for slot in REQUEST_SLOTS]


class ValidateDisplayStatusForm(
    FlowSwitchMixin, ShopIdentityMixin, FormValidationAction
):
    """Only the shop's identity: the number, if any, came with the question."""

    def name(self) -> str:
        return "validate_display_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return shop_slots(tracker) or identity_slots(tracker)

    async def extract_shop(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {}  # set with the registration code, never on its own

    async def validate_shop(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"shop": value}


class ActionShowDisplayRequests(Action):
    """One request by number, or the shop's latest ones: status, installation."""

    def name(self) -> str:
        return "action_show_display_requests"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in STATUS_SLOTS]
        if not tracker.get_slot("shop"):
            say_if_locked(dispatcher, tracker)
            return reset
        number = request_number(str(tracker.get_slot("display_number") or ""))
        base = f"{conversation_path(tracker.sender_id)}/display/requests"
        try:
            if number:
                found = [await warranty_form.crm.request("GET", f"{base}/{number}")]
            else:
                found = await warranty_form.crm.request("GET", base)
        except CrmError as error:
            if error.status == 404:
                say(dispatcher, tracker, "display_request_not_found", number=number)
                return reset
            say(dispatcher, tracker, "crm_unavailable")
            return reset
        except CrmUnavailableError:
            say(dispatcher, tracker, "crm_unavailable")
            return reset
        if not found:
            say(dispatcher, tracker, "display_requests_none")
            return reset
        for request in found[:3]:
            say_request(dispatcher, tracker, request)
        return reset


def say_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, request: dict[str, Any]
) -> None:
    """Where one request stands, with its installation appointment if any."""
    status = request["status"]
    if status in ("approved", "shipped") and request.get("installation_date"):
        key = "display_status_installation"
    elif status == "approved":
        key = "display_status_approved"
    elif status == "shipped":
        key = "display_status_shipped"
    elif status == "installed":
        key = "display_status_installed"
    elif status == "cancelled":
        key = "display_status_cancelled"
    else:
        key = "display_status_requested"
    say(
        dispatcher,
        tracker,
        key,
        number=request["number"],
        lines=lines_text(request["lines"]),
        date=format_date(request.get("installation_date")),
        installer=request.get("installer") or "",
    )
