"""The gateway: one path for every channel's messages, in and out.

A webhook turns the platform's request into an `InboundMessage` and hands it
to `Gateway.receive`, which stores it (or recognises a redelivery) and returns
at once; the turn runs in the background, one message at a time per
conversation and in the order they were stored, and the replies go out through
the channel's `ChannelAdapter`. Web chat and voice wait for the turn and put
the replies in their HTTP response; SMS and Telegram send them through the
platform's API, so a slow turn never makes the platform's webhook time out.
"""

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from channels.coordination import Coordinator
from channels.log import (
    ANSWERED,
    FAILED,
    IGNORED,
    MAX_ATTEMPTS,
    NEEDS_HUMAN,
    PENDING,
    PROCESSING,
    QUEUED,
    SENT,
    UNDELIVERABLE,
    WITH_AGENT,
    ConversationLog,
    MessageIdReusedError,
    NewAttachment,
    StoredInbound,
    StoredOutbound,
    UnknownConversationError,
)
from channels.notices import notice
from channels.rasa_client import RasaClient, RasaUnavailableError, Reply
from channels.surveys import SurveyInviter
from channels.text_shaping import guess_language
from crm_bridge.services.handoff_policy import HandoffPolicy

logger = logging.getLogger(__name__)

# How long a redelivered platform id is recognised without the database.
SEEN_TTL_SECONDS = 24 * 3600
# How long one conversation's lock may be held by a process that died.
LOCK_TIMEOUT_SECONDS = 120
SWEEP_INTERVAL_SECONDS = 5.0
# How long the files of one message may take to download, all together.
MEDIA_SECONDS = 45.0
# Where live updates for the agent consoles are published.
CONSOLE_TOPIC = "console"

ButtonList = list[dict[str, str]]


@dataclass(frozen=True)
class MediaRef:
    """A file a message carries, as the platform names it."""

    source: str
    content_type: str = ""
    filename: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """One message from a person, whatever the channel.

    ``kind`` says what the gateway does with it: "text" (also "edited",
    "callback", "command") goes to the dialogue engine; "photo" is fetched and
    kept; "contact" links a phone number; "unsupported" gets a polite answer;
    "opt_out", "opt_in" and "help" are SMS keywords.
    """

    channel: str
    conversation_id: str
    # Where replies go (a phone number, a chat id); empty for web chat.
    address: str
    # Who sent it (a phone number, a Telegram user id).
    sender: str
    platform_message_id: str
    text: str
    kind: str = "text"
    media: tuple[MediaRef, ...] = ()
    language_hint: str | None = None
    sender_phone: str | None = None
    sender_name: str | None = None
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class DeliveryError(Exception):
    """The platform did not take the message now; it may later."""


