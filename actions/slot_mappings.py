"""Slots filled on every message, whatever the conversation is doing."""

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.language import detect_language

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "es"
NAME_AND_NUMBER_SLOTS = ("customer_name", "phone_number", "postal_code")


def latest_user_event(tracker: Tracker) -> dict[str, Any]:
    """The latest message of the person as an event, or {} before any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return {}


def latest_user_metadata(tracker: Tracker) -> dict[str, Any]:
    """Returns the metadata the channel sent with the latest user message."""
    return latest_user_event(tracker).get("metadata") or {}


class ValidateSlotMappings(ValidationAction):
    """Slots set from any message: the language, and the fault described."""

    async def extract_fault_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Only a fault told outside a form: inside one, what the person types
        # answers the question asked (a kind of appliance, a name...).
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent != "report_fault" or tracker.active_loop.get("name"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):
            # An intent sent as such ("/report_fault" from a button or a
            # link) describes no fault.
            return {}
        return {"fault_description": text}

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        current = tracker.get_slot("language")
        if current and tracker.get_slot("requested_slot") in NAME_AND_NUMBER_SLOTS:
            # A name, phone or postcode says nothing about the language.
            return {}
        detected = detect_language(tracker.latest_message.get("text") or "")
        if detected is None:
            if current:
                return {}
            hint = str(latest_user_metadata(tracker).get("language") or "")[:2]
            detected = hint if hint in ("es", "en") else DEFAULT_LANGUAGE
        if detected != current:
            logger.debug(
                "conversation %s language %s -> %s",
                tracker.sender_id,
                current,
                detected,
            )
            return {"language": detected}
        return {}
