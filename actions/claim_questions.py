"""The questions of the warranty claim form, asked with what the claim knows.

The form finds these by name (`action_ask_<slot>`); they read the CRM through
`actions.warranty_form.crm`, the client the whole claim shares.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import warranty_form as form
from actions.claim import FORM_NAME
from actions.crm_client import CrmError, CrmUnavailableError
from actions.formatting import mask_name, mask_phone
from actions.messages import say
from actions.warranty_form import language_of, product_label


class ActionAskSerialNumber(Action):
    """Asks for the serial, with a hint after a number that was not found."""

    def name(self) -> str:
        return "action_ask_serial_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        again = (tracker.get_slot("serial_attempts") or 0) > 0 or (
            _answers_since_the_claim_started(tracker) > 0
        )
        say(
            dispatcher,
            tracker,
            "ask_serial_number_again" if again else "ask_serial_number",
        )
        return []


class ActionAskClaimOption(Action):
    """Offers the ways forward when the warranty cannot cover the repair."""

    def name(self) -> str:
        return "action_ask_claim_option"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        expired = tracker.get_slot("warranty_status") == "expired"
        say(
            dispatcher,
            tracker,
            "ask_claim_option_expired" if expired else "ask_claim_option_no_serial",
        )
        return []


class ActionAskProductCategory(Action):
    """Asks which kind of appliance it is, with the catalogue as buttons."""

    def name(self) -> str:
        return "action_ask_product_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            categories = await form.crm.list_categories(language_of(tracker))
        except (CrmUnavailableError, CrmError):
            categories = []
        buttons = [{"title": c["name"], "payload": c["name"]} for c in categories]
        say(dispatcher, tracker, "ask_product_category", buttons=buttons)
        return []


class ActionAskCheckAnswer(Action):
    """Asks the current guided check, or gives its advice and asks if it helped."""

    def name(self) -> str:
        return "action_ask_check_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        step = int(tracker.get_slot("check_step") or 0)
        checks = await form.guided_checks(
            tracker.get_slot("product_category"), language_of(tracker)
        )
        if step >= len(checks):
            # The checks cannot be read now: let any answer move the claim on
            # to a technician (validate_check_answer finds no further check).
            say(dispatcher, tracker, "checks_unavailable")
            return []
        check = checks[step]
        if tracker.get_slot("check_phase") == "advice":
            say(dispatcher, tracker, "check_advice", advice=check["advice"])
        elif step == 0:
            say(dispatcher, tracker, "check_first_question", question=check["question"])
        else:
            say(dispatcher, tracker, "check_question", question=check["question"])
        return []


class ActionAskContactConfirmed(Action):
    """Reads back the contact data on file, with the phone masked."""

    def name(self) -> str:
        return "action_ask_contact_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say(
            dispatcher,
            tracker,
            "ask_contact_confirmed",
            name=mask_name(tracker.get_slot("customer_name") or ""),
            phone=mask_phone(tracker.get_slot("phone_number") or ""),
            postal_code=tracker.get_slot("postal_code"),
        )
        return []


class ActionAskClaimConfirmed(Action):
    """Shows the summary of the claim before the ticket is opened."""

    def name(self) -> str:
        return "action_ask_claim_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        product = product_label(tracker.get_slot("unit"), language)
        if not product:
            product = await _category_name(
                tracker.get_slot("product_category"), language
            )
        no_serial = "sin número de serie" if language == "es" else "no serial number"
        say(
            dispatcher,
            tracker,
            "ask_claim_confirmed",
            product=product,
            serial=tracker.get_slot("serial_number") or no_serial,
            fault=(tracker.get_slot("fault_description") or "—")[:200],
            name=mask_name(tracker.get_slot("customer_name") or ""),
            phone=_phone_to_read_back(tracker),
            postal_code=tracker.get_slot("postal_code"),
        )
        return []


def _answers_since_the_claim_started(tracker: Tracker) -> int:
    """Messages the person sent after the one that started the claim."""
    answers = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            return answers
        if event.get("event") == "user":
            answers += 1
    return answers


def _phone_to_read_back(tracker: Tracker) -> str:
    """A phone on file is masked; one the person just typed is shown whole,
    so that a typo can be caught."""
    phone = tracker.get_slot("phone_number") or ""
    return mask_phone(phone) if tracker.get_slot("contact_confirmed") else phone


async def _category_name(code: str | None, language: str) -> str:
    try:
        categories = await form.crm.list_categories(language)
    except (CrmUnavailableError, CrmError):
        categories = []
    names = {category["code"]: category["name"] for category in categories}
    return names.get(code or "", code or "").lower()


class _AskContactField(Action):
    """Asks for one contact field with its plain response."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        key = f"ask_{self.slot}"
        if tracker.get_slot("claim_for_shop"):
            # Shop staff claiming for a customer give the customer's details.
            key = f"ask_{self.slot}_for_customer"
        say(dispatcher, tracker, key)
        return []


class ActionAskCustomerName(_AskContactField):
    slot = "customer_name"


class ActionAskPhoneNumber(_AskContactField):
    slot = "phone_number"


class ActionAskPostalCode(_AskContactField):
    slot = "postal_code"
