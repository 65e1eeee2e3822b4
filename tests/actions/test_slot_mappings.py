"""The language slot, set on every message by action_validate_slot_mappings."""

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.slot_mappings import ValidateSlotMappings, latest_user_metadata
from tests.actions.factories import make_tracker, user_event

pytestmark = pytest.mark.anyio


async def extract(
    text: str, current: str | None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    event = user_event(text)
    if metadata is not None:
        event["metadata"] = metadata
    tracker = make_tracker(language=current, text=text, events=[event])
    return await ValidateSlotMappings().extract_language(
        CollectingDispatcher(), tracker, {}
    )


async def test_an_english_message_switches_a_spanish_conversation() -> None:
    assert await extract("my washing machine is leaking", "es") == {"language": "en"}


async def test_a_spanish_message_switches_an_english_conversation() -> None:
    assert await extract("la lavadora pierde agua", "en") == {"language": "es"}


@pytest.mark.parametrize("text", ["ok", "46001", "WM 4821 7730", "/affirm", "👍"])
async def test_short_replies_keep_the_language(text: str) -> None:
    assert await extract(text, "en") == {}


async def test_the_same_language_sets_nothing() -> None:
    assert await extract("gracias", "es") == {}


async def test_the_channel_hint_decides_the_first_message() -> None:
    assert await extract("WM 4821 7730", None, {"language": "en-GB"}) == {
        "language": "en"
    }


@pytest.mark.parametrize("metadata", [{}, {"language": "fr"}, {"language": None}])
async def test_without_any_sign_the_conversation_is_spanish(
    metadata: dict[str, Any],
) -> None:
    assert await extract("12345", None, metadata) == {"language": "es"}


@pytest.mark.parametrize("name", ["José Pérez", "Lucía Martín", "I'm José Pérez"])
async def test_an_english_speaker_with_a_spanish_name_stays_in_english(
    name: str,
) -> None:
    assert await extract(name, "en") == {}


def test_latest_user_metadata_skips_bot_events() -> None:
    tracker = make_tracker(
        events=[
            user_event("hola", channel="sms"),
            {"event": "bot", "text": "¿Qué le ocurre?", "metadata": {"x": 1}},
            {"event": "slot", "name": "language", "value": "es"},
        ]
    )

    assert latest_user_metadata(tracker) == {"channel": "sms"}


def test_latest_user_metadata_of_a_conversation_without_messages() -> None:
    assert latest_user_metadata(make_tracker(events=[])) == {}


async def test_the_fault_is_the_message_that_starts_the_claim() -> None:
    event = user_event("la nevera no enfria")
    event["parse_data"]["intent"] = {"name": "report_fault", "confidence": 0.98}
    tracker = make_tracker({}, events=[event])
    tracker.latest_message = {**event["parse_data"], "text": "la nevera no enfria"}
    tracker.active_loop = {}

    extracted = await ValidateSlotMappings().extract_fault_description(
        CollectingDispatcher(), tracker, {}
    )

    assert extracted == {"fault_description": "la nevera no enfria"}


async def test_an_answer_inside_the_form_never_replaces_the_fault() -> None:
    # "Fridge", typed as the kind of appliance, reads like a fault report.
    event = user_event("Fridge")
    event["parse_data"]["intent"] = {"name": "report_fault", "confidence": 0.9}
    tracker = make_tracker({"fault_description": "my fridge is not cooling"})
    tracker.latest_message = {**event["parse_data"], "text": "Fridge"}
    tracker.active_loop = {"name": "warranty_claim_form"}

    extracted = await ValidateSlotMappings().extract_fault_description(
        CollectingDispatcher(), tracker, {}
    )

    assert extracted == {}


async def test_an_intent_sent_as_such_is_no_fault() -> None:
    # A button or a link sends "/report_fault": nothing was said of the fault.
    event = user_event("/report_fault")
    event["parse_data"]["intent"] = {"name": "report_fault", "confidence": 1.0}
    tracker = make_tracker({}, events=[event])
    tracker.latest_message = {**event["parse_data"], "text": "/report_fault"}
    tracker.active_loop = {}

    extracted = await ValidateSlotMappings().extract_fault_description(
        CollectingDispatcher(), tracker, {}
    )

    assert extracted == {}
