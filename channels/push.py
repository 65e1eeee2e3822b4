"""Messages sent into a conversation from outside a turn (agents, the CRM).

The text goes to the person on the conversation's own channel: an SMS, a
Telegram message, the web chat's event stream.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator

from channels.gateway import Gateway
from channels.log import UnknownConversationError

router = APIRouter(prefix="/conversations", tags=["conversations"])


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


class PushCreate(BaseModel):
    text: str = Field(max_length=4000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("text must not be empty")
        return text


class PushPublic(BaseModel):
    message_id: int
    status: str


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PushPublic,
)
async def create_conversation_message(
    conversation_id: str,
    body: PushCreate,
    gateway: Annotated[Gateway, Depends(get_gateway)],
) -> PushPublic:
    """Queues a message to the person in this conversation.

    It is stored first and sent in order after anything already waiting;
    a person who opted out or blocked the bot gets nothing (the message is
    kept as undeliverable).
    """
    try:
        message_id = await gateway.push(conversation_id, body.text)
    except UnknownConversationError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return PushPublic(message_id=message_id, status="queued")
