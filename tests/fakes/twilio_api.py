"""A loopback fake of the Twilio REST API subset the product uses.

It answers the real ``twilio`` client: send a message, update a live call. It
also serves media files, so an MMS webhook built by ``twilio_webhooks`` can carry
a ``MediaUrl0`` our code really downloads. Errors have Twilio's legacy JSON shape
(``code``, ``message``, ``more_info``, ``status``), which the client turns into
``TwilioRestException`` with ``status`` and ``code`` set.

Point a client at it::

    with FakeTwilio().running() as fake:
        client = fake.client()  # or Client(sid, token); client.api.base_url = ...

Not faked: status callbacks are recorded, never called back; message and call
resources cannot be fetched or listed.
"""

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.rest import Client

from tests.fakes.server import BackgroundServer
from tests.fakes.twilio_webhooks import (
    API_VERSION,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    new_sid,
)

ERROR_TITLES = {
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}
UNSUBSCRIBED = (21610, "Attempt to send to unsubscribed recipient")
MAX_BODY_CHARS = 1600

# GSM 03.38: a body made only of these fits 160 characters per SMS; anything
# else (á, í, ó, ú, emoji...) switches the whole message to UCS-2, 70 per SMS.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def count_segments(body: str) -> int:
    """How many SMS a body is billed as, before Twilio's Smart Encoding."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in body):
        units = sum(2 if char in GSM7_EXTENDED else 1 for char in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def _twilio_date(moment: datetime) -> str:
    """Twilio's RFC 2822 dates: ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    return format_datetime(moment)


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    """An error body as Twilio's REST API sends it."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass(frozen=True)
class SentMessage:
    """One message a client asked the fake to send."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    media_urls: tuple[str, ...]
    status_callback: str | None
    messaging_service_sid: str | None
    num_segments: int
    sent_at: datetime


@dataclass(frozen=True)
class CallUpdate:
    """One update of a live call: new TwiML, a redirect, or a hang-up."""

    call_sid: str
    twiml: str | None
    url: str | None
    method: str | None
    status: str | None
    updated_at: datetime


@dataclass
class Media:
    """A file served at ``/media/{name}``, and how many times it was fetched."""

    content: bytes
    content_type: str
    fetches: int = 0


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    remaining: int


