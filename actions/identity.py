"""Who is speaking, for the actions: shop staff, a customer or unknown.

The CRM decides (crm_bridge/services/identity.py); the actions only ask it,
and, for a shop not yet known, take its registration code in a form:

    class ValidateOrderStatusForm(ShopIdentityMixin, FormValidationAction):
        async def required_slots(self, domain_slots, dispatcher, tracker, domain):
            return shop_slots(tracker) + ["order_number"]

List the form in the conditions of the registration_code slot
(bot/domain/identity.yml), and let the form's last action check
``tracker.get_slot("shop")``: it is None when the person gave up or was
stopped after too many wrong codes.
"""

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.claim import channel_of
from actions.crm_client import CrmError, CrmUnavailableError, conversation_path
from actions.general import FlowSwitchMixin
from actions.messages import say
from actions.warranty_form import crm

logger = logging.getLogger(__name__)

UNKNOWN: dict[str, Any] = {"kind": "unknown", "point_of_sale": None, "customer": None}
# The registration_code slot's value once the shop is known: the code itself
# is never kept in the conversation.
KNOWN = "verified"


async def speaker(tracker: Tracker) -> dict[str, Any]:
    """The CRM's view of who writes: {"kind", "point_of_sale", "customer"}.

    Unknown when the CRM cannot say; callers then treat the person as a
    stranger, which only ever shows less.
    """
    try:
        return await crm.request(
            "GET", f"{conversation_path(tracker.sender_id)}/identity"
        )
    except (CrmError, CrmUnavailableError) as error:
        logger.warning("identity of %s unknown: %s", tracker.sender_id, error)
        return UNKNOWN


def shop_slots(tracker: Tracker) -> list[str]:
    """The slots a shop-only form asks first: the code, unless the shop is known."""
    if tracker.get_slot("shop") or tracker.get_slot("identity_locked"):
        return []
    return ["registration_code"]


def say_if_locked(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """For a shop-only form's last action: says the shop could not be
    verified (too many wrong codes), so no request goes unanswered."""
    if tracker.get_slot("shop") or not tracker.get_slot("identity_locked"):
        return False
    say(dispatcher, tracker, "registration_code_locked")
    return True


def shop_name(tracker: Tracker) -> str:
    return (tracker.get_slot("shop") or {}).get("name") or ""


class ShopIdentityMixin:
    """Fills ``shop`` for a form: from the channel, or from the code typed."""

    async def extract_registration_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("shop") or tracker.get_slot("identity_locked"):
            return {}
        if tracker.get_slot("requested_slot") == "registration_code":
            return {}  # the person is answering: validate what they typed
        found = await speaker(tracker)
        if found.get("kind") == "shop":
            return {"registration_code": KNOWN, "shop": found["point_of_sale"]}
        # "soy de Electro Turia, codigo TURIA-4471": the code came first.
        code = registration_code_in(tracker.latest_message.get("text") or "")
        return {"registration_code": code} if code else {}

    async def validate_registration_code(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return await check_registration_code(value, dispatcher, tracker)


async def check_registration_code(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any]:
    """Asks the CRM whether the code typed is a shop's; says how it went."""
    if tracker.get_slot("shop") and value == KNOWN:
        # rasa_sdk keeps only the slots validation returns: the shop found
        # by extract_registration_code must be returned again here.
        return {"registration_code": KNOWN, "shop": tracker.get_slot("shop")}
    code = registration_code_in(str(value or ""))
    if not code:
        # Not shaped like a code ("pedido 48213", "si"): asked again, and
        # not counted as a wrong code.
        say(dispatcher, tracker, "registration_code_format")
        return {"registration_code": None}
    try:
        found = await crm.request(
            "POST",
            f"{conversation_path(tracker.sender_id)}/identity/shop",
            json={"registration_code": code, "channel": channel_of(tracker)},
        )
    except CrmError as error:
        left = (
            error.detail.get("attempts_left") if isinstance(error.detail, dict) else 0
        )
        if error.status == 429 or not left:
            # The form ends; its last action says why (say_if_locked).
            logger.info("shop codes locked in conversation %s", tracker.sender_id)
            return {"registration_code": None, "identity_locked": True}
        say(dispatcher, tracker, "registration_code_wrong")
        return {"registration_code": None}
    except CrmUnavailableError:
        say(dispatcher, tracker, "crm_unavailable")
        return {"registration_code": None}
    shop = found["point_of_sale"]
    logger.info("conversation %s is shop %s", tracker.sender_id, shop["code"])
    say(dispatcher, tracker, "shop_verified", shop=shop["name"])
    return {"registration_code": KNOWN, "shop": shop}


class ValidateShopIdentityForm(
    FlowSwitchMixin, ShopIdentityMixin, FormValidationAction
):
    """ "Soy de la tienda…": takes the registration code, unless already known."""

    def name(self) -> str:
        return "validate_shop_identity_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return shop_slots(tracker)


class ActionAskRegistrationCode(Action):
    """Asks any shop-only form's registration code."""

    def name(self) -> str:
        return "action_ask_registration_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "ask_registration_code")
        return []


class ActionShopIdentified(Action):
    """Ends the identification: what the assistant can do for the shop."""

    def name(self) -> str:
        return "action_shop_identified"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("shop"):
            say(dispatcher, tracker, "shop_what_next", shop=shop_name(tracker))
        else:
            say_if_locked(dispatcher, tracker)
        return [SlotSet("registration_code", None), SlotSet("requested_slot", None)]


# Letters, then four or more digits: "TURIA-4471", "llob 8832", also in
# "nuestro codigo es …"; words that come before other numbers are no code.
_CODE = re.compile(r"\b([A-Za-z]{3,12})[\s-]?(\d{4,8})\b")
_NOT_A_CODE = frozenset(
    """pedido pedidos order orders caso case ticket numero number num codigo code
    serie serial telefono phone tel movil cp postal albaran ref referencia
    solicitud request del the una uno unos dos""".split()
)


def registration_code_in(text: str) -> str | None:
    """The code-shaped part of what the person typed, or None."""
    codes = [
        match.group(0)
        for match in _CODE.finditer(text[:200])
        if match.group(1).lower() not in _NOT_A_CODE
    ]
    return codes[-1] if codes else None
