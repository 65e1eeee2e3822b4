"""Survey invitations, sent by the assistant in the case's own conversation.

The CRM writes an invitation as ``pending`` when it closes a case
(crm_bridge/services/surveys.py). The gateway's sweep, or a nudge from the API
call that wrote it, finds it and, holding the conversation's lock (so no turn of
the person runs at the same time), asks Rasa to start the survey there: the
intent ``EXTERNAL_survey_invitation`` with the invitation's id. The
assistant's first messages come back in Rasa's answer; they are stored as
pending outbound messages in the same transaction that marks the invitation
``sent``, and then delivered like any other message.

So a pending invitation survives a restart (it is a row), and is sent once: a
crash before that transaction leaves it pending and nothing was delivered; after
it, the messages are in the log and the invitation is no longer pending.
Nothing goes to a contact who opted out or blocked the bot, and a conversation
in the middle of another form is left alone until it is free.
"""

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.log import PENDING, UNDELIVERABLE, ConversationLog
from channels.rasa_client import RasaClient, RasaUnavailableError, Reply
from crm_bridge.core.db import as_utc
from crm_bridge.models import (
    ConversationMessage,
    InvitationStatus,
    SurveyInvitation,
    Ticket,
)

logger = logging.getLogger(__name__)

INTENT = "EXTERNAL_survey_invitation"
ENTITY = "survey_invitation"
SURVEY_FORM = "survey_form"
# An invitation not sent within a day is given up (the conversation stayed
# busy, or the channel was never set up).
MAX_AGE = dt.timedelta(days=1)
# A form untouched for longer than Rasa's session (bot/domain/core.yml) is
# over: the next message starts a new session.
SESSION_EXPIRY = dt.timedelta(minutes=120)


@dataclass(frozen=True)
class PendingInvitation:
    id: int
    conversation_id: str
    channel: str
    language: str


@dataclass(frozen=True)
class StartedInvitation:
    id: int
    message_ids: list[int]


