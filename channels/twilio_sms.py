"""SMS through Twilio: the inbound webhook and the REST API for replies.

Twilio posts each SMS (or MMS) form-encoded and signs it with the account's
auth token over the public URL it called. The webhook checks the signature,
stores the message and answers at once with an empty TwiML document; the
replies go out later through the Messages API, so a slow turn never runs into
Twilio's 15-second limit.
"""

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from channels.text_shaping import guess_language, sms_text, split_sms
from crm_bridge.core.config import Settings

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio accepts 1,600 characters per message; a person's longer text is
# kept but not given to the dialogue engine (see InboundMessage.kind).
MAX_TURN_TEXT = 1600
MAX_MEDIA_BYTES = 10 * 1024 * 1024
MEDIA_SECONDS = 30.0
# Messages per second through one number; Twilio queues beyond its own rate,
# this keeps our queue, not Twilio's, in charge of order.
SMS_PER_SECOND = 10.0
# Twilio's standard opt-out, opt-in and help keywords, and the Spanish words
# people use for the same ("baja", "alta", "ayuda" alone).
OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAJA", "PARAR"}
OPT_IN = {"START", "UNSTOP", "YES", "ALTA", "REANUDAR"}
HELP = {"HELP", "INFO", "AYUDA"}
# Twilio error codes that mean "never deliver to this number".
UNREACHABLE_CODES = {21211, 21408, 21610, 21612, 21614}
OPTED_OUT_CODE = 21610

router = APIRouter(tags=["channels"])


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called, as Twilio saw it (behind a proxy or a tunnel)."""
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{request.url.path}"
    if request.url.query:
        url = f"{url}?{request.url.query}"
    return url


async def signed_form(request: Request) -> dict[str, str]:
    """The request's form fields, once the Twilio signature is checked.

    Raises:
        HTTPException: 403 for a missing or wrong signature, 400 for a body
            that is not a form.
    """
    settings: Settings = request.app.state.settings
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        async with request.form() as form:
            params = {key: str(value) for key, value in form.items()}
    except Exception as error:  # noqa: BLE001 - any parse failure is the sender's
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the body is not a form"
        ) from error
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not signature or not validator.validate(
        public_url(settings, request), params, signature
    ):
        logger.warning("twilio webhook %s: bad signature", request.url.path)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid Twilio signature")
    return params


def require(params: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"missing fields: {', '.join(missing)}"
        )


def twilio_client(settings: Settings) -> Client:
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = settings.TWILIO_API_BASE_URL.rstrip("/")
    return client


def conversation_id_for(phone: str) -> str:
    return "sms-" + re.sub(r"\D", "", phone)


# The keywords' own language, for the answer to a first message "STOP".
SPANISH_KEYWORDS = {"BAJA", "PARAR", "ALTA", "REANUDAR", "AYUDA"}


def keyword_language(body: str) -> str:
    return "es" if body.strip().upper().rstrip(".!") in SPANISH_KEYWORDS else "en"


def classify(body: str, num_media: int) -> str:
    keyword = body.strip().upper().rstrip(".!")
    if keyword in OPT_OUT:
        return "opt_out"
    if keyword in OPT_IN:
        return "opt_in"
    if keyword in HELP:
        return "help"
    if len(body) > MAX_TURN_TEXT:
        return "too_long"
    if num_media:
        return "photo"
    return "text"


class TwilioSms:
    """Sends replies as SMS through Twilio's Messages API."""

    name = "sms"
    inline = False
    joins_replies = True

    def __init__(self, settings: Settings, coordinator: Coordinator) -> None:
        self._settings = settings
        self._client = twilio_client(settings)
        self._coordinator = coordinator

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        language = guess_language(" ".join(reply.text for reply in replies))
        sids = []
        for part in split_sms(sms_text(replies, language)):
            await self._coordinator.throttle(
                f"sms:{self._settings.TWILIO_PHONE_NUMBER}", 1 / SMS_PER_SECOND
            )
            sids.append(await run_in_threadpool(self._create, address, part))
        return sids

    def _create(self, address: str, body: str) -> str:
        try:
            message = self._client.messages.create(
                to=address, from_=self._settings.TWILIO_PHONE_NUMBER, body=body
            )
        except TwilioRestException as error:
            if error.code in UNREACHABLE_CODES:
                raise RecipientUnreachableError(
                    f"Twilio refused {address}: {error.code} {error.msg}",
                    opted_out=error.code == OPTED_OUT_CODE,
                ) from error
            raise DeliveryError(
                f"Twilio answered {error.status}: {error.code} {error.msg}"
            ) from error
        except (TwilioException, OSError) as error:
            raise DeliveryError(f"Twilio unreachable: {error!r}") from error
        return str(message.sid)

    async def fetch_media(self, source: str) -> NewAttachment:
        """Downloads an MMS file: at most 10 MB in at most 30 seconds.

        The account's credentials go only to Twilio's own host (media URLs
        redirect from there to storage, which needs none).
        """
        return await asyncio.wait_for(self._download(source), MEDIA_SECONDS)

    async def _download(self, source: str) -> NewAttachment:
        auth = None
        if (
            urlsplit(source).hostname
            == urlsplit(self._settings.TWILIO_API_BASE_URL).hostname
        ):
            auth = (self._settings.TWILIO_ACCOUNT_SID, self._settings.TWILIO_AUTH_TOKEN)
        content = bytearray()
        async with (
            httpx.AsyncClient(auth=auth, follow_redirects=True, timeout=20) as client,
            client.stream("GET", source) as answer,
        ):
            answer.raise_for_status()
            async for chunk in answer.aiter_bytes():
                content.extend(chunk)
                if len(content) > MAX_MEDIA_BYTES:
                    raise ValueError(f"{source}: larger than {MAX_MEDIA_BYTES} bytes")
            content_type = answer.headers.get("content-type", "").split(";")[0]
        extension = content_type.rsplit("/", 1)[-1] if "/" in content_type else "bin"
        return NewAttachment(
            content=bytes(content),
            content_type=content_type,
            filename=f"mms-{source.rstrip('/').rsplit('/', 1)[-1]}.{extension}",
        )


@router.post("/channels/twilio/sms", include_in_schema=True)
async def receive_sms(request: Request) -> Response:
    """Twilio's "A message comes in" webhook for the assistant's number.

    403 without a valid `X-Twilio-Signature`; the message is stored before the
    answer (an empty TwiML document) and answered by SMS afterwards. A message
    Twilio delivers again (same `MessageSid`) changes nothing.
    """
    params = await signed_form(request)
    require(params, "MessageSid", "From")
    gateway: Gateway = request.app.state.gateway
    body = params.get("Body", "")
    num_media = _int(params.get("NumMedia"))
    media = tuple(
        MediaRef(
            source=params[f"MediaUrl{index}"],
            content_type=params.get(f"MediaContentType{index}", ""),
        )
        for index in range(min(num_media, 10))
        if params.get(f"MediaUrl{index}")
    )
    sender = params["From"]
    kind = classify(body, len(media))
    await gateway.receive(
        InboundMessage(
            channel="sms",
            conversation_id=conversation_id_for(sender),
            address=sender,
            sender=sender,
            platform_message_id=params["MessageSid"],
            text=body,
            kind=kind,
            media=media,
            sender_phone=sender,
            language_hint=(
                keyword_language(body)
                if kind in ("opt_out", "opt_in", "help")
                else None
            ),
        )
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def install(app: FastAPI) -> None:
    app.state.gateway.add_adapter(
        TwilioSms(app.state.settings, app.state.gateway.coordinator)
    )
    app.include_router(router)
