"""The conversation log in the CRM database: what came in, what went out.

Every inbound message is written here before anything else happens to it, and
its state (queued → processing → answered, or failed and queued again) lives
here too, so a crash or a restart never loses a person's message: the next
sweep finds it. Outbound messages are written before they are sent and carry
the platform's id once they are.
"""

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from crm_bridge.core.db import as_stored
from crm_bridge.models import (
    Agent,
    Attachment,
    ChannelContact,
    Conversation,
    ConversationMessage,
    Customer,
    Ticket,
)
from crm_bridge.services import handoffs
from crm_bridge.services.errors import InvalidValueError
from crm_bridge.services.handoff_policy import HandoffPolicy
from crm_bridge.services.normalize import normalize_phone

logger = logging.getLogger(__name__)

# A turn still "processing" after this long was interrupted (a crash or a
# restart): the sweep runs it again.
STALE_AFTER = dt.timedelta(seconds=90)
# A failed turn (the engine was down) is tried again after a pause that
# doubles each time (5 s, 10 s… up to 5 min): about ten minutes in all before
# the message is left for a person. A restart of Rasa (half a minute) is
# well inside it.
MAX_ATTEMPTS = 8
FIRST_RETRY_AFTER = dt.timedelta(seconds=5)
LONGEST_RETRY_AFTER = dt.timedelta(minutes=5)


# A message queued (or a reply pending) this long was not picked up by the
# process that stored it: the sweep starts it.
LEFT_BEHIND_AFTER = dt.timedelta(seconds=2)


def retry_after(attempts: int) -> dt.timedelta:
    """How long a message that failed ``attempts`` times waits for the next."""
    return min(FIRST_RETRY_AFTER * 2 ** max(0, attempts - 1), LONGEST_RETRY_AFTER)


# Inbound states.
QUEUED = "queued"
PROCESSING = "processing"
ANSWERED = "answered"
FAILED = "failed"
NEEDS_HUMAN = "needs_human"
IGNORED = "ignored"
# Received while a person owns the conversation: for the agent, not the bot.
WITH_AGENT = "with_agent"
UNKNOWN = "unknown"
# Outbound states.
PENDING = "pending"
SENT = "sent"
UNDELIVERABLE = "undeliverable"


class MessageIdReusedError(Exception):
    """A message id came back with another text: a client bug, not a retry."""

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"message_id {message_id!r} was already used for a different message"
        )
        self.message_id = message_id


class UnknownConversationError(Exception):
    """The conversation id was never opened on this service."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id!r} does not exist")
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class StoredInbound:
    """An inbound message as the log holds it."""

    id: int
    conversation_id: str
    channel: str
    text: str
    kind: str
    status: str
    attempts: int
    platform_message_id: str
    language: str | None = None
    phone: str | None = None
    address: str | None = None
    opted_out: bool = False
    media: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class StoredOutbound:
    id: int
    conversation_id: str
    channel: str
    address: str | None
    text: str
    buttons: list[dict[str, str]]
    status: str
    platform_message_id: str | None
    reply_to_id: int | None = None
    # The first name of the agent who wrote it; None for the assistant.
    agent_name: str | None = None


@dataclass(frozen=True)
class NewAttachment:
    """A file's content as the platform returned it."""

    content: bytes
    content_type: str = ""
    filename: str = ""


def phone_or_none(value: str | None) -> str | None:
    """A phone number in E.164 form, or None when it is not one.

    Telegram sends shared contacts' numbers without the "+".
    """
    if not value:
        return None
    for candidate in (value, "+" + value.strip().lstrip("+")):
        try:
            return normalize_phone(candidate)
        except InvalidValueError:
            continue
    return None


def _stored_outbound(
    row: ConversationMessage,
    channel: str,
    address: str | None,
    agent_name: str | None = None,
) -> StoredOutbound:
    return StoredOutbound(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=channel,
        address=address,
        text=row.text,
        buttons=row.buttons or [],
        status=row.status,
        platform_message_id=row.platform_message_id,
        reply_to_id=row.reply_to_id,
        agent_name=agent_name,
    )