class FakeTwilio:
    """Records what the product asks Twilio to do, and fails on demand.

    All methods are thread-safe: the server runs in its own thread while the
    test inspects the records.
    """

    def __init__(
        self, account_sid: str = TEST_ACCOUNT_SID, auth_token: str = TEST_AUTH_TOKEN
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._base_url: str | None = None
        self._messages: list[SentMessage] = []
        self._call_updates: list[CallUpdate] = []
        self._media: dict[str, Media] = {}
        self._unsubscribed: set[str] = set()
        self._failures: list[_Failure] = []
        # One lock for every record; waiters are woken on each change.
        self._changed = threading.Condition()

    @property
    def messages(self) -> list[SentMessage]:
        """Every message sent so far, oldest first (a copy)."""
        with self._changed:
            return list(self._messages)

    @property
    def call_updates(self) -> list[CallUpdate]:
        """Every call update so far, oldest first (a copy)."""
        with self._changed:
            return list(self._call_updates)

    @property
    def app(self) -> Starlette:
        """The ASGI app; serve it with ``running()`` or ``BackgroundServer``."""
        return Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account_sid}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route(
                    "/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json",
                    self._update_call,
                    methods=["POST"],
                ),
                Route("/media/{name}", self._read_media, methods=["GET"]),
            ]
        )

    @contextmanager
    def running(self) -> Iterator["FakeTwilio"]:
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
            raise RuntimeError("FakeTwilio is not running: use `with fake.running()`")
        return self._base_url

    def client(self, auth_token: str | None = None) -> Client:
        """A real ``twilio.rest.Client`` whose API requests go to this fake.

        ``edge`` and ``region`` are reset because, if set (also through
        ``TWILIO_EDGE`` / ``TWILIO_REGION``), the client rewrites the host name.
        """
        client = Client(self.account_sid, auth_token or self.auth_token)
        client.edge = None
        client.region = None
        client.api.base_url = self.base_url
        return client

    def add_media(
        self, name: str, content: bytes, content_type: str = "image/jpeg"
    ) -> str:
        """Serve ``content`` at ``/media/{name}`` and return its URL."""
        with self._changed:
            self._media[name] = Media(content, content_type)
        return f"{self.base_url}/media/{name}"

    def media_fetches(self, name: str) -> int:
        """How many times ``/media/{name}`` was downloaded."""
        with self._changed:
            return self._media[name].fetches

    def unsubscribe(self, number: str) -> None:
        """Make sends to ``number`` fail with 21610, as after the person texts STOP."""
        with self._changed:
            self._unsubscribed.add(number)

    def fail_next(
        self,
        status: int = 500,
        count: int = 1,
        *,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Fail the next ``count`` REST requests (messages or calls) with ``status``.

        The Twilio error code and message default to Twilio's for that status
        (429 → 20429 "Too Many Requests", 500 → 20500, 503 → 20503).
        """
        default_code, default_message = ERROR_TITLES.get(status, (status, "Error"))
        failure = _Failure(
            status, code or default_code, message or default_message, count
        )
        with self._changed:
            self._failures.append(failure)

    def messages_to(self, to: str) -> list[SentMessage]:
        """The messages sent to ``to`` so far, oldest first."""
        with self._changed:
            return [message for message in self._messages if message.to == to]

    def wait_for_messages(
        self, to: str, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Block until ``count`` messages were sent to ``to``; return them all.

        Raises:
            AssertionError: after ``timeout`` seconds, listing what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(sent := self.messages_to(to)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    bodies = [message.body for message in sent]
                    raise AssertionError(
                        f"expected {count} messages to {to} within {timeout}s, "
                        f"got {len(sent)}: {bodies!r}"
                    )
                self._changed.wait(remaining)
            return sent

    def _check_request(self, request: Request) -> JSONResponse | None:
        """The error Twilio would answer before looking at the body, if any."""
        if not self._authorized(request):
            code, message = ERROR_TITLES[401]
            return twilio_error(401, code, message)
        if request.path_params["account_sid"] != self.account_sid:
            code, message = ERROR_TITLES[404]
            return twilio_error(404, code, message)

        with self._changed:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
        return twilio_error(failure.status, failure.code, failure.message)

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return secrets.compare_digest(
            username.encode(), self.account_sid.encode()
        ) and secrets.compare_digest(password.encode(), self.auth_token.encode())

    async def _create_message(self, request: Request) -> Response:
        if error := self._check_request(request):
            return error

        form = await request.form()
        to = str(form.get("To", ""))
        from_ = form.get("From")
        service_sid = form.get("MessagingServiceSid")
        body = str(form.get("Body", ""))
        media_urls = tuple(str(url) for url in form.getlist("MediaUrl"))
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if from_ is None and service_sid is None:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not media_urls:
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            return twilio_error(
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            )

        with self._changed:
            if to in self._unsubscribed:
                return twilio_error(400, *UNSUBSCRIBED)
            callback = form.get("StatusCallback")
            message = SentMessage(
                sid=new_sid("MM" if media_urls else "SM"),
                account_sid=self.account_sid,
                to=to,
                from_=None if from_ is None else str(from_),
                body=body,
                media_urls=media_urls,
                status_callback=None if callback is None else str(callback),
                messaging_service_sid=None if service_sid is None else str(service_sid),
                num_segments=count_segments(body),
                sent_at=datetime.now(timezone.utc),
            )
            self._messages.append(message)
            self._changed.notify_all()
        return JSONResponse(self._message_resource(message), status_code=201)

    def _message_resource(self, message: SentMessage) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
        created = _twilio_date(message.sent_at)
        return {
            "account_sid": message.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": str(len(message.media_urls)),
            "num_segments": str(message.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "accepted" if message.from_ is None else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    async def _update_call(self, request: Request) -> Response:
        if error := self._check_request(request):
            return error

        form = await request.form()
        call_sid = request.path_params["call_sid"]
        values = {key: form.get(key) for key in ("Twiml", "Url", "Method", "Status")}
        update = CallUpdate(
            call_sid=call_sid,
            twiml=None if values["Twiml"] is None else str(values["Twiml"]),
            url=None if values["Url"] is None else str(values["Url"]),
            method=None if values["Method"] is None else str(values["Method"]),
            status=None if values["Status"] is None else str(values["Status"]),
            updated_at=datetime.now(timezone.utc),
        )
        with self._changed:
            self._call_updates.append(update)
            self._changed.notify_all()

        ended = update.status in ("completed", "canceled")
        now = _twilio_date(update.updated_at)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call_sid}.json"
        resource = {
            "sid": call_sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "direction": "inbound",
            "status": update.status if ended else "in-progress",
            "date_created": now,
            "date_updated": now,
            "uri": uri,
        }
        return JSONResponse(resource)

    async def _read_media(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._changed:
            media = self._media.get(name)
            if media is None:
                return twilio_error(404, *ERROR_TITLES[404])
            media.fetches += 1
            self._changed.notify_all()
        return Response(media.content, media_type=media.content_type)
