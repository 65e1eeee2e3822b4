"""A loopback fake of the Telegram Bot API subset the product uses.

Requests go to ``/bot{token}/{method}`` and file downloads to
``/file/bot{token}/{file_path}``, as on api.telegram.org, so a real
``telegram.Bot`` works against it once given ``base_url=fake.api_url`` and
``base_file_url=fake.file_url``. Answers and errors have the Bot API's shape:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}``.

Not faked: parse_mode is recorded but no entities are derived from it; only
private chats exist; no updates are ever pushed to the webhook that is set.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

TEST_BOT_TOKEN = "123456789:AAFakeTokenForIpsmAssistantTests0000"
TEST_BOT_ID = 123456789
MAX_TEXT_CHARS = 4096

# Form and multipart bodies carry every value as a string; Telegram decodes
# these fields as JSON, as PTB (which JSON-encodes them) expects.
JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
}
INT_FIELDS = {"message_id", "max_connections", "cache_time", "message_thread_id"}
BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification"}
# Methods that write to a chat, and so fail when the person blocked the bot.
CHAT_METHODS = {"sendmessage", "editmessagereplymarkup", "editmessagetext"}


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request, with its parameters decoded as Telegram would.

    ``method`` is spelled as the client sent it; Telegram ignores its case.
    """

    method: str
    params: dict[str, Any]
    called_at: datetime


