"""Web chat: the page, and the endpoints behind it."""

import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from channels.rasa_client import RasaUnavailableError
from channels.turns import (
    MessageIdReusedError,
    TurnInProgressError,
    TurnService,
    UnknownConversationError,
)

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


class WebMessageCreate(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    message_id: str = Field(min_length=1, max_length=100)
    text: str = Field(max_length=MAX_TEXT_LENGTH)
    language: Literal["es", "en"] | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("text must not be empty")
        return text


def get_turns(request: Request) -> TurnService:
    return request.app.state.turns


TurnsDep = Annotated[TurnService, Depends(get_turns)]


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
async def create_web_conversation(turns: TurnsDep) -> ConversationPublic:
    """Opens a web chat conversation and returns its id.

    The id is random and unguessable: it is what lets the page post into the
    conversation.
    """
    conversation_id = f"web-{secrets.token_urlsafe(18)}"
    await run_in_threadpool(turns.log.open_conversation, conversation_id, "web")
    logger.info("web conversation %s opened", conversation_id)
    return ConversationPublic(conversation_id=conversation_id)


@router.post("/channels/web/messages", response_model=WebRepliesPublic)
async def create_web_message(
    message: WebMessageCreate, turns: TurnsDep
) -> WebRepliesPublic:
    """Sends the person's message to the assistant and returns its replies.

    Sending the same `message_id` again returns the same replies and changes
    nothing, so the page can retry safely after a network error.
    """
    metadata = {"language": message.language} if message.language else {}
    try:
        replies = await turns.handle(
            "web", message.conversation_id, message.message_id, message.text, metadata
        )
    except UnknownConversationError as error:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"{error}; open one with POST /channels/web/conversations",
        ) from error
    except TurnInProgressError as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{error}; retry in a few seconds"
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
        replies=[ReplyPublic(**reply.as_dict()) for reply in replies]
    )
