"""Who is speaking in a conversation, and a shop proving who it is."""

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from crm_bridge.api.deps import SessionDep
from crm_bridge.schemas import CustomerPublic
from crm_bridge.services import identity
from crm_bridge.services.errors import (
    RegistrationCodeRejectedError,
    TooManyAttemptsError,
)

router = APIRouter(prefix="/conversations/{conversation_id}", tags=["identity"])


class ShopPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    city: str


class SpeakerPublic(BaseModel):
    kind: Literal["shop", "customer", "unknown"]
    verified_by: str
    point_of_sale: ShopPublic | None = None
    customer: CustomerPublic | None = None

    @classmethod
    def from_speaker(cls, found: identity.Speaker) -> "SpeakerPublic":
        return cls(
            kind=found.kind,
            verified_by=found.verified_by,
            point_of_sale=(
                ShopPublic.model_validate(found.point_of_sale)
                if found.point_of_sale
                else None
            ),
            customer=(
                CustomerPublic.model_validate(found.customer)
                if found.customer
                else None
            ),
        )


class ShopVerification(BaseModel):
    registration_code: str = Field(min_length=1, max_length=100)
    # The channel of a conversation the gateway has not stored (tests, tools).
    channel: Literal["web", "sms", "voice", "telegram"] = "web"


@router.get("/identity", response_model=SpeakerPublic)
def read_identity(conversation_id: str, session: SessionDep) -> SpeakerPublic:
    """Who writes in this conversation: shop staff, a customer, or unknown.

    Known from the channel (the SMS or caller's number, the phone a Telegram
    user shared: a shop's staff phone or a customer's) or proved in the
    conversation (a shop's registration code).
    """
    return SpeakerPublic.from_speaker(identity.speaker(session, conversation_id))


@router.post(
    "/identity/shop",
    response_model=SpeakerPublic,
    responses={
        status.HTTP_403_FORBIDDEN: {"description": "The code is not recognised"},
        status.HTTP_429_TOO_MANY_REQUESTS: {
            "description": "Too many wrong codes in this conversation"
        },
    },
)
def verify_shop(
    conversation_id: str, body: ShopVerification, session: SessionDep
) -> SpeakerPublic:
    """Identify the conversation as a shop's with its registration code.

    The phone or Telegram user writing stays linked to the shop for later
    conversations. After 5 wrong codes the conversation gets 429.
    """
    try:
        found = identity.verify_shop(
            session, conversation_id, body.registration_code, body.channel
        )
    except TooManyAttemptsError as exc:
        session.commit()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    except RegistrationCodeRejectedError as exc:
        session.commit()
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            {"message": str(exc), "attempts_left": exc.attempts_left},
        ) from exc
    session.commit()
    return SpeakerPublic.from_speaker(found)
