"""Messages sent into a conversation from outside a turn (agents, the CRM).

The text goes to the person on the conversation's own channel: an SMS, a
Telegram message, the web chat's event stream.
"""

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from channels.log import UnknownConversationError
from channels.web import GatewayDep, NonBlankText

router = APIRouter(prefix="/conversations", tags=["conversations"])


class PushCreate(BaseModel):
    text: NonBlankText = Field(max_length=4000)


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
    gateway: GatewayDep,
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
