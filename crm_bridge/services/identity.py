"""Who is speaking in a conversation: a shop's staff, a customer, or unknown.
Every query about orders, display units or tickets is asked for a
conversation, and the answer is filtered by its speaker. Identity comes from
what the channel vouches for (the phone number of an SMS or a call, the phone
a Telegram user shared) or from what the person proved in the conversation
(a shop's registration code). A web chat starts unknown.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.core.db import as_utc
from crm_bridge.models import (
    ChannelContact,
    Conversation,
    Customer,
    PointOfSale,
    ShopContact,
)
from crm_bridge.services.errors import (
    NotAShopError,
    RegistrationCodeRejectedError,
    TooManyAttemptsError,
)
from crm_bridge.services.normalize import registration_code_hash

logger = logging.getLogger(__name__)

# Wrong registration codes (or case details) one conversation may give in
# ATTEMPT_WINDOW before it is refused; older attempts are forgotten.
MAX_CODE_ATTEMPTS = 5
ATTEMPT_WINDOW = dt.timedelta(hours=1)
# Wrong attempts of every conversation together in ATTEMPT_WINDOW: opening
# new conversations must not make guessing cheap. Past it everyone waits.
MAX_ATTEMPTS_EVERYWHERE = 60

SpeakerKind = Literal["shop", "customer", "unknown"]


@dataclass(frozen=True)
class Speaker:
    kind: SpeakerKind
    point_of_sale: PointOfSale | None = None
    customer: Customer | None = None
    # How the identity is known: "registration_code", "staff_phone",
    # "phone" (the channel's number is the customer's), "case" or "none".
    verified_by: str = "none"

    @property
    def is_shop(self) -> bool:
        return self.point_of_sale is not None


UNKNOWN = Speaker("unknown")


def speaker(session: Session, conversation_id: str) -> Speaker:
    """The identity of whoever writes in ``conversation_id``.

    A shop wins over a customer: staff write from their own phones too.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return UNKNOWN
    contact = conversation.contact
    if conversation.point_of_sale_id is not None:
        shop = session.get(PointOfSale, conversation.point_of_sale_id)
        return Speaker("shop", point_of_sale=shop, verified_by="registration_code")
    if contact is not None and contact.point_of_sale_id is not None:
        shop = session.get(PointOfSale, contact.point_of_sale_id)
        return Speaker("shop", point_of_sale=shop, verified_by="registration_code")
    phone = _vouched_phone(conversation, contact)
    if phone is not None:
        staff = session.scalar(select(ShopContact).where(ShopContact.phone == phone))
        if staff is not None:
            return Speaker(
                "shop", point_of_sale=staff.point_of_sale, verified_by="staff_phone"
            )
    if conversation.customer_id is not None:
        customer = session.get(Customer, conversation.customer_id)
        return Speaker("customer", customer=customer, verified_by="case")
    if contact is not None and contact.customer_id is not None:
        customer = session.get(Customer, contact.customer_id)
        return Speaker("customer", customer=customer, verified_by="phone")
    if phone is not None:
        customer = session.scalar(select(Customer).where(Customer.phone == phone))
        if customer is not None:
            return Speaker("customer", customer=customer, verified_by="phone")
    return UNKNOWN


def require_shop(session: Session, conversation_id: str) -> PointOfSale:
    """The speaker's shop.

    Raises:
        NotAShopError: the speaker has not been identified as shop staff.
    """
    found = speaker(session, conversation_id)
    if found.point_of_sale is None:
        raise NotAShopError(conversation_id)
    return found.point_of_sale


def verify_shop(
    session: Session, conversation_id: str, registration_code: str, channel: str
) -> Speaker:
    """Links the conversation, and its contact, to the shop owning the code.

    The caller commits. Wrong codes are counted per conversation; the
    contact (a phone, a Telegram user) stays linked for later conversations.

    Raises:
        TooManyAttemptsError: MAX_CODE_ATTEMPTS wrong codes were given already.
        RegistrationCodeRejectedError: no shop has this code.
    """
    conversation = _conversation(session, conversation_id, channel)
    check_attempts(session, conversation)
    code_hash = registration_code_hash(registration_code)
    shop = None
    if code_hash is not None:
        shop = session.scalar(
            select(PointOfSale).where(PointOfSale.registration_code_hash == code_hash)
        )
    if shop is None:
        record_failed_attempt(conversation)
        logger.info(
            "wrong registration code in conversation %s (%d of %d)",
            conversation_id,
            conversation.identity_attempts,
            MAX_CODE_ATTEMPTS,
        )
        raise RegistrationCodeRejectedError(
            MAX_CODE_ATTEMPTS - conversation.identity_attempts
        )

    conversation.point_of_sale_id = shop.id
    if conversation.contact is not None:
        conversation.contact.point_of_sale_id = shop.id
    logger.info("conversation %s identified as shop %s", conversation_id, shop.code)
    return Speaker("shop", point_of_sale=shop, verified_by="registration_code")


def check_attempts(session: Session, conversation: Conversation) -> None:
    """Refuses one more try when this conversation, or everyone together,
    gave too many wrong codes or case details within the last hour.

    Raises:
        TooManyAttemptsError: no more tries for now.
    """
    now = dt.datetime.now(dt.UTC)
    since = now - ATTEMPT_WINDOW
    last = as_utc(conversation.identity_attempted_at)
    if last is not None and last < since:
        conversation.identity_attempts = 0
    if conversation.identity_attempts >= MAX_CODE_ATTEMPTS:
        raise TooManyAttemptsError(conversation.id)
    everywhere = session.scalar(
        select(func.coalesce(func.sum(Conversation.identity_attempts), 0)).where(
            Conversation.identity_attempted_at >= since
        )
    )
    if everywhere >= MAX_ATTEMPTS_EVERYWHERE:
        logger.warning(
            "%d wrong codes or case details in the last hour: refusing more",
            everywhere,
        )
        raise TooManyAttemptsError(conversation.id)


def record_failed_attempt(conversation: Conversation) -> None:
    """Counts a wrong code or wrong case details; the caller commits."""
    conversation.identity_attempts += 1
    conversation.identity_attempted_at = dt.datetime.now(dt.UTC)


def conversation_for_attempts(
    session: Session, conversation_id: str, channel: str = "web"
) -> Conversation:
    """The conversation whose attempts are counted (created if unknown)."""
    return _conversation(session, conversation_id, channel)


def link_customer(session: Session, conversation_id: str, customer: Customer) -> None:
    """Records that the person proved to be ``customer`` (details of a case)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None and conversation.point_of_sale_id is None:
        conversation.customer_id = customer.id


def _vouched_phone(
    conversation: Conversation, contact: ChannelContact | None
) -> str | None:
    """The phone number the channel itself vouches for, if any.

    The caller's or sender's number on SMS and voice; on Telegram the number
    of the contact the user shared (its own, the gateway checks).
    """
    if contact is None:
        return None
    return contact.phone


def _conversation(session: Session, conversation_id: str, channel: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        # Conversations reach the CRM before the gateway stored them only in
        # tests and from Rasa's own tools; identity still needs a row.
        conversation = Conversation(id=conversation_id, channel=channel)
        session.add(conversation)
        session.flush()
    return conversation
