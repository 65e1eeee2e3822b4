"""One turn of a conversation, whatever the channel: store, deduplicate, answer.

The person's message is written to the conversation log before Rasa sees it,
so a crash or an unavailable engine never loses it; the channel's own message
id makes a redelivery return the first answer instead of running a new turn.
"""

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.rasa_client import RasaClient, RasaUnavailableError, Reply
from crm_bridge.models import Conversation, ConversationMessage

logger = logging.getLogger(__name__)

# A turn still marked "processing" after this long was interrupted (a crash
# or a restart): a redelivery may run it again.
STALE_AFTER = dt.timedelta(seconds=90)


class UnknownConversationError(Exception):
    """The conversation id was never opened on this service."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id!r} does not exist")
        self.conversation_id = conversation_id


class TurnInProgressError(Exception):
    """The same message is being answered right now by another request."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id!r} is still being answered")
        self.message_id = message_id


class MessageIdReusedError(Exception):
    """A message id came back with another text: a client bug, not a retry."""

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"message_id {message_id!r} was already used for a different message"
        )
        self.message_id = message_id


@dataclass(frozen=True)
class _Claim:
    inbound_id: int
    replies: list[Reply] | None


class ConversationLocks:
    """One turn at a time per conversation, in arrival order, in this process."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def for_conversation(self, conversation_id: str) -> asyncio.Lock:
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    def release_unused(self, conversation_id: str) -> None:
        lock = self._locks.get(conversation_id)
        if (
            lock is not None
            and not lock.locked()
            and not getattr(lock, "_waiters", None)
        ):
            del self._locks[conversation_id]


class ConversationLog:
    """Reads and writes the conversation log in the CRM database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def open_conversation(self, conversation_id: str, channel: str) -> None:
        with self._sessions.begin() as session:
            session.add(Conversation(id=conversation_id, channel=channel))

    def exists(self, conversation_id: str) -> bool:
        with self._sessions() as session:
            return session.get(Conversation, conversation_id) is not None

    def claim(self, conversation_id: str, message_id: str, text: str) -> _Claim:
        """Stores the inbound message, or finds the first delivery of it."""
        try:
            with self._sessions.begin() as session:
                message = ConversationMessage(
                    conversation_id=conversation_id,
                    direction="in",
                    platform_message_id=message_id,
                    text=text,
                    status="processing",
                )
                session.add(message)
                session.flush()
                return _Claim(inbound_id=message.id, replies=None)
        except IntegrityError:
            pass
        return self._claim_redelivery(conversation_id, message_id, text)

    def _claim_redelivery(
        self, conversation_id: str, message_id: str, text: str
    ) -> _Claim:
        with self._sessions.begin() as session:
            message = session.scalars(
                select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.platform_message_id == message_id,
                )
            ).one()
            if message.text != text:
                raise MessageIdReusedError(message_id)
            if message.status == "answered":
                return _Claim(message.id, self._replies_of(session, message.id))
            stale_before = dt.datetime.now(dt.UTC) - STALE_AFTER
            if session.get_bind().dialect.name == "sqlite":
                # SQLite keeps CURRENT_TIMESTAMP as naive UTC text.
                stale_before = stale_before.replace(tzinfo=None)
            retry = (
                update(ConversationMessage)
                .where(ConversationMessage.id == message.id)
                .where(ConversationMessage.status == message.status)
                .values(status="processing", error=None)
            )
            if message.status == "processing":
                retry = retry.where(ConversationMessage.updated_at < stale_before)
            if session.execute(retry).rowcount != 1:
                raise TurnInProgressError(message_id)
            logger.info(
                "conversation %s: running message %s again (was %s)",
                conversation_id,
                message_id,
                message.status,
            )
            return _Claim(inbound_id=message.id, replies=None)

    def record_replies(
        self, conversation_id: str, inbound_id: int, replies: list[Reply]
    ) -> None:
        with self._sessions.begin() as session:
            for reply in replies:
                session.add(
                    ConversationMessage(
                        conversation_id=conversation_id,
                        direction="out",
                        reply_to_id=inbound_id,
                        text=reply.text,
                        buttons=reply.buttons or None,
                        status="sent",
                    )
                )
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound_id)
                .values(status="answered")
            )

    def record_failure(self, inbound_id: int, reason: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound_id)
                .values(status="failed", error=reason[:500])
            )

    @staticmethod
    def _replies_of(session: Session, inbound_id: int) -> list[Reply]:
        rows = session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.reply_to_id == inbound_id)
            .order_by(ConversationMessage.id)
        )
        return [Reply(text=row.text, buttons=row.buttons or []) for row in rows]


class TurnService:
    """Runs turns for every channel against the conversation log and Rasa."""

    def __init__(self, log: ConversationLog, rasa: RasaClient) -> None:
        self.log = log
        self._rasa = rasa
        self._locks = ConversationLocks()

    async def handle(
        self,
        channel: str,
        conversation_id: str,
        message_id: str,
        text: str,
        metadata: dict[str, Any],
    ) -> list[Reply]:
        """Answers one inbound message, exactly once per message id.

        Raises:
            UnknownConversationError: the conversation was never opened.
            TurnInProgressError: the same message is being answered now.
            MessageIdReusedError: the id was used before for another text.
            RasaUnavailableError: the engine failed; the message is kept and
                a redelivery with the same id runs the turn again.
        """
        # The lock is taken before anything else awaits, so turns keep the
        # order in which their requests arrived.
        lock = self._locks.for_conversation(conversation_id)
        try:
            async with lock:
                if not await run_in_threadpool(self.log.exists, conversation_id):
                    raise UnknownConversationError(conversation_id)
                return await self._run(
                    channel, conversation_id, message_id, text, metadata
                )
        finally:
            self._locks.release_unused(conversation_id)

    async def _run(
        self,
        channel: str,
        conversation_id: str,
        message_id: str,
        text: str,
        metadata: dict[str, Any],
    ) -> list[Reply]:
        claim = await run_in_threadpool(
            self.log.claim, conversation_id, message_id, text
        )
        if claim.replies is not None:
            logger.info(
                "%s conversation %s: message %s redelivered, same answer",
                channel,
                conversation_id,
                message_id,
            )
            return claim.replies

        logger.debug(
            "%s conversation %s: message %s in", channel, conversation_id, message_id
        )
        try:
            replies = await self._rasa.send(
                conversation_id,
                text,
                {**metadata, "channel": channel, "message_id": message_id},
            )
        except RasaUnavailableError as error:
            logger.error("%s conversation %s: %s", channel, conversation_id, error)
            await run_in_threadpool(
                self.log.record_failure, claim.inbound_id, str(error)
            )
            raise
        await run_in_threadpool(
            self.log.record_replies, conversation_id, claim.inbound_id, replies
        )
        return replies
