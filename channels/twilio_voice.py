"""Phone calls through Twilio Voice: TwiML with speech and keypad input.

A call is one conversation (``voice-<CallSid>``). Every answer of the caller
(speech or digits) comes to the gather webhook, becomes a turn, and the
replies are read out in a `<Gather>` that listens for the next answer. Each
gather carries a turn counter in its URL, so a request Twilio repeats maps to
the same message and gets the same answer, and the id of the message whose
replies the caller heard, so a key maps to the options that were read out.

Twilio hangs up on a webhook that takes 15 seconds; when a turn is slower
than `VOICE_TURN_WAIT_SECONDS`, the caller hears a short hold message and
Twilio is redirected to come back for the answer.
"""

import datetime as dt
import logging
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request, Response, status
from starlette.concurrency import run_in_threadpool
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.gateway import Gateway, InboundMessage, TurnTimeoutError
from channels.log import (
    ANSWERED,
    IGNORED,
    NEEDS_HUMAN,
    PROCESSING,
    QUEUED,
    WITH_AGENT,
    MessageIdReusedError,
)
from channels.notices import notice
from channels.rasa_client import RasaUnavailableError, Reply
from channels.text_shaping import dtmf_choice, guess_language, voice_text
from channels.twilio_sms import require, signed_form
from crm_bridge.core.config import Settings

logger = logging.getLogger(__name__)

SPEECH_LANGUAGES = {"es": "es-ES", "en": "en-US"}
# Below this, Twilio's transcript is more likely wrong than right.
MIN_SPEECH_CONFIDENCE = 0.4
# The caller is asked again once; the second miss offers a person; the
# third ends the call politely.
MISSES_BEFORE_HUMAN = 2
MISSES_BEFORE_GOODBYE = 3
# Redirects while waiting for one slow turn before giving up on it.
MAX_WAITS = 4
HUMAN_DIGIT = "0"
HUMAN_REQUEST = "/request_human"
CLOSED_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}

router = APIRouter(tags=["channels"])


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type="text/xml")


def _url(request: Request, path: str, **query: object) -> str:
    settings: Settings = request.app.state.settings
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"
    return f"{url}?{urlencode(query)}" if query else url


def _gather(
    request: Request,
    turn: int,
    language: str,
    say: str,
    misses: int,
    heard: int | None,
) -> VoiceResponse:
    """Says ``say`` while listening for the caller's next answer.

    ``heard`` is the message whose replies offered the options a key selects.
    """
    query: dict[str, object] = {"turn": turn, "misses": misses, "lang": language}
    if heard:
        query["heard"] = heard
    response = VoiceResponse()
    gather = Gather(
        input="speech dtmf",
        action=_url(request, "/channels/twilio/voice/gather", **query),
        method="POST",
        language=SPEECH_LANGUAGES[language],
        speech_timeout="auto",
        timeout=6,
        finish_on_key="#",
        action_on_empty_result=True,
    )
    if say:
        gather.say(say, language=SPEECH_LANGUAGES[language])
    response.append(gather)
    return response


def _language(request: Request, params: dict[str, str]) -> str:
    given = request.query_params.get("lang")
    if given in SPEECH_LANGUAGES:
        return given
    # First contact: Spanish numbers get Spanish, others English; the
    # dialogue follows the caller's words after that.
    return "es" if params.get("From", "").startswith("+34") else "en"


@router.post("/channels/twilio/voice")
async def receive_call(request: Request) -> Response:
    """Twilio's "A call comes in" webhook: greets the caller and listens."""
    params = await signed_form(request)
    require(params, "CallSid", "From")
    language = _language(request, params)
    return await _turn(request, params, turn=0, text="/greet", language=language)


