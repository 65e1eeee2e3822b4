"""iGI beyond the claim: where a repair is, in plain words.

A customer writing from their own phone, or a shop, asks by number or for
"my repairs". Someone the channel does not vouch for (web chat) gives the case
number and then the phone number on the case; a wrong phone and a case that
does not exist get the same answer.
"""

import logging
import re
from typing import Any
from urllib.parse import quote

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import warranty_form
from actions.crm_client import CrmError, CrmUnavailableError, conversation_path
from actions.formatting import format_date, normalize_phone
from actions.general import FlowSwitchMixin
from actions.identity import speaker
from actions.messages import say
from actions.warranty_form import language_of

logger = logging.getLogger(__name__)

FORM = "repair_status_form"
SLOTS = ["repair_number", "repair_phone", "repair_found", "requested_slot"]
# "WAR-2026-000872", "war 2026 872", "caso 872", "RPL2026000004".
_NUMBER = re.compile(
    r"\b(war|rep|rpl|gen)\W*(\d{4})\W*(\d{1,6})\b|\b(\d{1,6})\b", re.IGNORECASE
)


def case_number(text: str) -> str | None:
    """The case number a person typed, canonical when it is a full one."""
    match = _NUMBER.search(text or "")
    if match is None:
        return None
    if match.group(1):
        prefix, year, sequence = match.group(1, 2, 3)
        return f"{prefix.upper()}-{year}-{int(sequence):06d}"
    return match.group(4)


def _base(tracker: Tracker) -> str:
    return f"{conversation_path(tracker.sender_id)}/repairs"


def _asked_number(tracker: Tracker) -> str | None:
    """The number in the slot, or in the question that started the form."""
    number = case_number(str(tracker.get_slot("repair_number") or ""))
    if number:
        return number
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == "check_repair_status":
                return case_number(event.get("text") or "")
    return None


class ValidateRepairStatusForm(FlowSwitchMixin, FormValidationAction):
    """Asks number and phone only of a speaker the channel does not vouch for."""

    def name(self) -> str:
        return "validate_repair_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("repair_found") is not None:
            return []
        found = await speaker(tracker)
        if found.get("kind") != "unknown":
            return []
        return ["repair_number", "repair_phone"]

    async def validate_repair_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        number = case_number(str(value or "")[:100])
        if number is None or "-" not in number:
            say(dispatcher, tracker, "repair_number_invalid")
            return {"repair_number": None}
        return {"repair_number": number}

    async def validate_repair_phone(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        phone = normalize_phone(str(value or "")[:40])
        if phone is None:
            say(dispatcher, tracker, "invalid_phone_number")
            return {"repair_phone": None}
        number = tracker.get_slot("repair_number")
        try:
            repair = await warranty_form.crm.request(
                "GET",
                f"{_base(tracker)}/{quote(number, safe='')}",
                params={"phone": phone},
            )
        except CrmError as error:
            if error.status in (403, 404):
                logger.info("repair lookup refused for %s", tracker.sender_id)
                return {"repair_phone": phone, "repair_found": {}}
            if error.status == 429:
                # Too many wrong details: the finishing action says so.
                return {"repair_phone": phone, "repair_found": {"locked": True}}
            say(dispatcher, tracker, "crm_unavailable")
            return {"repair_phone": None}
        except CrmUnavailableError:
            say(dispatcher, tracker, "crm_unavailable")
            return {"repair_phone": None}
        return {"repair_phone": phone, "repair_found": repair}


class ActionAskRepairNumber(Action):
    def name(self) -> str:
        return "action_ask_repair_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "ask_repair_number")
        return []


class ActionAskRepairPhone(Action):
    def name(self) -> str:
        return "action_ask_repair_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "ask_repair_phone")
        return []


class ActionShowRepairStatus(Action):
    """Says where the case (or the speaker's latest cases) stands."""

    def name(self) -> str:
        return "action_show_repair_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in SLOTS]
        found = tracker.get_slot("repair_found")
        if found is not None:
            if found.get("locked"):
                say(dispatcher, tracker, "repair_lookup_locked")
            elif found:
                say_repair(dispatcher, tracker, found)
            else:
                say(dispatcher, tracker, "repair_not_found")
            return reset

        number = _asked_number(tracker)
        try:
            if number:
                repairs = [
                    await warranty_form.crm.request(
                        "GET", f"{_base(tracker)}/{quote(number, safe='')}"
                    )
                ]
            else:
                repairs = await warranty_form.crm.request("GET", _base(tracker))
        except CrmError as error:
            if error.status in (403, 404):
                say(dispatcher, tracker, "repair_not_found")
            else:
                say(dispatcher, tracker, "crm_unavailable")
            return reset
        except CrmUnavailableError:
            say(dispatcher, tracker, "crm_unavailable")
            return reset
        if not repairs:
            say(dispatcher, tracker, "repairs_none")
        for repair in repairs[:3]:
            say_repair(dispatcher, tracker, repair)
        return reset


def say_repair(
    dispatcher: CollectingDispatcher, tracker: Tracker, repair: dict[str, Any]
) -> None:
    """One case in plain words: who has it, when they call, what comes next."""
    centre = repair.get("service_centre") or {}
    replacement = repair.get("replacement") or {}
    status = repair["status"]
    if status == "closed" and repair.get("resolution"):
        key = "repair_closed"
    elif status == "closed":
        key = "repair_closed_plain"
    elif status == "resolved":
        key = "repair_resolved"
    elif repair["kind"] == "replacement":
        key = "repair_replacement"
    elif repair["kind"] == "handoff":
        key = "repair_handoff"
    elif status == "assigned":
        key = "repair_assigned"
    else:
        key = "repair_pending"
    say(
        dispatcher,
        tracker,
        key,
        number=repair["number"],
        product=repair.get("product") or "",
        centre=centre.get("name", ""),
        centre_phone=centre.get("phone", ""),
        date=format_date(repair.get("created_at")),
        verification=format_date(repair.get("verification_due")),
        closed=format_date(repair.get("closed_at")),
        resolution=repair.get("resolution") or "",
        reason=replacement.get(f"note_{language_of(tracker)}") or "",
    )
