"""Handoffs: a conversation passes from the assistant to a person and back.

Every step is an event on the handoff's ticket with who and when, so waiting
times and escalation rates can be measured from the CRM alone:
``handoff_requested`` (by the person, the assistant, a rule or an agent),
``handoff_claimed``, ``agent_reply``, ``handed_back`` and ``handoff_closed``.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.core.db import as_utc
from crm_bridge.models import (
    Agent,
    AgentRole,
    Conversation,
    ConversationNote,
    Handoff,
    HandoffStatus,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    WarrantyStatus,
)
from crm_bridge.services.agents import is_online
from crm_bridge.services.errors import CrmError
from crm_bridge.services.handoff_policy import (
    MODULE_OF_KIND,
    HandoffPolicy,
    announcement,
)
from crm_bridge.services.numbering import next_ticket_number

logger = logging.getLogger(__name__)

OPEN = (HandoffStatus.WAITING, HandoffStatus.ACTIVE)
# The survey after a conversation closed by a person (surveys.csv).
CONTACT_SURVEY = "post_contact"
# Who asked for the person, by reason, on the timeline.
_REQUESTED_BY = {
    "requested": "customer",
    "not_understood": "assistant",
    "assistant_down": "gateway",
}
REASONS = ("requested", "not_understood", "rule", "agent", "assistant_down")


class ConversationNotFoundError(CrmError):
    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"conversation {conversation_id!r} not found")


class NoOpenHandoffError(CrmError):
    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__("this conversation is not waiting for a person")


class HandoffTakenError(CrmError):
    """Someone else claimed the conversation first."""

    def __init__(self, by: str) -> None:
        self.by = by
        super().__init__(f"already taken by {by}")


class NotYoursError(CrmError):
    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__("this conversation is not assigned to you")


class AlreadyHandedOffError(CrmError):
    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__("this conversation is already with a person")


def _actor(agent: Agent | None, fallback: str = "assistant") -> str:
    return f"agent:{agent.username}" if agent is not None else fallback


def _event(
    ticket: Ticket, kind: str, actor: str, at: dt.datetime | None = None, **detail
) -> None:
    event = TicketEvent(kind=kind, detail=detail, actor=actor[:50])
    if at is not None:
        event.created_at = at
    ticket.events.append(event)


def current(session: Session, conversation_id: str) -> Handoff | None:
    """The conversation's open handoff (waiting or active), if any."""
    return session.scalar(
        select(Handoff)
        .where(Handoff.open_key == conversation_id)
        .options(selectinload(Handoff.agent), selectinload(Handoff.ticket))
    )


def is_with_a_person(session: Session, conversation_id: str) -> bool:
    return (
        session.scalar(select(Handoff.id).where(Handoff.open_key == conversation_id))
        is not None
    )


# -- opening ---------------------------------------------------------------------


def open_for_ticket(
    session: Session,
    ticket: Ticket,
    reason: str,
    module: str | None = None,
    rule: str | None = None,
    agent: Agent | None = None,
) -> Handoff:
    """Opens a handoff on ``ticket`` unless the conversation has one open.

    Flushes, never commits: it joins the caller's transaction (the ticket's).
    A handoff opened by an agent taking over starts active, in their hands.
    """
    existing = current(session, ticket.conversation_id)
    if existing is not None:
        return existing
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation is None:
        raise ConversationNotFoundError(ticket.conversation_id)
    now = dt.datetime.now(dt.UTC)
    handoff = Handoff(
        conversation_id=ticket.conversation_id,
        open_key=ticket.conversation_id,
        ticket=ticket,
        status=HandoffStatus.ACTIVE if agent else HandoffStatus.WAITING,
        reason=reason,
        rule=rule,
        module=module or MODULE_OF_KIND.get(ticket.kind, "general"),
        language=conversation.language or getattr(ticket.language, "value", None),
        agent=agent,
        claimed_at=now if agent else None,
        detail={},
    )
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:
        # Another process opened one for this conversation a moment ago.
        found = current(session, ticket.conversation_id)
        if found is None:
            raise
        return found
    _event(
        ticket,
        "handoff_requested",
        _actor(agent, f"rule:{rule}" if rule else _REQUESTED_BY.get(reason, reason)),
        reason=reason,
        module=handoff.module,
        rule=rule,
    )
    if agent is not None:
        _event(ticket, "handoff_claimed", _actor(agent), waited_seconds=0)
    logger.info(
        "handoff %s opened in conversation %s (%s, %s) on ticket %s",
        handoff.id,
        ticket.conversation_id,
        reason,
        handoff.module,
        ticket.number,
    )
    return handoff


