"""Trackers shaped as Rasa 3.6 sends them to the action server.

Slots start at the domain's initial values; events carry the user message
(with the channel's metadata) and the activation of the claim form, which is
what the ticket's idempotency key is made of.
"""

import functools
import itertools
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.claim import CLAIM_SLOTS, FORM_NAME, required_claim_slots
from actions.warranty_form import ValidateWarrantyClaimForm

DOMAIN_FILE = Path(__file__).resolve().parents[2] / "bot" / "domain" / "core.yml"
# The SQLite file of the CRM the tests run (set by the crm_url fixture).
CRM_DATABASE: Path | None = None

_clock = itertools.count()


@functools.cache
def _domain_text() -> str:
    return DOMAIN_FILE.read_text(encoding="utf-8")


def load_domain() -> dict[str, Any]:
    """The domain as the action server receives it (slots and forms)."""
    return yaml.safe_load(_domain_text())


@functools.cache
def _initial_slots() -> tuple[tuple[str, Any], ...]:
    slots = load_domain()["slots"].items()
    return tuple((name, definition.get("initial_value")) for name, definition in slots)


def initial_slots() -> dict[str, Any]:
    """Every slot of the domain, at its initial value."""
    return dict(_initial_slots())


def new_conversation_id(prefix: str = "actions-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def conversation_from_phone(phone: str, channel: str = "sms") -> str:
    """A new conversation from ``phone``, stored as the gateway stores one, so
    that the CRM knows who speaks (a customer's or a shop's staff phone)."""
    assert CRM_DATABASE is not None, "needs the crm fixture"
    conversation_id = new_conversation_id(channel)
    with sqlite3.connect(CRM_DATABASE) as database:
        row = database.execute(
            "SELECT id FROM channel_contacts WHERE channel = ? AND address = ?",
            (channel, phone),
        ).fetchone()
        if row is None:
            row = database.execute(
                "INSERT INTO channel_contacts (channel, address, phone, opted_out,"
                " unreachable) VALUES (?, ?, ?, 0, 0) RETURNING id",
                (channel, phone, phone),
            ).fetchone()
        database.execute(
            "INSERT INTO conversations (id, channel, address, contact_id)"
            " VALUES (?, ?, ?, ?)",
            (conversation_id, channel, phone, row[0]),
        )
    return conversation_id


def next_timestamp() -> float:
    """A fresh event time, distinct from every other one in the session."""
    return time.time() + next(_clock) / 1000


def user_event(
    text: str, timestamp: float | None = None, channel: str = "web"
) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": timestamp if timestamp is not None else next_timestamp(),
        "text": text,
        "parse_data": {"text": text, "intent": {}, "entities": []},
        "input_channel": "rest",
        "metadata": {"channel": channel},
    }


def form_activated(timestamp: float | None = None) -> dict[str, Any]:
    return {
        "event": "active_loop",
        "timestamp": timestamp if timestamp is not None else next_timestamp(),
        "name": FORM_NAME,
    }


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    language: str | None = "es",
    text: str = "",
    sender_id: str | None = None,
    events: list[dict[str, Any]] | None = None,
    channel: str = "web",
) -> Tracker:
    """A tracker in the middle of a warranty claim.

    Args:
        slots: slot values on top of the domain's initial ones.
        language: the conversation's language slot.
        text: the latest user message.
        sender_id: the conversation id; a fresh one by default.
        events: the tracker's events; by default the user message followed
            by the activation of the claim form.
        channel: the product channel in the user message's metadata.
    """
    values = {**initial_slots(), "language": language, **(slots or {})}
    if events is None:
        events = [user_event(text, channel=channel), form_activated()]
    return Tracker(
        sender_id or new_conversation_id(),
        values,
        {"text": text, "intent": {}, "entities": []},
        events,
        False,
        None,
        {"name": FORM_NAME},
        "action_listen",
    )


def next_slot(slots: dict[str, Any]) -> str | None:
    """The slot the form asks next, as rasa_sdk picks it; None ends the form."""
    values = {**initial_slots(), **slots}
    return next(
        (slot for slot in required_claim_slots(values) if values.get(slot) is None),
        None,
    )


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    """The text of every message the action sent."""
    return [message["text"] for message in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slot values set by a list of events, the last one winning."""
    return {
        event["name"]: event["value"] for event in events if event["event"] == "slot"
    }


class Claim:
    """One warranty claim, driven answer by answer the way the form does it.

    Each answer is set as the slot candidate, validated by
    ValidateWarrantyClaimForm, and what the validation returns is kept.
    """

    def __init__(
        self,
        language: str = "es",
        slots: dict[str, Any] | None = None,
        sender_id: str | None = None,
        channel: str = "web",
        phone: str | None = None,
    ) -> None:
        if phone is not None:
            # The person writes from this phone: the CRM knows who they are.
            channel = "sms" if channel == "web" else channel
            sender_id = conversation_from_phone(phone, channel)
        self.sender_id = sender_id or new_conversation_id("claim")
        self.slots = {**initial_slots(), "language": language, **(slots or {})}
        self.events = [user_event("hola", channel=channel), form_activated()]

    def tracker(self) -> Tracker:
        return make_tracker(
            self.slots,
            language=self.slots["language"],
            sender_id=self.sender_id,
            events=self.events,
        )

    async def answer(self, slot: str, value: Any) -> list[str]:
        """Validates an answer; returns the texts the person was sent."""
        self.slots[slot] = value
        dispatcher = CollectingDispatcher()
        validate = getattr(ValidateWarrantyClaimForm(), f"validate_{slot}")
        self.slots.update(await validate(value, dispatcher, self.tracker(), {}))
        return texts(dispatcher)

    async def run(self, action: Any) -> list[str]:
        """Runs an action; keeps the slots it sets, returns what it said."""
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), {})
        self.slots.update(slot_events(events))
        return texts(dispatcher)

    def restart_form(self) -> None:
        """The form is activated again, as for a second claim."""
        self.events.append(user_event("otra avería"))
        self.events.append(form_activated())


async def run_action(action: Any, **tracker: Any) -> tuple[list[str], dict[str, Any]]:
    """Runs an action on ``make_tracker(**tracker)``; returns what it said and
    the slots it set."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(**tracker), {})
    return texts(dispatcher), slot_events(events)


def assert_claim_cleared(slots: dict[str, Any]) -> None:
    """The claim's slots are all reset, the language kept."""
    assert {slot: slots[slot] for slot in CLAIM_SLOTS} == {
        **dict.fromkeys(CLAIM_SLOTS),
        "check_step": 0,
    }
    assert slots["serial_attempts"] == 0
    assert "language" not in slots