@dataclass
class StoredFile:
    """A file the test registered, downloadable once ``getFile`` named it."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    downloads: int = 0


class BotApiError(Exception):
    """An error the Bot API answers with; becomes the JSON error body."""

    def __init__(
        self,
        error_code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return JSONResponse(body, status_code=self.error_code)


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn form values back into what the same call would have sent as JSON."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            params[key] = value
        elif key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS or (key == "chat_id" and value.lstrip("-").isdigit()):
            params[key] = int(value)
        elif key in BOOL_FIELDS:
            params[key] = value.lower() == "true"
        else:
            params[key] = value
    return params


class FakeTelegram:
    """Answers Bot API calls for one bot token and records them, thread-safely.

    Use ``running()`` to serve it::

        with FakeTelegram().running() as fake:
            bot = telegram.Bot(fake.token, base_url=fake.api_url,
                               base_file_url=fake.file_url)
    """

    def __init__(
        self,
        token: str = TEST_BOT_TOKEN,
        *,
        bot_id: int = TEST_BOT_ID,
        username: str = "ipsm_test_bot",
        first_name: str = "iPSM Assistant",
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.webhook: dict[str, Any] | None = None
        self._base_url: str | None = None
        self._calls: list[ApiCall] = []
        self._messages: dict[int, list[dict[str, Any]]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._blocked: set[int] = set()
        self._rate_limits: list[list[int]] = []
        self._changed = threading.Condition()

    @property
    def app(self) -> Starlette:
        """The ASGI app; serve it with ``running()`` or ``BackgroundServer``."""
        return Starlette(
            routes=[
                Route(
                    "/file/bot{token}/{file_path:path}",
                    self._download,
                    methods=["GET"],
                ),
                Route("/bot{token}/{method}", self._call, methods=["GET", "POST"]),
            ]
        )

    @contextmanager
    def running(self) -> Iterator["FakeTelegram"]:
        """Serve the fake on loopback; ``base_url`` is set inside the block."""
        with BackgroundServer(self.app) as server:
            self._base_url = server.base_url
            try:
                yield self
            finally:
                self._base_url = None

    @property
    def base_url(self) -> str:
        """Where the fake listens, e.g. ``http://127.0.0.1:41234``."""
        if self._base_url is None:
            raise RuntimeError("FakeTelegram is not running: use `with fake.running()`")
        return self._base_url

    @property
    def api_url(self) -> str:
        """``base_url`` for ``telegram.Bot``: PTB appends the token itself."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """``base_file_url`` for ``telegram.Bot``."""
        return f"{self.base_url}/file/bot"

    def add_file(
        self,
        file_id: str,
        content: bytes,
        *,
        file_unique_id: str | None = None,
        file_path: str | None = None,
    ) -> str:
        """Make ``getFile(file_id)`` succeed and the file downloadable.

        Returns:
            The ``file_path`` ``getFile`` will answer, e.g. ``photos/file_0.jpg``.
        """
        with self._changed:
            path = file_path or f"documents/file_{len(self._files)}"
            unique_id = file_unique_id or f"unique-{file_id}"
            self._files[file_id] = StoredFile(file_id, unique_id, path, content)
        return path

    def downloads(self, file_id: str) -> int:
        """How many times the file was downloaded."""
        with self._changed:
            return self._files[file_id].downloads

    def block(self, chat_id: int) -> None:
        """Answer 403 to messages for ``chat_id``, as if the person blocked the bot."""
        with self._changed:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Let messages to ``chat_id`` through again."""
        with self._changed:
            self._blocked.discard(chat_id)

    def rate_limit_next(self, retry_after: int = 1, count: int = 1) -> None:
        """Answer the next ``count`` calls, of any method, with 429 flood control."""
        with self._changed:
            self._rate_limits.append([retry_after, count])

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Recorded calls, oldest first; only of ``method`` if given (any case)."""
        with self._changed:
            if method is None:
                return list(self._calls)
            wanted = method.lower()
            return [call for call in self._calls if call.method.lower() == wanted]

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Message objects the bot sent to ``chat_id``, as last edited."""
        with self._changed:
            return list(self._messages.get(chat_id, []))

    def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until the bot sent ``count`` messages to ``chat_id``; return them.

        Raises:
            AssertionError: after ``timeout`` seconds, listing what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(sent := self.sent_messages(chat_id)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [message.get("text") for message in sent]
                    raise AssertionError(
                        f"expected {count} messages to chat {chat_id} within "
                        f"{timeout}s, got {len(sent)}: {texts!r}"
                    )
                self._changed.wait(remaining)
            return sent

    async def _call(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return BotApiError(401, "Unauthorized").response()

        name = request.path_params["method"]
        method = name.lower()
        params = await self._read_params(request)
        with self._changed:
            self._calls.append(ApiCall(name, params, datetime.now(timezone.utc)))
            self._changed.notify_all()
            try:
                self._check_limits(method, params)
                handler = self._handlers.get(method)
                if handler is None:
                    raise BotApiError(404, "Not Found")
                result = handler(self, params)
            except BotApiError as error:
                return error.response()
        return JSONResponse({"ok": True, "result": result})

    async def _read_params(self, request: Request) -> dict[str, Any]:
        """Parameters from the query string and a JSON, form or multipart body."""
        params: dict[str, Any] = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            params.update(await request.json())
        elif content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            # Uploads are recorded by file name: no fake method needs their bytes.
            async with request.form() as form:
                for key, value in form.multi_items():
                    is_upload = isinstance(value, UploadFile)
                    params[key] = value.filename if is_upload else value
        return decode_params(params)

    def _check_limits(self, method: str, params: dict[str, Any]) -> None:
        """Flood control first, then blocked chats, as Telegram orders them."""
        if self._rate_limits:
            limit = self._rate_limits[0]
            retry_after, limit[1] = limit[0], limit[1] - 1
            if limit[1] <= 0:
                self._rate_limits.pop(0)
            raise BotApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if method in CHAT_METHODS and params.get("chat_id") in self._blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _required(params, "chat_id")
        text = str(params.get("text", ""))
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise BotApiError(400, "Bad Request: message is too long")

        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        # Telegram echoes only inline keyboards; reply keyboards live in the app.
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages.setdefault(chat_id, []).append(message)
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _required(params, "chat_id")
        message_id = _required(params, "message_id")
        sent = self._messages.get(chat_id, [])
        message = next((m for m in sent if m["message_id"] == message_id), None)
        if message is None:
            raise BotApiError(400, "Bad Request: message to edit not found")

        markup = params.get("reply_markup")
        if markup == message.get("reply_markup"):
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        _required(params, "callback_query_id")
        return True

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(_required(params, "file_id")))
        if stored is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": _required(params, "url"), **params}
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    _handlers: ClassVar[dict[str, Callable[["FakeTelegram", dict[str, Any]], Any]]] = {
        "getme": _get_me,
        "sendmessage": _send_message,
        "editmessagereplymarkup": _edit_message_reply_markup,
        "answercallbackquery": _answer_callback_query,
        "getfile": _get_file,
        "setwebhook": _set_webhook,
        "deletewebhook": _delete_webhook,
        "getwebhookinfo": _get_webhook_info,
    }

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return BotApiError(401, "Unauthorized").response()

        file_path = request.path_params["file_path"]
        with self._changed:
            stored = next(
                (f for f in self._files.values() if f.file_path == file_path), None
            )
            if stored is None:
                return BotApiError(404, "Not Found").response()
            stored.downloads += 1
            self._changed.notify_all()
        return Response(stored.content, media_type="application/octet-stream")


def _required(params: dict[str, Any], name: str) -> Any:
    """A required parameter, or the 400 Telegram answers without it."""
    if params.get(name) in (None, ""):
        raise BotApiError(400, f"Bad Request: {name} is empty")
    return params[name]
