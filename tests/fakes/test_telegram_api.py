"""The real python-telegram-bot ``Bot`` against the fake, as the product will use it."""

import asyncio
import datetime as dtm
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import FakeTelegram

CHAT_ID = 5_551_234
T = TypeVar("T")


def with_bot(
    fake: FakeTelegram, scenario: Callable[[Bot], Awaitable[T]], token: str = ""
) -> T:
    """Run ``scenario`` with an initialized Bot whose API is the fake."""

    async def run() -> T:
        bot = Bot(
            token or fake.token, base_url=fake.api_url, base_file_url=fake.file_url
        )
        async with bot:
            return await scenario(bot)

    return asyncio.run(run())


def test_initialize_asks_for_the_bot_itself(fake_telegram: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> str:
        return bot.username

    assert with_bot(fake_telegram, scenario) == "ipsm_test_bot"
    assert [call.method for call in fake_telegram.calls()] == ["getMe"]


def test_an_unknown_token_is_refused(fake_telegram: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        return None

    # PTB rewords the 401 "Unauthorized" of getMe when it initializes.
    with pytest.raises(InvalidToken, match="rejected by the server"):
        with_bot(fake_telegram, scenario, token="42:AnotherBotsToken")


def test_a_message_with_buttons_comes_back_as_telegram_sends_it(
    fake_telegram: FakeTelegram,
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="yes")]])

    async def scenario(bot: Bot) -> None:
        first = await bot.send_message(
            CHAT_ID, "¿Abrimos la garantía?", reply_markup=keyboard
        )
        second = await bot.send_message(CHAT_ID, "Gracias", parse_mode="HTML")
        assert first.reply_markup == keyboard
        assert first.from_user is not None and first.from_user.is_bot
        assert second.message_id == first.message_id + 1

    with_bot(fake_telegram, scenario)

    first, second = fake_telegram.wait_for_messages(CHAT_ID, count=2, timeout=1)
    assert first["text"] == "¿Abrimos la garantía?"
    assert first["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    [call, _] = fake_telegram.calls("sendmessage")
    assert call.params["chat_id"] == CHAT_ID
    assert fake_telegram.calls("sendMessage")[1].params["parse_mode"] == "HTML"


def test_buttons_are_removed_and_the_press_answered(
    fake_telegram: FakeTelegram,
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="y")]])

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(CHAT_ID, "¿Seguro?", reply_markup=keyboard)
        assert await bot.answer_callback_query("4000000001", text="Hecho")
        await bot.edit_message_reply_markup(CHAT_ID, sent.message_id)
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_reply_markup(CHAT_ID, sent.message_id)

    with_bot(fake_telegram, scenario)

    [message] = fake_telegram.sent_messages(CHAT_ID)
    assert "reply_markup" not in message


def test_a_registered_file_is_downloaded(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_file("AgACAgQ-photo", b"\xff\xd8jpeg", file_unique_id="AQADphoto")

    async def scenario(bot: Bot) -> bytearray:
        file = await bot.get_file("AgACAgQ-photo")
        assert file.file_unique_id == "AQADphoto"
        return await file.download_as_bytearray()

    assert with_bot(fake_telegram, scenario) == bytearray(b"\xff\xd8jpeg")
    assert fake_telegram.downloads("AgACAgQ-photo") == 1


def test_an_unknown_file_id_is_a_bad_request(fake_telegram: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.get_file("nope")

    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        with_bot(fake_telegram, scenario)


def test_flood_control_raises_retry_after(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22.8 reads RetryAfter.retry_after inside its own constructor; unless
    # PTB_TIMEDELTA is set that emits PTBDeprecationWarning, which pytest turns
    # into an error in place of the RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")

    async def scenario(bot: Bot) -> None:
        fake_telegram.rate_limit_next(retry_after=3, count=1)
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(CHAT_ID, "Hola")
        assert raised.value.retry_after == dtm.timedelta(seconds=3)
        await bot.send_message(CHAT_ID, "Hola otra vez")

    with_bot(fake_telegram, scenario)

    assert [m["text"] for m in fake_telegram.sent_messages(CHAT_ID)] == [
        "Hola otra vez"
    ]


def test_without_ptb_timedelta_retry_after_is_an_int_and_warns(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)

    async def scenario(bot: Bot) -> None:
        fake_telegram.rate_limit_next(retry_after=2)
        with (
            pytest.warns(PTBDeprecationWarning, match="retry_after"),
            pytest.raises(RetryAfter) as raised,
        ):
            await bot.send_message(CHAT_ID, "Hola")
        with pytest.warns(PTBDeprecationWarning):
            assert raised.value.retry_after == 2

    with_bot(fake_telegram, scenario)


def test_a_blocked_chat_is_forbidden(fake_telegram: FakeTelegram) -> None:
    fake_telegram.block(CHAT_ID)

    async def scenario(bot: Bot) -> None:
        await bot.send_message(CHAT_ID, "Hola")

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        with_bot(fake_telegram, scenario)


def test_a_text_over_4096_characters_is_a_bad_request(
    fake_telegram: FakeTelegram,
) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.send_message(CHAT_ID, "a" * 4097)

    # PTB drops Telegram's "Bad Request: " prefix and capitalizes the rest.
    with pytest.raises(BadRequest, match="^Message is too long$"):
        with_bot(fake_telegram, scenario)


def test_the_webhook_is_set_and_deleted(fake_telegram: FakeTelegram) -> None:
    url = "https://ipsm.example.test/channels/telegram"

    async def scenario(bot: Bot) -> None:
        await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
        assert fake_telegram.webhook is not None
        assert fake_telegram.webhook["secret_token"] == "s3cret"
        assert fake_telegram.webhook["allowed_updates"] == ["message"]
        assert (await bot.get_webhook_info()).url == url
        await bot.delete_webhook()

    with_bot(fake_telegram, scenario)

    assert fake_telegram.webhook is None


def test_method_names_ignore_case_and_bodies_may_be_json_or_form(
    fake_telegram: FakeTelegram,
) -> None:
    api = f"{fake_telegram.api_url}{fake_telegram.token}"

    as_json = httpx.post(f"{api}/SENDMESSAGE", json={"chat_id": 7, "text": "json"})
    as_form = httpx.post(f"{api}/sendmessage", data={"chat_id": "7", "text": "form"})
    as_multipart = httpx.post(
        f"{api}/sendMessage",
        data={"chat_id": "7", "text": "multipart"},
        files={"unused": ("a.txt", b"x")},
    )
    unknown = httpx.post(f"{api}/sendTelepathy", json={})

    assert [r.json()["ok"] for r in (as_json, as_form, as_multipart)] == [True] * 3
    texts = [message["text"] for message in fake_telegram.sent_messages(7)]
    assert texts == ["json", "form", "multipart"]
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
