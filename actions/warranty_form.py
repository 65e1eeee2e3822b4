"""The warranty claim form: serial, warranty decision, checks, contact, ticket."""

import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.claim import (
    CONTACT_SLOTS,
    UNCLEAR,
    answer_for,
    required_claim_slots,
    ticket_payload,
)
from actions.crm_client import (
    CrmClient,
    CrmError,
    CrmUnavailableError,
    conversation_path,
    serial_path,
)
from actions.formatting import (
    clean_name,
    extract_serial,
    fold,
    format_date,
    normalize_phone,
    normalize_postal_code,
)
from actions.general import FlowSwitchMixin
from actions.messages import say

logger = logging.getLogger(__name__)

# Everyday words for the product categories, accent-free, in both languages.
CATEGORY_WORDS = {
    "frigo": "fridge",
    "nevera": "fridge",
    "frigorifico": "fridge",
    "refrigerator": "fridge",
    "lavaplatos": "dishwasher",
    "calentador": "boiler",
    "washer": "washing_machine",
}

crm = CrmClient()


def language_of(tracker: Tracker) -> str:
    """The conversation's language, Spanish unless the person wrote English."""
    return tracker.get_slot("language") or "es"


def product_label(unit: dict[str, Any] | None, language: str) -> str:
    """ "lavadora EcoWash 8 kg" / "EcoWash 8 kg washing machine"."""
    if not unit:
        return ""
    if language == "en":
        return f"{unit['name']} {unit['category_en'].lower()}"
    return f"{unit['category_es'].lower()} {unit['name']}"


