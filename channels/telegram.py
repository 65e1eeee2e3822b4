"""Telegram through python-telegram-bot: the webhook and the Bot API for replies.

Telegram posts each update as JSON with the secret token chosen when the
webhook was set; anything without it is refused. Updates are parsed with the
library, stored, and acknowledged at once; replies go out with the library's
`Bot`, split at Telegram's 4,096 characters, paced per chat and overall, and
retried after the time a 429 asks for. A person who blocked the bot is
marked unreachable and not tried again.
"""

import asyncio
import hmac
import json
import logging
import mimetypes
import os
from typing import Any

# Durations (RetryAfter.retry_after) as timedelta, the library's future
# default; without it, reading one warns of the deprecation.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from channels.coordination import Coordinator
from channels.gateway import (
    DeliveryError,
    Gateway,
    InboundMessage,
    MediaRef,
    RecipientUnreachableError,
)
from channels.log import NewAttachment
from channels.rasa_client import Reply
from channels.text_shaping import split_telegram
from crm_bridge.core.config import Settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's own limits: about one message a second in a chat, thirty a
# second overall, 64 bytes of callback data.
PER_CHAT_INTERVAL = 1.0
GLOBAL_INTERVAL = 1 / 30
CALLBACK_DATA_BYTES = 64
MAX_RETRY_AFTER_ATTEMPTS = 3
MAX_TURN_TEXT = 2000
# Bots may download files of up to 20 MB; the photos people send are far
# smaller, and a case needs no more.
MAX_MEDIA_BYTES = 10 * 1024 * 1024
MEDIA_SECONDS = 30.0
# Deep links (t.me/<bot>?start=<payload>) printed on warranty cards and in
# shops: every one opens with the greeting, which asks what is wrong; the
# payload names the language of the card ("en", "es") or a campaign, kept
# in the log.
START_LANGUAGES = {"es": "es", "en": "en", "garantia": "es", "warranty": "en"}

# Update fields that carry something a person sent.
PERSON_CONTENT = {"message", "edited_message", "callback_query"}

router = APIRouter(tags=["channels"])


def make_bot(settings: Settings) -> Bot:
    base = settings.TELEGRAM_API_BASE_URL.rstrip("/")
    return Bot(
        settings.TELEGRAM_BOT_TOKEN,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
    )


def _retry_seconds(error: RetryAfter) -> float:
    retry_after: Any = error.retry_after
    if hasattr(retry_after, "total_seconds"):
        return float(retry_after.total_seconds())
    return float(retry_after)


class TelegramChannel:
    """Sends replies with the Bot API; fetches the photos people send."""

    name = "telegram"
    inline = False
    joins_replies = False

    def __init__(self, bot: Bot, coordinator: Coordinator) -> None:
        self.bot = bot
        self._coordinator = coordinator

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        ids: list[str] = []
        for reply in replies:
            parts = split_telegram(reply.text) or [reply.text]
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                markup = _keyboard(reply.buttons) if last and reply.buttons else None
                ids.append(await self._send_one(address, part, markup))
        return ids

    async def _send_one(
        self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None
    ) -> str:
        for attempt in range(1, MAX_RETRY_AFTER_ATTEMPTS + 1):
            await self._coordinator.throttle(
                f"telegram:chat:{chat_id}", PER_CHAT_INTERVAL
            )
            await self._coordinator.throttle("telegram:global", GLOBAL_INTERVAL)
            try:
                message = await self.bot.send_message(
                    chat_id=chat_id, text=text, reply_markup=markup
                )
            except RetryAfter as error:
                wait = _retry_seconds(error)
                logger.warning(
                    "telegram asks to wait %.1f s before chat %s (attempt %s)",
                    wait,
                    chat_id,
                    attempt,
                )
                await asyncio.sleep(wait)
                continue
            except Forbidden as error:
                raise RecipientUnreachableError(
                    f"telegram chat {chat_id}: {error.message}"
                ) from error
            except BadRequest as error:
                if "chat not found" in error.message.lower():
                    raise RecipientUnreachableError(
                        f"telegram chat {chat_id}: {error.message}"
                    ) from error
                raise DeliveryError(f"telegram refused: {error.message}") from error
            except TelegramError as error:
                raise DeliveryError(f"telegram failed: {error!r}") from error
            return str(message.message_id)
        raise DeliveryError(f"telegram kept rate-limiting chat {chat_id}")

    async def fetch_media(self, source: str) -> NewAttachment:
        file = await self.bot.get_file(source)
        if file.file_size and file.file_size > MAX_MEDIA_BYTES:
            raise ValueError(f"telegram file of {file.file_size} bytes is too large")
        content = bytes(
            await asyncio.wait_for(file.download_as_bytearray(), MEDIA_SECONDS)
        )
        path = file.file_path or ""
        filename = path.rsplit("/", 1)[-1] or f"{file.file_unique_id}.jpg"
        content_type = mimetypes.guess_type(filename)[0] or "image/jpeg"
        return NewAttachment(
            content=content, content_type=content_type, filename=filename
        )