@router.post("/channels/twilio/voice/gather")
async def receive_gather(request: Request) -> Response:
    """What the caller said or keyed in answer to the last gather."""
    params = await signed_form(request)
    require(params, "CallSid")
    language = _language(request, params)
    turn = _int(request.query_params.get("turn")) + 1
    misses = _int(request.query_params.get("misses"))
    heard = _int(request.query_params.get("heard")) or None
    digits = params.get("Digits", "").strip()
    speech = params.get("SpeechResult", "").strip()
    confidence = _float(params.get("Confidence"), 1.0 if speech else 0.0)

    text = ""
    if digits == HUMAN_DIGIT:
        text = HUMAN_REQUEST
    elif digits:
        buttons = await _buttons_heard(request, f"voice-{params['CallSid']}", heard)
        text = dtmf_choice(digits, buttons) or digits
    elif speech and confidence >= MIN_SPEECH_CONFIDENCE:
        text = speech

    if not text:
        misses += 1
        logger.info(
            "call %s: no usable answer (miss %s, confidence %.2f)",
            params["CallSid"],
            misses,
            confidence,
        )
        if misses >= MISSES_BEFORE_GOODBYE:
            response = VoiceResponse()
            response.say(
                notice("voice_goodbye", language), language=SPEECH_LANGUAGES[language]
            )
            response.hangup()
            return _twiml(response)
        if misses >= MISSES_BEFORE_HUMAN:
            # Offer a person: the next gather takes "0" or the words for it.
            offer = notice("voice_offer_human", language)
            return _twiml(_gather(request, turn - 1, language, offer, misses, heard))
        return _twiml(
            _gather(
                request,
                turn - 1,
                language,
                notice("voice_didnt_hear", language),
                misses,
                heard,
            )
        )
    return await _turn(request, params, turn=turn, text=text, language=language)


@router.post("/channels/twilio/voice/wait")
async def wait_for_answer(request: Request) -> Response:
    """Twilio comes back here while a slow turn finishes."""
    params = await signed_form(request)
    require(params, "CallSid")
    gateway: Gateway = request.app.state.gateway
    settings: Settings = request.app.state.settings
    language = _language(request, params)
    turn = _int(request.query_params.get("turn"))
    waits = _int(request.query_params.get("waits"))
    message_id = _int(request.query_params.get("message"))
    waiting_for = await run_in_threadpool(gateway.log.inbound, message_id)
    if waiting_for is None or waiting_for.conversation_id != (
        f"voice-{params['CallSid']}"
    ):
        # Only this call's own message: another call's answer is not read out.
        logger.warning(
            "call %s: wait for a message not of this call", params["CallSid"]
        )
        return _twiml(_sorry(language))
    status_now, _ = await gateway.wait_for_turn(
        message_id, settings.VOICE_TURN_WAIT_SECONDS
    )
    if status_now in (QUEUED, PROCESSING) and waits < MAX_WAITS:
        return _twiml(_hold(request, language, turn, message_id, waits + 1))
    return await _answer(request, message_id, turn, language)