def open_with_new_ticket(
    session: Session,
    conversation_id: str,
    reason: str,
    module: str = "general",
    agent: Agent | None = None,
) -> Handoff:
    """Opens a handoff case (GEN-…) and its handoff; commits.

    For a conversation no case was opened in yet: a supervisor taking it
    over, or the assistant unable to answer at all.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFoundError(conversation_id)
    existing = current(session, conversation_id)
    if existing is not None:
        return existing
    ticket = new_handoff_ticket(session, conversation_id)
    handoff = open_for_ticket(session, ticket, reason, module, agent=agent)
    session.commit()
    return handoff


def new_handoff_ticket(session: Session, conversation_id: str) -> Ticket:
    """A new handoff case (GEN-…) for the conversation's party; flushes."""
    conversation = session.get_one(Conversation, conversation_id)
    contact = conversation.contact
    ticket = Ticket(
        number=next_ticket_number(session, TicketKind.HANDOFF, dt.date.today().year),
        kind=TicketKind.HANDOFF,
        status=TicketStatus.OPEN,
        channel=conversation.channel,
        conversation_id=conversation_id,
        language=conversation.language or "es",
        warranty_status=WarrantyStatus.UNKNOWN,
        customer_id=conversation.customer_id
        or (contact.customer_id if contact else None),
        point_of_sale_id=conversation.point_of_sale_id
        or (contact.point_of_sale_id if contact else None),
    )
    session.add(ticket)
    session.flush()
    return ticket


def takeover(session: Session, conversation_id: str, agent: Agent) -> Handoff:
    """A supervisor takes a conversation from the assistant; commits."""
    if current(session, conversation_id) is not None:
        raise AlreadyHandedOffError(conversation_id)
    handoff = open_with_new_ticket(session, conversation_id, "agent", agent=agent)
    if handoff.agent_id != agent.id:
        raise AlreadyHandedOffError(conversation_id)
    return handoff


def after_turn(
    session: Session,
    conversation_id: str,
    policy: HandoffPolicy,
    now: dt.datetime | None = None,
) -> tuple[Handoff, str] | None:
    """After the assistant's turn: applies the rules to the cases it opened,
    and says once what happens next when the conversation went to a person.

    Returns the handoff and what to tell the person, when there is something
    to tell; commits.
    """
    now = now or dt.datetime.now(dt.UTC)
    handoff = current(session, conversation_id)
    if handoff is None and policy.rules:
        kinds = {rule.ticket_kind for rule in policy.rules}
        candidates = session.scalars(
            select(Ticket)
            .where(
                Ticket.conversation_id == conversation_id,
                Ticket.kind.in_(kinds),
                Ticket.status != TicketStatus.CLOSED,
                ~exists().where(Handoff.ticket_id == Ticket.id),
            )
            .order_by(Ticket.id)
        )
        for ticket in candidates:
            rule = next(
                (r for r in policy.rules if r.matches(ticket, now.date())), None
            )
            if rule is not None:
                handoff = open_for_ticket(
                    session, ticket, "rule", rule.module, rule=rule.name
                )
                break
    if handoff is None or handoff.announced_at is not None:
        session.commit()
        return None
    handoff.announced_at = now
    # Told in the language the assistant just answered in (the platform's
    # own hint may differ); queued for the agents who speak it.
    conversation = session.get_one(Conversation, conversation_id)
    if conversation.language in ("es", "en"):
        handoff.language = conversation.language
    if handoff.status is HandoffStatus.ACTIVE:
        session.commit()
        return handoff, ""
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.status == HandoffStatus.WAITING,
            Handoff.id < handoff.id,
            Handoff.module.in_({handoff.module, "general"}),
        )
    )
    text = announcement(
        policy,
        handoff.language,
        handoff.ticket.number,
        int(ahead or 0),
        agents_online(session, policy, handoff, now),
        now,
        by_phone=conversation.channel == "voice",
    )
    session.commit()
    return handoff, text