def _keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(
            button["title"],
            callback_data=button["payload"]
            .encode()[:CALLBACK_DATA_BYTES]
            .decode(errors="ignore"),
        )
        for button in buttons
    ]
    # Two or three short answers side by side, longer lists one per row.
    if len(row) <= 3 and all(len(button["title"]) <= 16 for button in buttons):
        return InlineKeyboardMarkup([row])
    return InlineKeyboardMarkup([[button] for button in row])


def _language(code: str | None) -> str | None:
    language = (code or "")[:2].lower()
    return language if language in ("es", "en") else None


def _inbound(update: Update) -> InboundMessage | None:
    """The gateway's view of an update; None for updates that need no answer."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        if chat is None or not query.data:
            return None
        return InboundMessage(
            channel="telegram",
            conversation_id=f"telegram-{chat.id}",
            address=str(chat.id),
            sender=str(query.from_user.id),
            platform_message_id=f"update-{update.update_id}",
            text=query.data,
            kind="callback" if chat.type == "private" else "group_chat",
            language_hint=_language(query.from_user.language_code),
            sender_name=query.from_user.full_name,
        )
    message = update.message or update.edited_message
    if message is None:
        return None
    return _from_message(update, message, edited=update.edited_message is not None)


def _from_message(update: Update, message: Message, edited: bool) -> InboundMessage:
    user = message.from_user
    text = message.text or message.caption or ""
    kind = "edited" if edited else "text"
    language = _language(user.language_code if user else None)
    media: tuple[MediaRef, ...] = ()
    if message.chat.type != "private":
        # A group mixes people: whose claim, whose phone? The bot answers
        # in private chats only, and says so.
        kind = "group_chat"
    elif message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        media = (MediaRef(source=largest.file_id, content_type="image/jpeg"),)
        kind = "photo"
    elif message.document and (message.document.mime_type or "").startswith("image/"):
        media = (
            MediaRef(
                source=message.document.file_id,
                content_type=message.document.mime_type or "",
                filename=message.document.file_name or "",
            ),
        )
        kind = "photo"
    elif message.contact is not None:
        own = user is not None and message.contact.user_id == user.id
        kind = "contact" if own else "contact_other"
        text = message.contact.phone_number
    elif text.startswith("/start"):
        payload = text.removeprefix("/start").strip().lower()
        language = START_LANGUAGES.get(payload, language)
        logger.info("telegram chat %s started from link %r", message.chat.id, payload)
        text = "/greet"
        kind = "command"
    elif not text:
        # Stickers, voice notes, locations, polls…: answered politely.
        kind = "unsupported"
    elif len(text) > MAX_TURN_TEXT:
        kind = "too_long"
    return InboundMessage(
        channel="telegram",
        conversation_id=f"telegram-{message.chat.id}",
        address=str(message.chat.id),
        sender=str(user.id if user else message.chat.id),
        platform_message_id=f"update-{update.update_id}",
        text=text,
        kind=kind,
        media=media,
        language_hint=language,
        sender_name=user.full_name if user else None,
        sender_phone=message.contact.phone_number if kind == "contact" else None,
    )


@router.post("/channels/telegram/webhook")
async def receive_update(request: Request) -> Response:
    """Telegram's webhook: one update per request.

    403 without the secret token set with `setWebhook`; 400 for a body that
    is not an update. Updates the assistant does not act on (a member change,
    a poll) are acknowledged so Telegram does not send them again.
    """
    settings: Settings = request.app.state.settings
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(
        given.encode(), settings.TELEGRAM_WEBHOOK_SECRET.encode()
    ):
        logger.warning("telegram webhook: wrong or missing secret token")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid secret token")
    try:
        data = json.loads(await request.body())
    except (ValueError, RecursionError) as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "not a Telegram update: the body is not JSON"
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "not a Telegram update: no update_id"
        )
    try:
        update = Update.de_json(data, request.app.state.telegram.bot)
    except Exception as error:  # noqa: BLE001 - the library's parse failures vary
        if not PERSON_CONTENT.intersection(data):
            # A member change or a poll the library cannot read: nothing a
            # person is waiting for. Acknowledged, or Telegram resends it.
            logger.warning(
                "telegram update %s (%s) not readable, ignored: %s",
                data["update_id"],
                ", ".join(sorted(set(data) - {"update_id"})),
                error,
            )
            return Response(status_code=status.HTTP_200_OK)
        # A person's message that cannot be read: refused, so Telegram keeps
        # it and sends it again (after a fix) instead of it being lost.
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"not a Telegram update: {error}"
        ) from error

    gateway: Gateway = request.app.state.gateway
    channel: TelegramChannel = request.app.state.telegram
    if update.callback_query is not None:
        await _acknowledge(channel, update)
    if update.my_chat_member is not None:
        await _member_changed(gateway, update)
        return Response(status_code=status.HTTP_200_OK)
    inbound = _inbound(update)
    if inbound is None:
        logger.info("telegram update %s ignored: nothing to answer", update.update_id)
        return Response(status_code=status.HTTP_200_OK)
    await gateway.receive(inbound)
    return Response(status_code=status.HTTP_200_OK)


async def _acknowledge(channel: TelegramChannel, update: Update) -> None:
    """Stops the button's spinner and removes the keyboard it came from, so
    an old question cannot be answered twice."""
    query = update.callback_query
    assert query is not None
    try:
        await channel.bot.answer_callback_query(query.id)
        if query.message is not None:
            await channel.bot.edit_message_reply_markup(
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                reply_markup=None,
            )
    except TelegramError as error:
        # The answer still counts; only the cosmetics failed.
        logger.info("telegram callback %s: %s", query.id, error)


async def _member_changed(gateway: Gateway, update: Update) -> None:
    """The person blocked (or unblocked) the bot."""
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != "private":
        logger.info(
            "telegram chat %s (%s): membership changed, ignored",
            change.chat.id,
            change.chat.type,
        )
        return
    blocked = change.new_chat_member.status in ("kicked", "left")
    await run_in_threadpool(
        lambda: gateway.log.set_contact_flags(
            f"telegram-{change.chat.id}", unreachable=blocked
        )
    )
    logger.info(
        "telegram chat %s: bot %s", change.chat.id, "blocked" if blocked else "allowed"
    )


async def start(app: FastAPI) -> None:
    channel: TelegramChannel = app.state.telegram
    try:
        await channel.bot.initialize()
    except TelegramError as error:
        # The webhook still stores messages; replies wait for the API.
        logger.error("telegram bot could not start: %s", error)


async def stop(app: FastAPI) -> None:
    channel: TelegramChannel = app.state.telegram
    try:
        await channel.bot.shutdown()
    except TelegramError as error:
        logger.info("telegram bot shutdown: %s", error)


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    gateway: Gateway = app.state.gateway
    channel = TelegramChannel(make_bot(settings), gateway.coordinator)
    app.state.telegram = channel
    gateway.add_adapter(channel)
    app.include_router(router)