class ValidateWarrantyClaimForm(FlowSwitchMixin, FormValidationAction):
    """Checks each answer of the claim and decides what to ask next."""

    def name(self) -> str:
        return "validate_warranty_claim_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return required_claim_slots(tracker.current_slot_values())

    async def extract_check_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _extract_answer("check_answer", tracker)

    async def extract_contact_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _extract_answer("contact_confirmed", tracker)

    async def extract_claim_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _extract_answer("claim_confirmed", tracker)

    async def extract_claim_option(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        asking_serial = tracker.get_slot("requested_slot") == "serial_number"
        if asking_serial and intent == "open_without_serial":
            # "I don't have the serial": straight to the claim without it.
            return {"claim_option": "without_serial"}
        return _extract_answer("claim_option", tracker)

    async def validate_serial_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        serial = _whole_serial(
            str(value or "")[:200],
            extract_serial((tracker.latest_message.get("text") or "")[:200]),
        )
        if serial is None:
            # A sentence, not a number: ask again without spending an attempt.
            say(dispatcher, tracker, "serial_not_a_serial")
            return {"serial_number": None}
        attempts = int(tracker.get_slot("serial_attempts") or 0) + 1
        language = language_of(tracker)
        try:
            decision = await crm.get_warranty(serial)
            unit = None
            if decision.get("reason") != "unit_not_found":
                unit = await crm.get_unit(serial)
        except (CrmUnavailableError, CrmError) as error:
            if isinstance(error, CrmError) and error.status in (404, 422):
                unit = None
            else:
                logger.error("serial check failed for %s: %s", tracker.sender_id, error)
                say(dispatcher, tracker, "crm_unavailable")
                return {"serial_number": None}
        if unit is None:
            say(dispatcher, tracker, "serial_unknown", serial=serial.upper())
            return {"serial_number": None, "serial_attempts": attempts}

        category = unit["product"]["category"]
        unit_info = {
            "serial_number": unit["serial_number"],
            "name": unit["product"]["name"],
            "category": category["code"],
            "category_es": category["name_es"],
            "category_en": category["name_en"],
            "term_months": decision.get("term_months"),
        }
        status = decision["status"]
        say(
            dispatcher,
            tracker,
            f"warranty_{status}",
            product=product_label(unit_info, language),
            purchase_date=format_date(decision.get("purchase_date")),
            end_date=format_date(decision.get("end_date")),
        )
        slots: dict[str, Any] = {
            "serial_number": unit["serial_number"],
            "serial_attempts": attempts,
            "unit": unit_info,
            "product_category": category["code"],
            "warranty_status": status,
            "warranty_end_date": decision.get("end_date"),
            "check_step": 0,
            "check_phase": "done",
        }
        if status != "expired":
            checks = await guided_checks(category["code"], language)
            if checks:
                slots["check_phase"] = "question"
        customer = unit.get("customer")
        claimant = await claimant_of(tracker, unit["serial_number"])
        slots["claim_for_shop"] = claimant.get("point_of_sale")
        # The details on file are read back only to their owner; anyone else
        # (a web chat, another phone, a shop for its customer) gives them.
        if customer and claimant.get("is_owner"):
            slots.update(
                contact_known=True,
                customer_name=customer["name"],
                phone_number=customer["phone"],
                postal_code=customer["postal_code"],
            )
        return slots

    async def validate_claim_option(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return _unclear("claim_option", value, dispatcher, tracker) or {
            "claim_option": value
        }

    async def validate_product_category(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        wanted = fold(str(value or ""))
        try:
            categories = [
                category
                for language in ("es", "en")
                for category in await crm.list_categories(language)
            ]
        except (CrmUnavailableError, CrmError):
            say(dispatcher, tracker, "crm_unavailable")
            return {"product_category": None}
        for category in categories:
            names = {fold(category["code"]), fold(category["name"])}
            if wanted in names or CATEGORY_WORDS.get(wanted) == category["code"]:
                claimant = await claimant_of(tracker, "-")
                return {
                    "product_category": category["code"],
                    "claim_for_shop": claimant.get("point_of_sale"),
                }
        say(dispatcher, tracker, "invalid_product_category", value=str(value)[:40])
        return {"product_category": None}

    async def validate_check_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        unclear = _unclear("check_answer", value, dispatcher, tracker)
        if unclear is not None:
            return unclear
        step = int(tracker.get_slot("check_step") or 0)
        phase = tracker.get_slot("check_phase")
        if phase == "question" and value:
            return {"check_answer": None, "check_phase": "advice"}
        if phase == "advice" and value:
            return await self._resolve_at_first_contact(dispatcher, tracker)

        category = tracker.get_slot("product_category")
        checks = await guided_checks(category, language_of(tracker))
        if step + 1 < len(checks):
            return {
                "check_answer": None,
                "check_step": step + 1,
                "check_phase": "question",
            }
        say(dispatcher, tracker, "checks_exhausted")
        return {"check_answer": False, "check_phase": "done"}

    async def validate_contact_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        unclear = _unclear("contact_confirmed", value, dispatcher, tracker)
        if unclear is not None:
            return unclear
        if value:
            return {"contact_confirmed": True}
        return {
            "contact_confirmed": False,
            "contact_known": False,
            **{slot: None for slot in CONTACT_SLOTS},
        }

    async def validate_customer_name(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return _normalized("customer_name", value, dispatcher, tracker)

    async def validate_phone_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return _normalized("phone_number", value, dispatcher, tracker)

    async def validate_postal_code(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return _normalized("postal_code", value, dispatcher, tracker)

    async def validate_claim_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        unclear = _unclear("claim_confirmed", value, dispatcher, tracker)
        if unclear is not None:
            return unclear
        if not value:
            return {
                "claim_confirmed": None,
                "contact_known": False,
                "contact_confirmed": None,
                **{slot: None for slot in CONTACT_SLOTS},
            }
        ticket = await self._open_ticket(dispatcher, tracker, resolved=False)
        if ticket is None:
            return {"claim_confirmed": None}
        return {"claim_confirmed": True, "ticket": ticket}

    async def _resolve_at_first_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        ticket = await self._open_ticket(dispatcher, tracker, resolved=True)
        if ticket is None:
            return {"check_answer": None}
        return {"check_answer": True, "problem_solved": True, "ticket": ticket}

    async def _open_ticket(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, resolved: bool
    ) -> dict[str, Any] | None:
        payload = ticket_payload(tracker, resolved_first_contact=resolved)
        try:
            ticket = await crm.open_ticket(payload)
        except (CrmUnavailableError, CrmError):
            logger.exception(
                "could not open a %s ticket for conversation %s",
                payload["kind"],
                tracker.sender_id,
            )
            say(dispatcher, tracker, "crm_unavailable")
            return None
        logger.info(
            "ticket %s (%s) opened for conversation %s",
            ticket["number"],
            ticket["status"],
            tracker.sender_id,
        )
        events = ticket.get("events", [])
        replacement = next(
            (e["detail"] for e in events if e["kind"] == "replacement"), {}
        )
        return {
            "number": ticket["number"],
            "status": ticket["status"],
            "kind": ticket["kind"],
            "reason": replacement.get(f"note_{language_of(tracker)}"),
            "centre": (ticket.get("service_centre") or {}).get("name"),
            "postal_code": ticket.get("postal_code"),
        }


# How each contact field is read from what the person typed.
_CONTACT_NORMALIZERS = {
    "customer_name": clean_name,
    "phone_number": normalize_phone,
    "postal_code": normalize_postal_code,
}


def _normalized(
    slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any]:
    """The field in its normal form, or None and a hint on what is expected."""
    normalized = _CONTACT_NORMALIZERS[slot](str(value or ""))
    if normalized is None:
        say(dispatcher, tracker, f"invalid_{slot}")
    return {slot: normalized}


def _whole_serial(value: str, typed: str | None) -> str | None:
    """The serial in the slot's value, or the whole one typed when the entity
    caught only part of it ("XX99 1234" tagged as "1234")."""
    found = extract_serial(value)
    if typed is None:
        return found
    value_key, typed_key = (re.sub(r"[^0-9A-Z]", "", s.upper()) for s in (value, typed))
    if value_key and value_key != typed_key and value_key in typed_key:
        return typed
    return found


def _extract_answer(slot: str, tracker: Tracker) -> dict[str, Any]:
    if tracker.get_slot("requested_slot") != slot:
        return {}
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    answer = answer_for(slot, intent)
    return {} if answer is None else {slot: answer}


def _unclear(
    slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any] | None:
    """Asks again, kindly, when the answer was neither yes nor no."""
    if value != UNCLEAR:
        return None
    say(
        dispatcher,
        tracker,
        "answer_choice" if slot == "claim_option" else "answer_yes_no",
    )
    return {slot: None}


async def claimant_of(tracker: Tracker, serial: str) -> dict[str, Any]:
    """Whether the speaker owns the unit, and the shop's name if staff claim.

    When the CRM cannot say, the person is treated as a stranger: asked for
    the contact details, never shown someone else's.
    """
    conversation = conversation_path(tracker.sender_id)
    try:
        return await crm.request(
            "GET", f"{conversation}/claimant/{serial_path(serial)}"
        )
    except (CrmUnavailableError, CrmError) as error:
        logger.warning("claimant of %s unknown: %s", tracker.sender_id, error)
        return {"speaker": "unknown", "is_owner": False, "point_of_sale": None}


async def guided_checks(category: str | None, language: str) -> list[dict]:
    """The guided checks of a category; none when the CRM cannot say."""
    if not category:
        return []
    try:
        return await crm.list_checks(category, language)
    except (CrmUnavailableError, CrmError):
        logger.warning("no guided checks for %s: CRM refused or down", category)
        return []