def agents_online(
    session: Session, policy: HandoffPolicy, handoff: Handoff, now: dt.datetime
) -> int:
    """Agents online now who could take the handoff."""
    agents = session.scalars(select(Agent).where(Agent.active.is_(True)))
    return sum(
        1
        for agent in agents
        if is_online(agent, policy.online_seconds, now) and offered_to(handoff, agent)
    )


# -- who sees what ----------------------------------------------------------------


def offered_to(handoff: Handoff, agent: Agent) -> bool:
    """Whether a waiting handoff is for this agent's skills and languages."""
    if agent.role is AgentRole.SUPERVISOR:
        return True
    skilled = handoff.module == "general" or handoff.module in (agent.skills or [])
    speaks = handoff.language is None or handoff.language in (agent.languages or [])
    return skilled and speaks


def can_read(session: Session, agent: Agent, conversation_id: str) -> bool:
    """Supervisors read every conversation; an agent, the one they hold and
    the ones waiting for their skills and languages. Once handed back or
    closed, what the person says next is no longer theirs to read."""
    if agent.role is AgentRole.SUPERVISOR:
        return True
    handoff = current(session, conversation_id)
    if handoff is None:
        return False
    if handoff.status is HandoffStatus.ACTIVE:
        return handoff.agent_id == agent.id
    return offered_to(handoff, agent)


def holds(session: Session, agent: Agent, conversation_id: str) -> bool:
    """Whether the agent holds the conversation now."""
    handoff = current(session, conversation_id)
    return (
        handoff is not None
        and handoff.status is HandoffStatus.ACTIVE
        and handoff.agent_id == agent.id
    )


@dataclass(frozen=True)
class Queue:
    waiting: list[Handoff]
    active: list[Handoff]


def queue(session: Session, viewer: Agent) -> Queue:
    """The waiting conversations offered to the viewer, oldest first, and the
    active ones (a supervisor sees everybody's; an agent, their own)."""
    rows = session.scalars(
        select(Handoff)
        .where(Handoff.open_key.is_not(None))
        .options(selectinload(Handoff.agent), selectinload(Handoff.ticket))
        .order_by(Handoff.id)
    ).all()
    waiting = [
        h for h in rows if h.status is HandoffStatus.WAITING and offered_to(h, viewer)
    ]
    active = [
        h
        for h in rows
        if h.status is HandoffStatus.ACTIVE
        and (viewer.role is AgentRole.SUPERVISOR or h.agent_id == viewer.id)
    ]
    return Queue(waiting, active)


# -- an agent's work ---------------------------------------------------------------


