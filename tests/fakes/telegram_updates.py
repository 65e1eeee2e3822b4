"""Build Update objects as the Bot API POSTs them to our webhook.

Shapes follow https://core.telegram.org/bots/api#update: private chats, where
the chat id equals the user id. ``update_id`` and ``message_id`` increase across
calls, as Telegram's do, so deduplication by ``update_id`` can be tested.
"""

import itertools
import time
from typing import Any

from tests.fakes.telegram_api import TEST_BOT_ID

_update_ids = itertools.count(700_000_001)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(4_000_000_000_000_000_001)

BOT_USER = {
    "id": TEST_BOT_ID,
    "is_bot": True,
    "first_name": "iPSM Assistant",
    "username": "ipsm_test_bot",
}


def make_user(
    user_id: int, first_name: str = "Ana", language_code: str = "es"
) -> dict[str, Any]:
    """A person writing to the bot."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "username": f"user{user_id}",
        "language_code": language_code,
    }


def _message(
    chat_id: int,
    *,
    sender: dict[str, Any] | None = None,
    message_id: int | None = None,
    language_code: str = "es",
    **content: Any,
) -> dict[str, Any]:
    """A message in the private chat with ``chat_id``, by the person by default."""
    person = make_user(chat_id, language_code=language_code)
    return {
        "message_id": message_id or next(_message_ids),
        "from": sender or person,
        "chat": {
            "id": chat_id,
            "first_name": person["first_name"],
            "username": person["username"],
            "type": "private",
        },
        "date": int(time.time()),
        **content,
    }


def _update(update_id: int | None, **content: Any) -> dict[str, Any]:
    return {"update_id": update_id or next(_update_ids), **content}


def text_update(
    chat_id: int,
    text: str,
    update_id: int | None = None,
    message_id: int | None = None,
    user: dict[str, Any] | None = None,
    language_code: str = "es",
) -> dict[str, Any]:
    """A text message; a leading ``/command`` gets its ``bot_command`` entity."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        ]
    message = _message(
        chat_id,
        sender=user,
        message_id=message_id,
        language_code=language_code,
        **content,
    )
    return _update(update_id, message=message)


def start_update(chat_id: int, payload: str | None = None) -> dict[str, Any]:
    """``/start`` from a deep link ``t.me/<bot>?start=<payload>``."""
    text = "/start" if payload is None else f"/start {payload}"
    return text_update(chat_id, text)


def callback_update(
    chat_id: int,
    data: str,
    message_id: int,
    *,
    message_text: str = "¿Qué necesitas?",
    update_id: int | None = None,
) -> dict[str, Any]:
    """A press on an inline button of the bot's message ``message_id``."""
    message = _message(
        chat_id, sender=BOT_USER, message_id=message_id, text=message_text
    )
    query = {
        "id": str(next(_callback_ids)),
        "from": make_user(chat_id),
        "message": message,
        "chat_instance": f"-{chat_id}000",
        "data": data,
    }
    return _update(update_id, callback_query=query)


def photo_update(
    chat_id: int, file_id: str, caption: str | None = None
) -> dict[str, Any]:
    """A photo: Telegram sends several sizes, the largest last, with ``file_id``.

    The smaller sizes get ids derived from ``file_id``, as each size is its
    own file on Telegram.
    """
    sizes = [(90, 68), (320, 240), (800, 600), (1280, 960)]
    photo = [
        {
            "file_id": file_id if index == len(sizes) - 1 else f"{file_id}-{width}",
            "file_unique_id": f"unique-{file_id}-{width}",
            "width": width,
            "height": height,
            "file_size": width * height // 8,
        }
        for index, (width, height) in enumerate(sizes)
    ]
    content: dict[str, Any] = {"photo": photo}
    if caption is not None:
        content["caption"] = caption
    return _update(None, message=_message(chat_id, **content))


def contact_update(
    chat_id: int, phone_number: str, user_id: int | None = None
) -> dict[str, Any]:
    """A shared contact; ``user_id`` equals ``chat_id`` when it is the person's own.

    Telegram sends the number as the phone has it, often without ``+``.
    """
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": "Ana"}
    if user_id is not None:
        contact["user_id"] = user_id
    return _update(None, message=_message(chat_id, contact=contact))


def edited_update(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    """The person edited their earlier message ``message_id``."""
    message = _message(chat_id, message_id=message_id, text=text)
    message["edit_date"] = message["date"]
    return _update(None, edited_message=message)


def sticker_update(
    chat_id: int, file_id: str = "CAACAgIAAxkBAAIBsticker", emoji: str = "👍"
) -> dict[str, Any]:
    """A static sticker."""
    sticker = {
        "file_id": file_id,
        "file_unique_id": f"unique-{file_id}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "ipsm_test_stickers",
        "file_size": 23_456,
    }
    return _update(None, message=_message(chat_id, sticker=sticker))


def voice_update(
    chat_id: int, file_id: str = "AwACAgQAAxkBAAIBvoice", duration: int = 4
) -> dict[str, Any]:
    """A voice note (OGG/Opus), ``duration`` in seconds."""
    voice = {
        "file_id": file_id,
        "file_unique_id": f"unique-{file_id}",
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": duration * 4_000,
    }
    return _update(None, message=_message(chat_id, voice=voice))


def location_update(
    chat_id: int, latitude: float = 40.4168, longitude: float = -3.7038
) -> dict[str, Any]:
    """A shared location (defaults to Madrid)."""
    location = {"latitude": latitude, "longitude": longitude}
    return _update(None, message=_message(chat_id, location=location))


def _utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units, not characters."""
    return len(text.encode("utf-16-le")) // 2