@router.post("/channels/twilio/voice/status")
async def receive_call_status(request: Request) -> Response:
    """Call status callback: a call that ended closes its conversation."""
    params = await signed_form(request)
    require(params, "CallSid", "CallStatus")
    if params["CallStatus"] in CLOSED_STATUSES:
        gateway: Gateway = request.app.state.gateway
        closed = await run_in_threadpool(
            gateway.log.close_conversation, f"voice-{params['CallSid']}"
        )
        logger.info(
            "call %s ended (%s)%s",
            params["CallSid"],
            params["CallStatus"],
            "" if closed else ", conversation already closed or unknown",
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _turn(
    request: Request, params: dict[str, str], turn: int, text: str, language: str
) -> Response:
    gateway: Gateway = request.app.state.gateway
    settings: Settings = request.app.state.settings
    call_sid = params["CallSid"]
    caller = params.get("From", "")
    inbound = InboundMessage(
        channel="voice",
        conversation_id=f"voice-{call_sid}",
        address=caller,
        sender=caller or call_sid,
        platform_message_id=f"{call_sid}:{turn}",
        text=text,
        language_hint=language if turn == 0 else None,
        sender_phone=caller or None,
    )
    try:
        message, _ = await gateway.converse(
            inbound, settings.VOICE_TURN_WAIT_SECONDS, create=True
        )
    except MessageIdReusedError:
        # An old gather posted again with other words: not this turn's. The
        # caller is asked again, nothing is stored.
        logger.warning("call %s: turn %s posted again with other input", call_sid, turn)
        taken = await run_in_threadpool(
            gateway.log.platform_ids, inbound.conversation_id
        )
        last = max(
            (_int(taken_id.rpartition(":")[2]) for taken_id in taken), default=turn
        )
        return _twiml(
            _gather(
                request, last, language, notice("voice_didnt_hear", language), 0, None
            )
        )
    except TurnTimeoutError as slow:
        return _twiml(_hold(request, language, turn, slow.message_id, 1))
    except RasaUnavailableError:
        logger.error("call %s: the assistant failed turn %s", call_sid, turn)
        return _twiml(_sorry(language))
    return await _answer(request, message.id, turn, language)


async def _answer(
    request: Request, message_id: int, turn: int, language: str
) -> Response:
    gateway: Gateway = request.app.state.gateway
    status_now, stored = await run_in_threadpool(gateway.log.outcome, message_id)
    if status_now not in (ANSWERED, IGNORED, WITH_AGENT, NEEDS_HUMAN):
        return _twiml(_sorry(language))
    replies = [Reply(reply.text, reply.buttons) for reply in stored]
    if replies:
        language = guess_language(" ".join(reply.text for reply in replies))
    conversation_id = stored[0].conversation_id if stored else None
    if conversation_id is None:
        message = await run_in_threadpool(gateway.log.inbound, message_id)
        conversation_id = message.conversation_id if message else ""
    if await run_in_threadpool(gateway.log.with_a_person, conversation_id):
        return _twiml(_to_a_person(request, language, replies))
    return _twiml(
        _gather(request, turn, language, voice_text(replies, language), 0, message_id)
    )


def _to_a_person(
    request: Request, language: str, replies: list[Reply]
) -> VoiceResponse:
    """The call goes to the agents: put through to their number or Twilio
    queue while the team is at work, otherwise the caller hears when they
    will be called back (the case is in the queue with the transcript)."""
    settings: Settings = request.app.state.settings
    gateway: Gateway = request.app.state.gateway
    speech = SPEECH_LANGUAGES[language]
    response = VoiceResponse()
    said = voice_text(replies, language)
    target = settings.AGENTS_PHONE_NUMBER.strip()
    if target and gateway.policy.is_open(dt.datetime.now(dt.UTC)):
        # The gateway's announcement (a place in the chat queue) is for
        # written channels; on the phone the caller is put through.
        bot_said = voice_text(replies[:1], language) if replies else ""
        if bot_said:
            response.say(bot_said, language=speech)
        response.say(notice("voice_transfer", language), language=speech)
        if target.startswith("queue:"):
            response.enqueue(target.removeprefix("queue:"))
        else:
            response.dial(target)
        return response
    if said:
        response.say(said, language=speech)
    response.say(notice("voice_goodbye", language), language=speech)
    response.hangup()
    return response


async def _buttons_heard(
    request: Request, conversation_id: str, heard: int | None
) -> list[dict[str, str]]:
    """The options the caller heard last, which the keys 1-9 select.

    Read from the replies the gather was built with, not from the latest
    reply: when Twilio repeats a request, the latest reply is this turn's own.
    """
    gateway: Gateway = request.app.state.gateway
    if heard is None:
        return await run_in_threadpool(gateway.log.last_buttons, conversation_id)
    replies = await run_in_threadpool(gateway.log.replies_to, heard)
    if not replies or replies[-1].conversation_id != conversation_id:
        return []
    return replies[-1].buttons


def _hold(
    request: Request, language: str, turn: int, message_id: int, waits: int
) -> VoiceResponse:
    response = VoiceResponse()
    response.say(notice("voice_hold", language), language=SPEECH_LANGUAGES[language])
    response.pause(length=1)
    response.redirect(
        _url(
            request,
            "/channels/twilio/voice/wait",
            turn=turn,
            message=message_id,
            waits=waits,
            lang=language,
        ),
        method="POST",
    )
    return response


def _sorry(language: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(notice("gave_up", language), language=SPEECH_LANGUAGES[language])
    response.hangup()
    return response


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def install(app: FastAPI) -> None:
    app.include_router(router)