def claim(
    session: Session, conversation_id: str, agent: Agent, now: dt.datetime | None = None
) -> Handoff:
    """Gives the waiting conversation to the agent; exactly one claim wins.

    The change is one conditional UPDATE (waiting → active), so two agents
    clicking at once, in two processes, cannot both get it. Commits.

    Raises:
        NoOpenHandoffError: nothing waits in this conversation.
        HandoffTakenError: someone else has it.
        NotYoursError: not for this agent's skills or languages.
    """
    now = now or dt.datetime.now(dt.UTC)
    handoff = current(session, conversation_id)
    if handoff is None:
        raise NoOpenHandoffError(conversation_id)
    if handoff.status is HandoffStatus.ACTIVE:
        if handoff.agent_id == agent.id:
            return handoff
        raise HandoffTakenError(handoff.agent.display_name if handoff.agent else "?")
    if not offered_to(handoff, agent):
        raise NotYoursError(conversation_id)
    won = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.WAITING)
        .values(status=HandoffStatus.ACTIVE, agent_id=agent.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        session.rollback()
        session.expire_all()
        taken = current(session, conversation_id)
        by = taken.agent.display_name if taken and taken.agent else "someone else"
        raise HandoffTakenError(by)
    requested = as_utc(handoff.requested_at)
    _event(
        handoff.ticket,
        "handoff_claimed",
        _actor(agent),
        waited_seconds=max(0, int((now - requested).total_seconds())),
    )
    session.commit()
    session.refresh(handoff)
    logger.info("handoff %s claimed by %s", handoff.id, agent.username)
    return handoff


def release(
    session: Session, conversation_id: str, by: Agent, reason: str = "released"
) -> Handoff:
    """Puts a conversation an agent holds back in the waiting queue (the
    agent left, or was deactivated); commits.

    Raises:
        NoOpenHandoffError: nobody holds it.
    """
    handoff = current(session, conversation_id)
    if handoff is None or handoff.status is not HandoffStatus.ACTIVE:
        raise NoOpenHandoffError(conversation_id)
    held_by = handoff.agent.username if handoff.agent else None
    handoff.status = HandoffStatus.WAITING
    handoff.agent_id = None
    handoff.claimed_at = None
    _event(handoff.ticket, "handoff_released", _actor(by), held_by=held_by, why=reason)
    session.commit()
    logger.info(
        "handoff %s back in the queue (%s, by %s)", handoff.id, reason, by.username
    )
    return handoff


def held_by(session: Session, agent_id: int) -> list[str]:
    """The conversations an agent holds now."""
    return list(
        session.scalars(
            select(Handoff.conversation_id).where(
                Handoff.agent_id == agent_id, Handoff.status == HandoffStatus.ACTIVE
            )
        )
    )


def owned(session: Session, conversation_id: str, agent: Agent) -> Handoff:
    """The active handoff of the conversation, if this agent holds it."""
    handoff = current(session, conversation_id)
    if handoff is None:
        raise NoOpenHandoffError(conversation_id)
    if handoff.status is not HandoffStatus.ACTIVE or handoff.agent_id != agent.id:
        raise NotYoursError(conversation_id)
    return handoff


def record_reply(
    session: Session, handoff: Handoff, agent: Agent, message_id: int
) -> None:
    _event(handoff.ticket, "agent_reply", _actor(agent), message_id=message_id)
    session.commit()


def hand_back(
    session: Session, conversation_id: str, agent: Agent, slots: dict[str, str]
) -> Handoff:
    """The assistant takes the conversation again; commits."""
    handoff = owned(session, conversation_id, agent)
    handoff.status = HandoffStatus.HANDED_BACK
    handoff.open_key = None
    handoff.ended_at = dt.datetime.now(dt.UTC)
    handoff.detail = {**(handoff.detail or {}), "slots": slots}
    _event(handoff.ticket, "handed_back", _actor(agent), slots=sorted(slots))
    if handoff.ticket.kind is TicketKind.HANDOFF:
        # The person's request was answered; asking again opens a new one.
        handoff.ticket.status = TicketStatus.RESOLVED
    session.commit()
    logger.info("handoff %s handed back by %s", handoff.id, agent.username)
    return handoff


def close(
    session: Session,
    conversation_id: str,
    agent: Agent,
    resolution: str,
    resolved_first_contact: bool,
) -> Handoff:
    """Ends the handoff and closes its case with the resolution; commits.

    A case solved by the person in this first contact is counted as such
    (``resolved_first_contact``). Closing invites the customer to the
    satisfaction survey, as every closed case does.
    """
    handoff = owned(session, conversation_id, agent)
    handoff.status = HandoffStatus.CLOSED
    handoff.open_key = None
    handoff.ended_at = dt.datetime.now(dt.UTC)
    handoff.resolved_first_contact = resolved_first_contact
    ticket = handoff.ticket
    if resolved_first_contact:
        ticket.resolved_first_contact = True
    _event(
        ticket,
        "handoff_closed",
        _actor(agent),
        resolved_first_contact=resolved_first_contact,
    )
    session.commit()
    # Imported here: surveys imports tickets, which opens handoffs.
    from crm_bridge.services import surveys

    # A conversation with a person is asked about that person; a repair
    # case about the repair.
    code = CONTACT_SURVEY if ticket.kind is TicketKind.HANDOFF else None
    surveys.close_ticket(
        session, ticket.number, resolution, survey_code=code or surveys.DEFAULT_SURVEY
    )
    logger.info("handoff %s closed by %s", handoff.id, agent.username)
    return handoff


def add_note(
    session: Session, conversation_id: str, agent: Agent, text: str
) -> ConversationNote:
    note = ConversationNote(conversation_id=conversation_id, agent=agent, text=text)
    session.add(note)
    session.commit()
    return note