class RecipientUnreachableError(Exception):
    """The platform will never deliver to this person (blocked, opted out)."""

    def __init__(self, reason: str, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.opted_out = opted_out


class ChannelAdapter(Protocol):
    """How the gateway talks back on one channel."""

    name: str
    # True when replies go back in the webhook's own HTTP response.
    inline: bool
    # True when the replies of a turn are sent as one message (SMS).
    joins_replies: bool

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        """Sends the replies of one turn; returns the platform's ids.

        Raises:
            DeliveryError: try again later.
            RecipientUnreachableError: never try again.
        """

    async def fetch_media(self, source: str) -> NewAttachment:
        """Downloads a file the person sent."""


@dataclass(frozen=True)
class Receipt:
    message: StoredInbound
    new: bool


class TurnTimeoutError(Exception):
    """The turn did not finish within the time the caller could wait."""

    def __init__(self, platform_message_id: str, message_id: int) -> None:
        super().__init__(platform_message_id)
        self.message_id = message_id


class Gateway:
    """Receives, answers and delivers messages for every channel."""

    def __init__(
        self,
        log: ConversationLog,
        rasa: RasaClient,
        coordinator: Coordinator,
        adapters: dict[str, ChannelAdapter] | None = None,
        surveys: SurveyInviter | None = None,
        policy: HandoffPolicy | None = None,
    ) -> None:
        self.log = log
        # When people answer, and what a person waiting for them is told.
        self.policy = policy or HandoffPolicy(always_open=True)
        # Survey invitations the CRM wrote, started in their conversations.
        self.surveys = surveys
        self._invitations_due: set[str] = set()
        self.coordinator = coordinator
        self._rasa = rasa
        self._adapters: dict[str, ChannelAdapter] = dict(adapters or {})
        self._finished: dict[int, asyncio.Event] = {}
        # Answers of turns run here, for the request waiting for them.
        self._outcomes: dict[int, tuple[str, list[StoredOutbound]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._working: set[str] = set()
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def rasa(self) -> RasaClient:
        return self._rasa

    def add_adapter(self, adapter: ChannelAdapter) -> None:
        self._adapters[adapter.name] = adapter

    def adapter(self, channel: str) -> ChannelAdapter | None:
        return self._adapters.get(channel)

    # -- in ---------------------------------------------------------------------

    async def receive(self, inbound: InboundMessage, create: bool = True) -> Receipt:
        """Stores the message and starts its turn; a redelivery changes nothing.

        Raises:
            UnknownConversationError: ``create`` is False and the conversation
                was never opened (web chat opens its conversations first).
            MessageIdReusedError: the platform id came with another text.
        """
        inbound = dataclasses.replace(
            inbound,
            conversation_id=storable(inbound.conversation_id),
            text=storable(inbound.text),
            platform_message_id=storable(inbound.platform_message_id),
            sender_name=storable(inbound.sender_name or "") or None,
        )
        seen_key = (
            f"seen:{inbound.channel}:{inbound.conversation_id}:"
            f"{inbound.platform_message_id}"
        )
        known = await self.coordinator.recall(seen_key)
        # The database has the last word: a key left over from another
        # database (a reset, a test run) points at nothing or at another message.
        message = (
            await run_in_threadpool(self.log.inbound, int(known))
            if known is not None and known.isdigit()
            else None
        )
        if message is not None and (
            message.conversation_id,
            message.platform_message_id,
        ) == (inbound.conversation_id, inbound.platform_message_id):
            if message.text != inbound.text:
                raise MessageIdReusedError(inbound.platform_message_id)
            if message.status == FAILED:
                # The sender retries a failed turn (web chat does).
                message, _ = await run_in_threadpool(
                    self.log.store_inbound,
                    inbound.conversation_id,
                    inbound.platform_message_id,
                    inbound.text,
                    inbound.kind,
                )
                self._schedule(inbound.conversation_id)
            return Receipt(message, new=False)

        if create:
            await run_in_threadpool(
                self.log.ensure_conversation,
                inbound.conversation_id,
                inbound.channel,
                inbound.address,
                inbound.sender,
                inbound.sender_phone,
                inbound.sender_name,
                inbound.language_hint,
            )
        message, new = await run_in_threadpool(
            self.log.store_inbound,
            inbound.conversation_id,
            inbound.platform_message_id,
            inbound.text,
            inbound.kind,
            None if create else inbound.channel,
            [(m.source, m.content_type, m.filename) for m in inbound.media],
        )
        if new:
            logger.info(
                "%s %s: message %s stored as %s (%s)",
                inbound.channel,
                inbound.conversation_id,
                inbound.platform_message_id,
                message.id,
                inbound.kind,
            )
        else:
            logger.info(
                "%s %s: message %s redelivered",
                inbound.channel,
                inbound.conversation_id,
                inbound.platform_message_id,
            )
        await self.coordinator.remember(seen_key, str(message.id), SEEN_TTL_SECONDS)
        if new or message.status == QUEUED:
            self._schedule(inbound.conversation_id)
        return Receipt(message, new)

    async def wait_for_turn(
        self, message_id: int, timeout: float
    ) -> tuple[str, list[StoredOutbound]]:
        """Waits until the message is answered (or failed).

        Returns its state and its replies (none until it is answered).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = self._finished.setdefault(message_id, asyncio.Event())
        try:
            while True:
                # The event fires when this process ran the turn; reading the
                # log now and then covers a turn run by another process.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        event.wait(), max(0.0, min(deadline - loop.time(), 0.5))
                    )
                known = self._outcomes.pop(message_id, None)
                if known is not None:
                    return known
                status, replies = await run_in_threadpool(self.log.outcome, message_id)
                if status not in (QUEUED, PROCESSING) or loop.time() >= deadline:
                    return status, replies
        finally:
            self._finished.pop(message_id, None)
            self._outcomes.pop(message_id, None)

    async def converse(
        self, inbound: InboundMessage, timeout: float, create: bool = False
    ) -> tuple[StoredInbound, list[StoredOutbound]]:
        """Receives a message and waits for its replies (web chat, voice).

        Raises:
            RasaUnavailableError: the turn failed; the message is kept and is
                run again when the same id is sent again (or by the sweep).
            TurnTimeoutError: the turn is still running.
        """
        receipt = await self.receive(inbound, create=create)
        status, replies = await self.wait_for_turn(receipt.message.id, timeout)
        if status == FAILED:
            raise RasaUnavailableError(
                f"the turn of message {inbound.platform_message_id} failed"
            )
        if status in (QUEUED, PROCESSING):
            raise TurnTimeoutError(inbound.platform_message_id, receipt.message.id)
        return receipt.message, replies

    # -- out --------------------------------------------------------------------

    async def push(
        self,
        conversation_id: str,
        text: str,
        buttons: ButtonList | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Sends a message into a conversation outside a turn (an agent's).

        Raises:
            UnknownConversationError: no such conversation.
        """
        if not await run_in_threadpool(self.log.exists, conversation_id):
            raise UnknownConversationError(conversation_id)
        message_id = await run_in_threadpool(
            self.log.add_outbound, conversation_id, storable(text), buttons, agent_id
        )
        self._schedule(conversation_id)
        await self.tell_console(
            "message",
            conversation_id=conversation_id,
            message_id=message_id,
            direction="out",
        )
        return message_id

    async def tell_console(self, event: str, **data: Any) -> None:
        """Tells every open agent console, in every process, that something
        changed (the queue, a conversation's transcript)."""
        try:
            await self.coordinator.publish(
                CONSOLE_TOPIC, json.dumps({"event": event, **data})
            )
        except Exception:  # noqa: BLE001 - consoles catch up on their next read
            logger.warning("console not told of %s in %s", event, data, exc_info=True)

    async def _deliver_pending(self, conversation_id: str) -> None:
        pending = await run_in_threadpool(self.log.pending_outbound, conversation_id)
        # On SMS the replies of one turn go out together: one message instead
        # of three that the network may deliver out of order. Elsewhere each
        # reply is its own message, marked sent as soon as it is.
        adapter = self._adapters.get(pending[0].channel) if pending else None
        joins = bool(getattr(adapter, "joins_replies", False))
        batches: list[list[StoredOutbound]] = []
        for message in pending:
            if (
                joins
                and batches
                and message.reply_to_id is not None
                and batches[-1][0].reply_to_id == message.reply_to_id
            ):
                batches[-1].append(message)
            else:
                batches.append([message])
        for batch in batches:
            if not await self._deliver(batch):
                # Keep the order: later messages wait for these.
                return

    async def _mark(
        self,
        batch: list[StoredOutbound],
        status: str,
        platform_ids: str | None = None,
        error: str | None = None,
    ) -> None:
        for message in batch:
            await run_in_threadpool(
                self.log.mark_outbound, message.id, status, platform_ids, error
            )

    async def _deliver(self, batch: list[StoredOutbound]) -> bool:
        first = batch[0]
        adapter = self._adapters.get(first.channel)
        if first.channel == "web":
            for message in batch:
                await self.coordinator.publish(
                    f"conversation:{message.conversation_id}",
                    json.dumps(
                        {
                            "id": message.id,
                            "text": message.text,
                            "buttons": message.buttons,
                            "from": message.agent_name,
                        }
                    ),
                )
            await self._mark(batch, SENT)
            return True
        if adapter is None or adapter.inline or not first.address:
            await self._mark(
                batch,
                UNDELIVERABLE,
                error=f"{first.channel} cannot receive messages outside a turn",
            )
            return True
        blocked = await run_in_threadpool(
            self.log.contact_blocked, first.conversation_id
        )
        if blocked:
            logger.info("%s not sent: contact %s", [m.id for m in batch], blocked)
            await self._mark(batch, UNDELIVERABLE, error=blocked)
            return True
        replies = [Reply(message.text, message.buttons) for message in batch]
        try:
            ids = await adapter.send(first.address, replies)
        except RecipientUnreachableError as error:
            logger.warning("%s undeliverable: %s", [m.id for m in batch], error)
            flag = "opted_out" if error.opted_out else "unreachable"
            await run_in_threadpool(
                partial(
                    self.log.set_contact_flags, first.conversation_id, **{flag: True}
                )
            )
            await self._mark(batch, UNDELIVERABLE, error=str(error))
            return True
        except DeliveryError as error:
            logger.warning("%s not sent yet: %s", [m.id for m in batch], error)
            await self._mark(batch, PENDING, error=str(error))
            return False
        # The platform's ids go on the first message of the batch: the
        # replies of a turn may have gone out as one SMS.
        await self._mark(batch[:1], SENT, ",".join(ids)[:200])
        await self._mark(batch[1:], SENT)
        return True

    # -- turns --------------------------------------------------------------------

    def _schedule(self, conversation_id: str) -> None:
        """Runs the conversation's waiting turns, once per process at a time.

        A conversation already being worked on here is only marked to be
        looked at again before its worker stops, so fifty redeliveries or a
        sweep every few seconds never pile up waiting workers.
        """
        if conversation_id in self._working:
            self._again.add(conversation_id)
            return
        self._working.add(conversation_id)
        task = asyncio.create_task(self._work_on(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _work_on(self, conversation_id: str) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                await self._drain(conversation_id)
                # Nothing awaits between this check and leaving the set: a
                # message scheduled meanwhile has set the mark before it.
                if conversation_id not in self._again:
                    return
        finally:
            self._working.discard(conversation_id)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "a conversation's turns stopped on an error; the sweep retries",
                exc_info=task.exception(),
            )

    async def _drain(self, conversation_id: str) -> None:
        async with self.coordinator.lock(
            f"conversation:{conversation_id}", LOCK_TIMEOUT_SECONDS
        ):
            await self._deliver_pending(conversation_id)
            while True:
                message = await run_in_threadpool(self.log.claim_next, conversation_id)
                if message is None:
                    if conversation_id in self._invitations_due:
                        await self._invite(conversation_id)
                    return
                try:
                    carry_on = await self._turn(message)
                finally:
                    event = self._finished.get(message.id)
                    if event is not None:
                        event.set()
                if not carry_on:
                    return

    async def _turn(self, message: StoredInbound) -> bool:
        """Answers one claimed message; False when the engine failed and the
        order must hold."""
        adapter = self._adapters.get(message.channel)
        inline = adapter.inline if adapter is not None else True
        try:
            replies, status = await self._answer(message)
        except RasaUnavailableError as error:
            give_up = message.attempts + 1 >= MAX_ATTEMPTS
            logger.error(
                "%s %s: turn of message %s failed (attempt %s): %s",
                message.channel,
                message.conversation_id,
                message.id,
                message.attempts + 1,
                error,
            )
            if not give_up:
                await run_in_threadpool(
                    self.log.fail_turn, message.id, str(error), False
                )
                return False
            replies = [Reply(notice("gave_up", message.language))]
            status = NEEDS_HUMAN
            opened = await run_in_threadpool(
                self.log.hand_to_a_person,
                message.conversation_id,
                "assistant_down",
                self.policy,
            )
            if opened is not None:
                await self._announce(message.conversation_id, opened, replies)
        stored = await run_in_threadpool(
            self.log.finish_turn,
            message,
            [(reply.text, reply.buttons) for reply in replies],
            inline,
            status,
        )
        if message.id in self._finished:
            # Someone here waits for this answer: hand it over as written.
            self._outcomes[message.id] = (status, stored)
        # An agent may have the conversation open: its transcript grew.
        await self.tell_console(
            "message",
            conversation_id=message.conversation_id,
            message_id=message.id,
            direction="in",
        )
        if not inline:
            await self._deliver_pending(message.conversation_id)
        if message.kind == "opt_out":
            # After the confirmation went out: from now on, nothing is sent.
            await run_in_threadpool(
                partial(
                    self.log.set_contact_flags, message.conversation_id, opted_out=True
                )
            )
        return True

    async def _answer(self, message: StoredInbound) -> tuple[Sequence[Reply], str]:
        # SMS says nothing of the person's language: their words do.
        language = message.language or (
            guess_language(message.text) if message.text.strip() else None
        )
        if message.kind == "opt_in" and message.opted_out:
            await run_in_threadpool(
                partial(
                    self.log.set_contact_flags, message.conversation_id, opted_out=False
                )
            )
            return [Reply(notice("sms_started", language))], ANSWERED
        if message.opted_out:
            return [], IGNORED
        if message.kind == "opt_out":
            return [Reply(notice("sms_stopped", language))], ANSWERED
        if await run_in_threadpool(self.log.with_a_person, message.conversation_id):
            # A person owns the conversation: the assistant keeps quiet and
            # the message waits in the agent's transcript.
            await self._keep_for_agent(message)
            return [], WITH_AGENT
        if message.kind == "help":
            return [Reply(notice("sms_help", language))], ANSWERED
        if message.kind == "too_long":
            return [Reply(notice("too_long", language))], ANSWERED
        if message.kind == "unsupported":
            return [Reply(notice("unsupported", language))], ANSWERED
        if message.kind == "group_chat":
            # Said once in a group, not after every message in it.
            if await run_in_threadpool(self.log.has_outbound, message.conversation_id):
                return [], IGNORED
            return [Reply(notice("private_only", language))], ANSWERED
        if message.kind == "contact_other":
            return [Reply(notice("contact_not_own", language))], ANSWERED
        if message.kind == "contact":
            await run_in_threadpool(
                self.log.link_phone, message.conversation_id, message.text
            )
            return [
                Reply(notice("contact_linked", language, phone=_last_digits(message)))
            ], ANSWERED

        replies: list[Reply] = []
        if message.media:
            replies.append(Reply(await self._fetch_media(message)))
            if not message.text.strip():
                # A photo sent where words were expected: keep it, and ask
                # the pending question again so the conversation goes on.
                question = await run_in_threadpool(
                    self.log.open_question, message.conversation_id
                )
                if question is not None:
                    replies.append(Reply(*question))
        if message.text.strip():
            answered = await self._rasa.send(
                message.conversation_id,
                for_the_dialogue(message.text),
                self._metadata(message),
            )
            replies.extend(answered)
            if answered:
                # The assistant answers in the person's language; the
                # gateway's own notices follow it.
                spoken = guess_language(" ".join(reply.text for reply in answered))
                if spoken != message.language:
                    await run_in_threadpool(
                        self.log.set_language, message.conversation_id, spoken
                    )
            opened = await run_in_threadpool(
                self.log.after_turn, message.conversation_id, self.policy
            )
            if opened is not None:
                await self._announce(message.conversation_id, opened, replies)
        return replies, ANSWERED

    async def _announce(
        self, conversation_id: str, opened: tuple[int, str], replies: list[Reply]
    ) -> None:
        """The conversation went to a person: the person is told what happens
        next, and every console sees it in the queue."""
        handoff_id, text = opened
        if text:
            replies.append(Reply(text))
        await self.tell_console(
            "queue",
            conversation_id=conversation_id,
            handoff_id=handoff_id,
            what="opened",
        )

    async def _keep_for_agent(self, message: StoredInbound) -> None:
        if message.kind == "contact":
            await run_in_threadpool(
                self.log.link_phone, message.conversation_id, message.text
            )
        if message.media:
            await self._fetch_media(message)

    async def _fetch_media(self, message: StoredInbound) -> str:
        adapter = self._adapters.get(message.channel)
        pending = await run_in_threadpool(self.log.media_to_fetch, message.id)
        if adapter is None:
            return notice("photo_failed", message.language)
        deadline = asyncio.get_running_loop().time() + MEDIA_SECONDS
        for attachment_id, source, _content_type in pending:
            try:
                # All the files of one message within one bound: the turn
                # must end well before it counts as interrupted.
                remaining = deadline - asyncio.get_running_loop().time()
                content = await asyncio.wait_for(
                    adapter.fetch_media(source), max(remaining, 0.1)
                )
            except Exception as error:  # noqa: BLE001 - any platform failure
                logger.warning("could not fetch %s: %r", source, error)
                return notice("photo_failed", message.language)
            number = await run_in_threadpool(
                self.log.store_media, attachment_id, content
            )
            logger.info(
                "attachment %s of message %s stored (case %s)",
                attachment_id,
                message.id,
                number or "not opened yet",
            )
        return notice("photo_received", message.language)

    @staticmethod
    def _metadata(message: StoredInbound) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "channel": message.channel,
            "message_id": message.platform_message_id,
        }
        if message.language:
            metadata["language"] = message.language
        if message.phone:
            metadata["phone"] = message.phone
        return metadata

    # -- background -------------------------------------------------------------

    async def sweep(self, now: dt.datetime | None = None) -> int:
        """Starts the turns of messages left behind; returns how many chats.

        ``now`` lets tests look at the log as it will be later.
        """
        conversations = await run_in_threadpool(self.log.conversations_to_sweep, now)
        for conversation_id in conversations:
            self._schedule(conversation_id)
        if self.surveys is not None:
            invited = await run_in_threadpool(self.surveys.conversations_due, now)
            for conversation_id in invited:
                await self.invite_now(conversation_id)
            conversations = sorted(set(conversations) | set(invited))
        return len(conversations)

    async def invite_now(self, conversation_id: str) -> None:
        """Starts the conversation's pending survey invitations once its
        waiting turns are done (the CRM calls it after writing one)."""
        if self.surveys is None:
            return
        self._invitations_due.add(conversation_id)
        self._schedule(conversation_id)

    async def _invite(self, conversation_id: str) -> None:
        # Under the conversation's lock: no turn of the person runs meanwhile.
        self._invitations_due.discard(conversation_id)
        if self.surveys is None:
            return
        started = await self.surveys.start(
            conversation_id, self.log, self._rasa, self._adapters
        )
        if started:
            await self._deliver_pending(conversation_id)
            for invitation in started:
                await run_in_threadpool(self.surveys.check_delivery, invitation)

    def start(self, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        async def sweep_forever() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.sweep()
                except Exception:  # noqa: BLE001 - the next sweep tries again
                    logger.exception("sweep failed")

        self._sweeper = asyncio.create_task(sweep_forever())

    async def stop(self) -> None:
        """Lets the turns under way finish (they hold database connections)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        pending = list(self._tasks)
        if pending:
            _, unfinished = await asyncio.wait(pending, timeout=10)
            # What is still running is cancelled and awaited: its messages
            # stay queued or processing in the log, and the next start's
            # sweep answers them.
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.wait(unfinished, timeout=5)
        await self._rasa.close()
        await self.coordinator.close()


def storable(text: str) -> str:
    """Text as every database keeps it: no NUL characters, no half of an
    emoji (a lone surrogate); what cannot be kept becomes U+FFFD."""
    text = text.replace("\x00", "")
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _last_digits(message: StoredInbound) -> str:
    digits = "".join(char for char in message.text if char.isdigit())
    return f"…{digits[-3:]}" if digits else ""


# Rasa's own commands: typed by a person they would wipe the conversation
# ("/restart") instead of being read as words.
_ENGINE_COMMANDS = re.compile(r"^\s*/(restart|session_start|back)\b", re.IGNORECASE)


def for_the_dialogue(text: str) -> str:
    """The text Rasa gets: button payloads pass ("/affirm"), commands that
    would reset the dialogue are sent as plain words."""
    return _ENGINE_COMMANDS.sub(lambda match: match.group(1), text, count=1)