class ConversationLog:
    """Reads and writes the conversation log; every method is one transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    # -- conversations and contacts ------------------------------------------

    def open_conversation(
        self, conversation_id: str, channel: str, address: str | None = None
    ) -> None:
        with self._sessions.begin() as session:
            session.add(
                Conversation(id=conversation_id, channel=channel, address=address)
            )

    def exists(self, conversation_id: str) -> bool:
        with self._sessions() as session:
            return session.get(Conversation, conversation_id) is not None

    def ensure_conversation(
        self,
        conversation_id: str,
        channel: str,
        address: str,
        sender: str,
        phone: str | None = None,
        display_name: str | None = None,
        language: str | None = None,
    ) -> None:
        """Creates the conversation and its contact on the first message.

        The contact is matched to a CRM customer by phone number.
        """
        try:
            with self._sessions.begin() as session:
                contact = self._contact(session, channel, sender)
                if contact is None:
                    contact = ChannelContact(channel=channel, address=sender)
                    session.add(contact)
                if phone_or_none(phone):
                    contact.phone = phone_or_none(phone)
                if display_name:
                    contact.display_name = display_name[:200]
                if language in ("es", "en"):
                    contact.language = language
                if contact.customer_id is None and contact.phone:
                    contact.customer_id = session.scalar(
                        select(Customer.id).where(Customer.phone == contact.phone)
                    )
                session.flush()
                conversation = session.get(Conversation, conversation_id)
                if conversation is None:
                    session.add(
                        Conversation(
                            id=conversation_id,
                            channel=channel,
                            address=address,
                            contact_id=contact.id,
                            language=language,
                        )
                    )
                else:
                    if conversation.closed_at is not None:
                        # A new message reopens the conversation (SMS, Telegram).
                        conversation.closed_at = None
                    if conversation.language is None and language in ("es", "en"):
                        conversation.language = language
        except IntegrityError:
            # Two first messages raced; the other one created both rows.
            logger.info("conversation %s created concurrently", conversation_id)

    @staticmethod
    def _contact(session: Session, channel: str, sender: str) -> ChannelContact | None:
        return session.scalar(
            select(ChannelContact).where(
                ChannelContact.channel == channel, ChannelContact.address == sender
            )
        )

    @staticmethod
    def _contact_of(session: Session, conversation_id: str) -> ChannelContact | None:
        conversation = session.get(Conversation, conversation_id)
        return conversation.contact if conversation is not None else None

    def link_phone(self, conversation_id: str, phone: str) -> bool:
        """Records the phone a contact shared; True when it matched a customer."""
        with self._sessions.begin() as session:
            contact = self._contact_of(session, conversation_id)
            if contact is None:
                return False
            contact.phone = phone_or_none(phone)
            if contact.phone is None:
                return False
            contact.customer_id = session.scalar(
                select(Customer.id).where(Customer.phone == contact.phone)
            )
            return contact.customer_id is not None

    def set_contact_flags(
        self,
        conversation_id: str,
        *,
        opted_out: bool | None = None,
        unreachable: bool | None = None,
    ) -> None:
        with self._sessions.begin() as session:
            contact = self._contact_of(session, conversation_id)
            if contact is None:
                return
            if opted_out is not None:
                contact.opted_out = opted_out
            if unreachable is not None:
                contact.unreachable = unreachable

    def close_conversation(self, conversation_id: str) -> bool:
        with self._sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.closed_at is not None:
                return False
            conversation.closed_at = dt.datetime.now(dt.UTC)
            return True

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                session.expunge(conversation)
            return conversation

    # -- inbound ----------------------------------------------------------------

    def store_inbound(
        self,
        conversation_id: str,
        platform_message_id: str,
        text: str,
        kind: str = "text",
        channel: str | None = None,
        media: Sequence[tuple[str, str, str]] = (),
    ) -> tuple[StoredInbound, bool]:
        """Stores a message with the files it carries, or finds its first
        delivery.

        Message and files are written in one transaction, so a turn never
        starts with some of the files missing. Returns the stored message and
        whether this call stored it. A failed message delivered again is
        queued again.

        Args:
            channel: when given, the conversation must exist on this channel
                (web chat cannot post into an SMS conversation).
            media: (source, content type, file name) of each file.

        Raises:
            MessageIdReusedError: the id is known with another text.
            UnknownConversationError: no such conversation on ``channel``.
        """
        try:
            with self._sessions.begin() as session:
                if channel is not None:
                    conversation = session.get(Conversation, conversation_id)
                    if conversation is None or conversation.channel != channel:
                        raise UnknownConversationError(conversation_id)
                message = ConversationMessage(
                    conversation_id=conversation_id,
                    direction="in",
                    platform_message_id=platform_message_id,
                    text=text,
                    kind=kind,
                    status=QUEUED,
                )
                session.add(message)
                session.flush()
                session.add_all(
                    Attachment(
                        conversation_id=conversation_id,
                        message_id=message.id,
                        content_type=(content_type or "application/octet-stream")[:100],
                        filename=filename[:200],
                        size=0,
                        source=source[:500],
                    )
                    for source, content_type, filename in media
                )
                session.flush()
                return self._inbound(session, message), True
        except IntegrityError:
            pass
        with self._sessions.begin() as session:
            message = session.scalars(
                select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.platform_message_id == platform_message_id,
                )
            ).one()
            if message.text != text:
                raise MessageIdReusedError(platform_message_id)
            if message.status == FAILED:
                message.status = QUEUED
            return self._inbound(session, message), False

    def claim_next(self, conversation_id: str) -> StoredInbound | None:
        """Takes the oldest message of the conversation still to answer.

        Messages are answered in the order they were stored: a failed one
        holds the ones after it back until it is answered. The message is
        marked processing (one more attempt) in the same transaction; what is
        returned is how it was before.
        """
        with self._sessions() as session:
            oldest = session.execute(
                select(ConversationMessage.id, ConversationMessage.status)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "in",
                    ConversationMessage.status.in_((QUEUED, FAILED, PROCESSING)),
                )
                .order_by(ConversationMessage.id)
                .limit(1)
            ).first()
            if oldest is None or oldest.status != QUEUED:
                return None
            claimed = session.execute(
                update(ConversationMessage)
                .where(
                    ConversationMessage.id == oldest.id,
                    ConversationMessage.status == QUEUED,
                )
                .values(
                    status=PROCESSING,
                    attempts=ConversationMessage.attempts + 1,
                    error=None,
                )
            )
            if claimed.rowcount != 1:
                session.rollback()
                return None
            now = self._inbound(
                session, session.get_one(ConversationMessage, oldest.id)
            )
            session.commit()
            return dataclasses.replace(now, status=QUEUED, attempts=now.attempts - 1)

    def outcome(self, message_id: int) -> tuple[str, list[StoredOutbound]]:
        """The message's state and, once answered, its replies."""
        with self._sessions() as session:
            message = session.get(ConversationMessage, message_id)
            if message is None:
                return UNKNOWN, []
            status = message.status
            if status in (QUEUED, PROCESSING, FAILED):
                return status, []
            rows = session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.reply_to_id == message_id)
                .order_by(ConversationMessage.id)
            )
            return status, [self._outbound(session, row) for row in rows]

    def inbound(self, message_id: int) -> StoredInbound | None:
        with self._sessions() as session:
            message = session.get(ConversationMessage, message_id)
            if message is None or message.direction != "in":
                return None
            return self._inbound(session, message)

    @staticmethod
    def _inbound(session: Session, message: ConversationMessage) -> StoredInbound:
        conversation = session.get_one(Conversation, message.conversation_id)
        contact = conversation.contact
        media = (
            [
                {"id": str(row.id), "content_type": row.content_type}
                for row in session.scalars(
                    select(Attachment).where(Attachment.message_id == message.id)
                )
            ]
            if message.kind == "photo"
            else []
        )
        return StoredInbound(
            id=message.id,
            conversation_id=message.conversation_id,
            channel=conversation.channel,
            text=message.text,
            kind=message.kind,
            status=message.status,
            attempts=message.attempts,
            platform_message_id=message.platform_message_id or "",
            language=conversation.language or (contact.language if contact else None),
            phone=contact.phone if contact else None,
            address=conversation.address,
            opted_out=bool(contact and contact.opted_out),
            media=media,
        )

    def finish_turn(
        self,
        inbound: StoredInbound,
        replies: list[tuple[str, list[dict[str, str]]]],
        delivered_inline: bool,
        status: str = ANSWERED,
    ) -> list[StoredOutbound]:
        """Writes the replies and closes the turn, in one transaction.

        Replies that go back in the HTTP response (web, voice) are sent by
        then; the others wait as pending for the channel to send them.
        Returns the replies as stored.
        """
        with self._sessions.begin() as session:
            rows = [
                ConversationMessage(
                    conversation_id=inbound.conversation_id,
                    direction="out",
                    reply_to_id=inbound.id,
                    text=text,
                    buttons=buttons or None,
                    status=SENT if delivered_inline else PENDING,
                )
                for text, buttons in replies
            ]
            session.add_all(rows)
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound.id)
                .values(status=status)
            )
            session.flush()
            return [
                _stored_outbound(row, inbound.channel, inbound.address) for row in rows
            ]

    def fail_turn(self, message_id: int, reason: str, give_up: bool) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == message_id)
                .values(status=NEEDS_HUMAN if give_up else FAILED, error=reason[:500])
            )

    def replies_to(self, message_id: int) -> list[StoredOutbound]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.reply_to_id == message_id)
                .order_by(ConversationMessage.id)
            )
            return [self._outbound(session, row) for row in rows]

    def has_outbound(self, conversation_id: str) -> bool:
        with self._sessions() as session:
            return (
                session.scalar(
                    select(ConversationMessage.id)
                    .where(
                        ConversationMessage.conversation_id == conversation_id,
                        ConversationMessage.direction == "out",
                    )
                    .limit(1)
                )
                is not None
            )

    def platform_ids(self, conversation_id: str) -> list[str]:
        """The platform ids of the conversation's inbound messages."""
        with self._sessions() as session:
            return [
                platform_id
                for platform_id in session.scalars(
                    select(ConversationMessage.platform_message_id).where(
                        ConversationMessage.conversation_id == conversation_id,
                        ConversationMessage.direction == "in",
                    )
                )
                if platform_id
            ]

    def last_buttons(self, conversation_id: str) -> list[dict[str, str]]:
        """The buttons of the latest message to the person (for keypad answers)."""
        with self._sessions() as session:
            buttons = session.scalar(
                select(ConversationMessage.buttons)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "out",
                )
                .order_by(ConversationMessage.id.desc())
                .limit(1)
            )
            return list(buttons or [])

    def open_question(
        self, conversation_id: str
    ) -> tuple[str, list[dict[str, str]]] | None:
        """The assistant's latest message, if it asked something: what to
        repeat when the person sends a photo instead.

        Answers to written messages and messages pushed into the conversation
        (a survey invitation) count; notices about photos or stickers do not.
        """
        inbound = aliased(ConversationMessage)
        with self._sessions() as session:
            row = session.execute(
                select(ConversationMessage.text, ConversationMessage.buttons)
                .outerjoin(inbound, ConversationMessage.reply_to_id == inbound.id)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "out",
                    or_(
                        ConversationMessage.reply_to_id.is_(None),
                        inbound.kind.in_(("text", "edited", "callback", "command")),
                    ),
                )
                .order_by(ConversationMessage.id.desc())
                .limit(1)
            ).first()
        if row is None or "?" not in row.text:
            return None
        return row.text, list(row.buttons or [])

    def set_language(self, conversation_id: str, language: str) -> None:
        """The language the conversation is held in, as the assistant answered."""
        with self._sessions.begin() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(language=language)
            )

    def status_of(self, message_id: int) -> str:
        with self._sessions() as session:
            return session.get_one(ConversationMessage, message_id).status

    def conversations_to_sweep(self, now: dt.datetime | None = None) -> list[str]:
        """Conversations with a message left behind: queued and not picked up,
        failed and due for another try, stuck in a turn that crashed, or a
        reply not sent yet.

        It only reads unless something is due, so a sweep every few seconds
        costs the turns under way nothing.
        """
        now = now or dt.datetime.now(dt.UTC)
        with self._sessions() as session:
            stale = as_stored(session, now - STALE_AFTER)
            left_behind = as_stored(session, now - LEFT_BEHIND_AFTER)
            candidates = session.execute(
                select(
                    ConversationMessage.id,
                    ConversationMessage.conversation_id,
                    ConversationMessage.status,
                    ConversationMessage.attempts,
                    ConversationMessage.updated_at,
                ).where(
                    or_(
                        ConversationMessage.status.in_((FAILED, PENDING, QUEUED)),
                        (ConversationMessage.status == PROCESSING)
                        & (ConversationMessage.updated_at < stale),
                    )
                )
            ).all()
            stuck = [row for row in candidates if row.status == PROCESSING]
            due = [
                row
                for row in candidates
                if row.status == FAILED
                and row.attempts < MAX_ATTEMPTS
                and row.updated_at
                <= as_stored(session, now - retry_after(row.attempts))
            ]
            for rows, status in ((stuck, PROCESSING), (due, FAILED)):
                if rows:
                    session.execute(
                        update(ConversationMessage)
                        .where(
                            ConversationMessage.id.in_([row.id for row in rows]),
                            ConversationMessage.status == status,
                        )
                        .values(status=QUEUED)
                    )
            session.commit()
            waiting = {
                row.conversation_id
                for row in candidates
                if row.status in (QUEUED, PENDING) and row.updated_at < left_behind
            }
            return sorted(waiting | {row.conversation_id for row in stuck + due})

    # -- people ---------------------------------------------------------------

    def with_a_person(self, conversation_id: str) -> bool:
        """Whether an agent owns the conversation, or it waits for one."""
        with self._sessions() as session:
            return handoffs.is_with_a_person(session, conversation_id)

    def after_turn(
        self, conversation_id: str, policy: HandoffPolicy
    ) -> tuple[int, str] | None:
        """The handoff the turn opened (by the person's request or a rule),
        and what to tell the person about it, once."""
        with self._sessions() as session:
            outcome = handoffs.after_turn(session, conversation_id, policy)
            return (outcome[0].id, outcome[1]) if outcome else None

    def hand_to_a_person(
        self, conversation_id: str, reason: str, policy: HandoffPolicy
    ) -> tuple[int, str] | None:
        """Opens a handoff with its own case (the assistant cannot go on)."""
        with self._sessions() as session:
            handoffs.open_with_new_ticket(session, conversation_id, reason)
            outcome = handoffs.after_turn(session, conversation_id, policy)
            return (outcome[0].id, outcome[1]) if outcome else None

    # -- outbound ---------------------------------------------------------------

    def add_outbound(
        self,
        conversation_id: str,
        text: str,
        buttons: list[dict[str, str]] | None,
        agent_id: int | None = None,
    ) -> int:
        """A message that is not a reply to a turn (an agent's, a notice)."""
        with self._sessions.begin() as session:
            row = ConversationMessage(
                conversation_id=conversation_id,
                direction="out",
                text=text,
                buttons=buttons or None,
                status=PENDING,
                agent_id=agent_id,
            )
            session.add(row)
            session.flush()
            return row.id

    def pending_outbound(self, conversation_id: str) -> list[StoredOutbound]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "out",
                    ConversationMessage.status == PENDING,
                )
                .order_by(ConversationMessage.id)
            )
            return [self._outbound(session, row) for row in rows]

    def pushed_since(self, conversation_id: str, after_id: int) -> list[StoredOutbound]:
        """Messages sent into the conversation outside a turn, after an id."""
        with self._sessions() as session:
            rows = session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "out",
                    ConversationMessage.reply_to_id.is_(None),
                    ConversationMessage.id > after_id,
                )
                .order_by(ConversationMessage.id)
            )
            return [self._outbound(session, row) for row in rows]

    def mark_outbound(
        self,
        message_id: int,
        status: str,
        platform_message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._sessions.begin() as session:
            values: dict[str, Any] = {"status": status, "error": error}
            if platform_message_id:
                values["platform_message_id"] = platform_message_id
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == message_id)
                .values(**values)
            )

    @staticmethod
    def _outbound(session: Session, row: ConversationMessage) -> StoredOutbound:
        conversation = session.get_one(Conversation, row.conversation_id)
        agent = session.get(Agent, row.agent_id) if row.agent_id else None
        name = agent.display_name.split()[0] if agent and agent.display_name else None
        return _stored_outbound(row, conversation.channel, conversation.address, name)

    def contact_blocked(self, conversation_id: str) -> str | None:
        """Why nothing may be sent to this conversation's contact, if so."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            contact = conversation.contact if conversation else None
            if contact is None:
                return None
            if contact.opted_out:
                return "opted out (STOP)"
            if contact.unreachable:
                return "unreachable (blocked the bot)"
            return None

    # -- attachments ------------------------------------------------------------

    def media_to_fetch(self, message_id: int) -> list[tuple[int, str, str]]:
        """(id, source, content type) of the message's files not fetched yet."""
        with self._sessions() as session:
            rows = session.execute(
                select(Attachment.id, Attachment.source, Attachment.content_type)
                .where(Attachment.message_id == message_id, Attachment.sha256.is_(None))
                .order_by(Attachment.id)
            )
            return [(row.id, row.source, row.content_type) for row in rows]

    def store_media(self, attachment_id: int, attachment: NewAttachment) -> str | None:
        """Keeps a fetched file and links it to the conversation's latest case.

        Returns the number of that case, if there is one yet; otherwise the
        case opened later in the conversation collects it.
        """
        with self._sessions.begin() as session:
            row = session.get_one(Attachment, attachment_id)
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.conversation_id == row.conversation_id)
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            row.content = attachment.content
            row.size = len(attachment.content)
            row.sha256 = hashlib.sha256(attachment.content).hexdigest()
            if attachment.content_type:
                row.content_type = attachment.content_type[:100]
            if attachment.filename:
                row.filename = attachment.filename[:200]
            row.ticket_id = ticket.id if ticket else None
            return ticket.number if ticket else None
