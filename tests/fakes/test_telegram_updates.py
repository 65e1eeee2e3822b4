"""The builders' updates parse with python-telegram-bot as Telegram's own do."""

import datetime as dtm
from typing import Any

import pytest
from telegram import Bot, MessageEntity, Update

from tests.fakes.telegram_api import TEST_BOT_TOKEN
from tests.fakes.telegram_updates import (
    callback_update,
    contact_update,
    edited_update,
    location_update,
    photo_update,
    start_update,
    sticker_update,
    text_update,
    voice_update,
)

CHAT_ID = 5_551_234


def parse(data: dict[str, Any]) -> Update:
    # de_json only needs a Bot to attach; this one never makes a request.
    return Update.de_json(data, Bot(TEST_BOT_TOKEN))


def test_a_text_update() -> None:
    update = parse(text_update(CHAT_ID, "Hola, mi lavadora no centrifuga"))

    message = update.effective_message
    assert message is not None
    assert message.text == "Hola, mi lavadora no centrifuga"
    assert update.effective_chat is not None and update.effective_chat.id == CHAT_ID
    assert update.effective_user is not None
    assert update.effective_user.language_code == "es"


def test_ids_increase_and_can_be_pinned() -> None:
    first = text_update(CHAT_ID, "uno")
    second = text_update(CHAT_ID, "dos")
    pinned = text_update(CHAT_ID, "otra vez", update_id=7, message_id=3)

    assert second["update_id"] > first["update_id"]
    assert second["message"]["message_id"] > first["message"]["message_id"]
    assert (pinned["update_id"], pinned["message"]["message_id"]) == (7, 3)


def test_a_start_deep_link_is_a_bot_command_with_its_payload() -> None:
    update = parse(start_update(CHAT_ID, "ticket-W-1042"))

    message = update.effective_message
    assert message is not None and message.text == "/start ticket-W-1042"
    commands = message.parse_entities([MessageEntity.BOT_COMMAND])
    assert list(commands.values()) == ["/start"]


def test_a_button_press() -> None:
    update = parse(callback_update(CHAT_ID, "warranty:yes", message_id=12))

    query = update.callback_query
    assert query is not None
    assert query.data == "warranty:yes"
    assert query.from_user.id == CHAT_ID
    assert query.message is not None and query.message.message_id == 12
    assert update.effective_chat is not None and update.effective_chat.id == CHAT_ID


def test_a_photo_lists_its_sizes_largest_last() -> None:
    update = parse(photo_update(CHAT_ID, "AgACAgQ-photo", caption="La etiqueta"))

    message = update.effective_message
    assert message is not None
    assert message.photo[-1].file_id == "AgACAgQ-photo"
    assert message.photo[-1].width == max(size.width for size in message.photo)
    assert message.caption == "La etiqueta"


def test_a_shared_contact() -> None:
    update = parse(contact_update(CHAT_ID, "34600111222", user_id=CHAT_ID))

    message = update.effective_message
    assert message is not None and message.contact is not None
    assert message.contact.phone_number == "34600111222"
    assert message.contact.user_id == CHAT_ID


def test_an_edited_message() -> None:
    update = parse(edited_update(CHAT_ID, message_id=40, text="Número: SN123"))

    assert update.message is None
    assert update.edited_message is not None
    assert update.edited_message.text == "Número: SN123"
    assert update.edited_message.message_id == 40


def test_a_sticker_a_voice_note_and_a_location(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Voice.duration warns (PTBDeprecationWarning) unless PTB_TIMEDELTA is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")

    sticker = parse(sticker_update(CHAT_ID, emoji="👍")).effective_message
    voice = parse(voice_update(CHAT_ID, "AwACAgQ-voice", duration=4)).effective_message
    location = parse(location_update(CHAT_ID, 41.3874, 2.1686)).effective_message

    assert sticker is not None and sticker.sticker is not None
    assert sticker.sticker.emoji == "👍"
    assert voice is not None and voice.voice is not None
    assert voice.voice.file_id == "AwACAgQ-voice"
    assert voice.voice.duration == dtm.timedelta(seconds=4)
    assert location is not None and location.location is not None
    assert (location.location.latitude, location.location.longitude) == (
        41.3874,
        2.1686,
    )
