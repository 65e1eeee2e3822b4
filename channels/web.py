"""Web chat: the page, and the endpoints behind it."""

import asyncio
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from channels.gateway import Gateway, InboundMessage, TurnTimeoutError, storable
from channels.log import MessageIdReusedError, UnknownConversationError
from channels.rasa_client import RasaUnavailableError

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000
PAGE = Path(__file__).resolve().parent / "static" / "webchat.html"

router = APIRouter(tags=["web chat"])


class ButtonPublic(BaseModel):
    title: str
    payload: str


class ReplyPublic(BaseModel):
    text: str
    buttons: list[ButtonPublic] = []


class WebRepliesPublic(BaseModel):
    replies: list[ReplyPublic]


class ConversationPublic(BaseModel):
    conversation_id: str


def _not_blank(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("text must not be empty")
    return text


# A message's text: surrounding spaces dropped, and something must be left.
NonBlankText = Annotated[str, AfterValidator(_not_blank)]


class WebMessageCreate(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    message_id: str = Field(min_length=1, max_length=100)
    text: NonBlankText = Field(max_length=MAX_TEXT_LENGTH)
    language: Literal["es", "en"] | None = None


# How long the page's request waits for the assistant's answer.
TURN_WAIT_SECONDS = 45.0
# A comment line keeps proxies from closing an idle event stream.
KEEPALIVE_SECONDS = 15.0


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


@router.get("/favicon.ico", include_in_schema=False)
def read_favicon() -> Response:
    """No icon: an empty answer instead of a 404 in every browser console."""
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/", include_in_schema=False)
@router.get("/chat", include_in_schema=False)
def read_web_chat_page() -> FileResponse:
    """The web chat page."""
    return FileResponse(PAGE, media_type="text/html")


@router.post(
    "/channels/web/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationPublic,
)
async def create_web_conversation(gateway: GatewayDep) -> ConversationPublic:
    """Opens a web chat conversation and returns its id.

    The id is random and unguessable: it is what lets the page post into the
    conversation.
    """
    conversation_id = f"web-{secrets.token_urlsafe(18)}"
    await run_in_threadpool(gateway.log.open_conversation, conversation_id, "web")
    logger.info("web conversation %s opened", conversation_id)
    return ConversationPublic(conversation_id=conversation_id)


@router.post("/channels/web/messages", response_model=WebRepliesPublic)
async def create_web_message(
    message: WebMessageCreate, gateway: GatewayDep
) -> WebRepliesPublic:
    """Sends the person's message to the assistant and returns its replies.

    Sending the same `message_id` again returns the same replies and changes
    nothing, so the page can retry safely after a network error. Messages of
    one conversation are answered one at a time, in the order they arrive.
    """
    inbound = InboundMessage(
        channel="web",
        conversation_id=message.conversation_id,
        address="",
        sender=message.conversation_id,
        platform_message_id=message.message_id,
        text=message.text,
        language_hint=message.language,
    )
    try:
        _, replies = await gateway.converse(inbound, TURN_WAIT_SECONDS)
    except UnknownConversationError as error:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"{error}; open one with POST /channels/web/conversations",
        ) from error
    except TurnTimeoutError as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"message {error} is still being answered; send it again with the "
            "same message_id in a few seconds",
        ) from error
    except MessageIdReusedError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except RasaUnavailableError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the assistant is not available right now; your message was saved, "
            "send it again with the same message_id to get the answer",
        ) from error
    return WebRepliesPublic(
        replies=[
            ReplyPublic(text=reply.text, buttons=reply.buttons) for reply in replies
        ]
    )


@router.get("/channels/web/conversations/{conversation_id}/events")
async def stream_web_events(
    conversation_id: str,
    request: Request,
    gateway: GatewayDep,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> StreamingResponse:
    """Messages sent into the conversation later (by an agent), as server-sent
    events. Each event's id is the message id: a reconnecting browser sends
    `Last-Event-ID` and gets what it missed, then the live stream."""
    conversation = await run_in_threadpool(
        gateway.log.conversation, storable(conversation_id)
    )
    # Only web chat conversations: the id of an SMS or Telegram conversation
    # is guessable, what is said in it is not anyone's to read.
    if conversation is None or conversation.channel != "web":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    if last_event_id and re.fullmatch(r"[0-9]{1,12}", last_event_id):
        after = max(after, int(last_event_id))

    async def events() -> AsyncIterator[str]:
        last = after
        topic = f"conversation:{conversation_id}"
        async with gateway.coordinator.subscribe(topic) as live:
            # Subscribed first, then the backlog: nothing falls in between.
            for missed in await run_in_threadpool(
                gateway.log.pushed_since, conversation_id, last
            ):
                last = missed.id
                yield _event(missed.id, missed.text, missed.buttons, missed.agent_name)
            async for data in live_messages(request, live, KEEPALIVE_SECONDS):
                if data is None:
                    yield ": keep-alive\n\n"
                    continue
                pushed = json.loads(data)
                if pushed["id"] > last:
                    last = pushed["id"]
                    yield _event(
                        pushed["id"],
                        pushed["text"],
                        pushed["buttons"],
                        pushed.get("from"),
                    )

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def live_messages(
    request: Request, live: AsyncIterator[str], keepalive: float
) -> AsyncIterator[str | None]:
    """A subscription's messages as they come, and None whenever ``keepalive``
    seconds pass without one (time for a keep-alive line), until the client
    goes away."""
    stream = live.__aiter__()
    # The wait for the next message outlives each pause: cancelling it would
    # end the subscription's generator for good.
    waiting: asyncio.Future[str] | None = None
    try:
        while not await request.is_disconnected():
            if waiting is None:
                waiting = asyncio.ensure_future(stream.__anext__())
            done, _ = await asyncio.wait({waiting}, timeout=keepalive)
            if not done:
                yield None
                continue
            message = waiting.result()
            waiting = None
            yield message
    finally:
        if waiting is not None:
            waiting.cancel()


def _event(
    message_id: int,
    text: str,
    buttons: list[dict[str, str]],
    agent_name: str | None = None,
) -> str:
    # "from": the agent who wrote it, so the page can show a person is there.
    fields = {"text": text, "buttons": buttons}
    if agent_name:
        fields["from"] = agent_name
    data = json.dumps(fields, ensure_ascii=False)
    return f"id: {message_id}\nevent: message\ndata: {data}\n\n"