class SurveyInviter:
    """Finds pending invitations and starts their surveys; every database
    method is one transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    # -- reading and marking --------------------------------------------------

    def conversations_due(self, now: dt.datetime | None = None) -> list[str]:
        """Conversations with an invitation to send; too old ones fail here."""
        now = now or dt.datetime.now(dt.UTC)
        with self._sessions() as session:
            rows = session.execute(
                select(
                    SurveyInvitation.id,
                    SurveyInvitation.conversation_id,
                    SurveyInvitation.created_at,
                ).where(SurveyInvitation.status == InvitationStatus.PENDING)
            ).all()
        due = set()
        for row in rows:
            if as_utc(row.created_at) < now - MAX_AGE:
                self.fail(row.id, "not sent within a day")
            else:
                due.add(row.conversation_id)
        return sorted(due)

    def pending(self, conversation_id: str) -> list[PendingInvitation]:
        with self._sessions() as session:
            rows = session.execute(
                select(
                    SurveyInvitation.id,
                    SurveyInvitation.channel,
                    Ticket.language,
                )
                .join(Ticket, SurveyInvitation.ticket_id == Ticket.id)
                .where(
                    SurveyInvitation.conversation_id == conversation_id,
                    SurveyInvitation.status == InvitationStatus.PENDING,
                )
                .order_by(SurveyInvitation.id)
            ).all()
        return [
            PendingInvitation(row.id, conversation_id, row.channel, row.language.value)
            for row in rows
        ]

    def fail(self, invitation_id: int, reason: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(SurveyInvitation)
                .where(
                    SurveyInvitation.id == invitation_id,
                    SurveyInvitation.status.in_(
                        (InvitationStatus.PENDING, InvitationStatus.SENT)
                    ),
                )
                .values(status=InvitationStatus.FAILED, error=reason[:500])
            )
        logger.warning("survey invitation %s not delivered: %s", invitation_id, reason)

    def store_sent(
        self, invitation: PendingInvitation, replies: list[Reply]
    ) -> list[int] | None:
        """Writes the assistant's messages to be sent and marks the invitation
        sent, together; None when it was no longer pending."""
        with self._sessions() as session:
            marked = session.execute(
                update(SurveyInvitation)
                .where(
                    SurveyInvitation.id == invitation.id,
                    SurveyInvitation.status == InvitationStatus.PENDING,
                )
                .values(status=InvitationStatus.SENT, sent_at=dt.datetime.now(dt.UTC))
            )
            if marked.rowcount != 1:
                session.rollback()
                return None
            rows = [
                ConversationMessage(
                    conversation_id=invitation.conversation_id,
                    direction="out",
                    text=reply.text,
                    buttons=reply.buttons or None,
                    status=PENDING,
                )
                for reply in replies
            ]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
            session.commit()
            return ids

    def check_delivery(self, started: StartedInvitation) -> None:
        """An invitation the channel refused for good is marked failed."""
        with self._sessions() as session:
            refused = session.execute(
                select(ConversationMessage.error)
                .where(
                    ConversationMessage.id.in_(started.message_ids),
                    ConversationMessage.status == UNDELIVERABLE,
                )
                .limit(1)
            ).first()
        if refused is not None:
            self.fail(started.id, refused.error or "undeliverable")

    # -- starting the surveys -------------------------------------------------

    async def start(
        self,
        conversation_id: str,
        log: ConversationLog,
        rasa: RasaClient,
        adapters: Mapping[str, Any],
    ) -> list[StartedInvitation]:
        """Starts the conversation's pending surveys; the caller holds the
        conversation's lock and delivers the stored messages afterwards."""
        started: list[StartedInvitation] = []
        if await run_in_threadpool(log.with_a_person, conversation_id):
            # Never while a person owns the conversation: the invitation stays
            # pending, and the sweep sends it once the agent is done.
            logger.info("survey of %s waits: a person has it", conversation_id)
            return started
        for invitation in await run_in_threadpool(self.pending, conversation_id):
            reason = await _cannot_send(invitation, log, adapters)
            if reason is not None:
                await run_in_threadpool(self.fail, invitation.id, reason)
                continue
            try:
                if await _busy(rasa, conversation_id):
                    logger.info(
                        "survey invitation %s waits: %s is in another form",
                        invitation.id,
                        conversation_id,
                    )
                    continue
                replies = await rasa.trigger_intent(
                    conversation_id, INTENT, {ENTITY: str(invitation.id)}
                )
            except RasaUnavailableError as error:
                logger.warning(
                    "survey invitation %s stays pending: %s", invitation.id, error
                )
                continue
            if not replies:
                await run_in_threadpool(
                    self.fail, invitation.id, "the assistant did not start the survey"
                )
                continue
            ids = await run_in_threadpool(self.store_sent, invitation, replies)
            if ids is not None:
                logger.info(
                    "survey invitation %s started in %s (%s messages)",
                    invitation.id,
                    conversation_id,
                    len(ids),
                )
                started.append(StartedInvitation(invitation.id, ids))
        return started


async def _cannot_send(
    invitation: PendingInvitation, log: ConversationLog, adapters: Mapping[str, Any]
) -> str | None:
    """Why nothing can be sent for this invitation now, if so."""
    channel = invitation.channel
    if channel != "web":
        adapter = adapters.get(channel)
        if adapter is None or adapter.inline:
            return f"{channel} cannot receive messages outside a call or a turn"
    conversation_id = invitation.conversation_id
    if not await run_in_threadpool(log.exists, conversation_id):
        digits = re.fullmatch(r"sms-(\d{8,15})", conversation_id)
        if channel != "sms" or digits is None:
            return "no such conversation on this service"
        # A phone call's survey goes by SMS to the caller: the conversation an
        # SMS from that number would open (channels/twilio_sms.py).
        phone = "+" + digits.group(1)
        await run_in_threadpool(
            log.ensure_conversation,
            conversation_id,
            "sms",
            phone,
            phone,
            phone,
            None,
            invitation.language,
        )
    return await run_in_threadpool(log.contact_blocked, conversation_id)


async def _busy(rasa: RasaClient, conversation_id: str) -> bool:
    """True while the person is in the middle of another form (a claim)."""
    loop, last_event = await rasa.active_loop(conversation_id)
    if loop is None or loop == SURVEY_FORM:
        return False
    if last_event is None:
        return True
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromtimestamp(last_event, dt.UTC)
    return age < SESSION_EXPIRY
