"""iQS: closing a case, inviting its customer to the survey, the answers, the report.

Closing a ticket writes one invitation (never two: ``survey_invitations.ticket_id``
is unique) for the customer, on the channel and in the conversation of the case;
the services app's gateway sends it (channels/surveys.py). The assistant then
stores each answer as soon as it is given, so a survey left half way keeps what
was said.

A case opened by a phone call is surveyed by SMS to the caller's number, in the
conversation an SMS from that number would have: a survey read aloud in a call
we would have to place is not something the assistant does. Without a phone
number, or when the contact opted out of messages (SMS STOP) or blocked the bot,
nothing is sent and the reason is kept: on the ticket's timeline, and on a
``failed`` invitation when there is one.
"""

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.models import (
    Channel,
    ChannelContact,
    Conversation,
    InvitationStatus,
    QuestionKind,
    ServiceCentre,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from crm_bridge.services.errors import CrmError
from crm_bridge.services.tickets import get_ticket

logger = logging.getLogger(__name__)

# The questionnaire sent after a case unless the caller names another.
DEFAULT_SURVEY = "post_repair"
ACTOR = "crm"
# Where an invitation may still change: answered, declined, completed.
OPEN_STATUSES = (
    InvitationStatus.PENDING,
    InvitationStatus.SENT,
    InvitationStatus.IN_PROGRESS,
    # The channel failed, yet the person may still answer (e.g. by web chat).
    InvitationStatus.FAILED,
)
SURVEYABLE = (TicketStatus.CLOSED, TicketStatus.RESOLVED)


class SurveyNotFoundError(CrmError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"survey {code!r} not found or not active")


class InvitationNotFoundError(CrmError):
    """No such invitation in this conversation (whether it exists elsewhere
    is not said)."""

    def __init__(self, invitation_id: int) -> None:
        self.invitation_id = invitation_id
        super().__init__(f"survey invitation {invitation_id} not found")


class TicketNotClosedError(CrmError):
    def __init__(self, number: str, status: str) -> None:
        self.number = number
        super().__init__(f"ticket {number} is {status}: only a closed case is surveyed")


class SurveyFinishedError(CrmError):
    """The person declined or completed the survey: it takes nothing more."""

    def __init__(self, invitation_id: int, status: str) -> None:
        self.invitation_id = invitation_id
        self.status = status
        super().__init__(f"survey invitation {invitation_id} is already {status}")


class AnswerRejectedError(CrmError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Closing:
    """What closing a ticket did."""

    ticket: Ticket
    invitation: SurveyInvitation | None
    # Why no invitation was written, when none was.
    survey_note: str | None
    closed_now: bool


_INVITATION_LOAD = (
    selectinload(SurveyInvitation.ticket).selectinload(Ticket.service_centre),
    selectinload(SurveyInvitation.survey).selectinload(Survey.questions),
    selectinload(SurveyInvitation.answers),
)


# -- closing and inviting -------------------------------------------------------


def close_ticket(
    session: Session,
    number: str,
    resolution: str,
    now: dt.datetime | None = None,
    survey_code: str = DEFAULT_SURVEY,
) -> Closing:
    """Close the ticket and invite its customer to a survey (the default one,
    after a repair); commits.

    Closing an already closed ticket changes nothing (its first resolution
    stays) and returns it with its invitation.

    Raises:
        TicketNotFoundError: no such ticket.
    """
    ticket = get_ticket(session, number)
    if ticket.status is TicketStatus.CLOSED:
        invitation = _invitation_of(session, ticket)
        return Closing(ticket, invitation, None, closed_now=False)

    try:
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = now or dt.datetime.now(dt.UTC)
        ticket.resolution = resolution
        _add_event(ticket, "closed", resolution=resolution)
        invitation, note = _new_invitation(session, ticket, survey_code)
        session.commit()
    except IntegrityError:
        # A concurrent call closed it first (one invitation per ticket).
        session.rollback()
        ticket = get_ticket(session, number)
        return Closing(ticket, _invitation_of(session, ticket), None, False)
    logger.info(
        "ticket %s closed; survey %s",
        ticket.number,
        f"invitation {invitation.id} {invitation.status.value}"
        if invitation
        else f"not sent ({note})",
    )
    return Closing(ticket, invitation, note, closed_now=True)


def invite(
    session: Session, number: str, survey_code: str | None = None
) -> tuple[SurveyInvitation | None, str | None, bool]:
    """Invite the customer of a closed ticket to a survey; commits.

    Returns:
        The invitation (None when none can be sent), why not when it is None,
        and True when it was written now (False: the ticket had one already).

    Raises:
        TicketNotFoundError: no such ticket.
        TicketNotClosedError: the case is still open.
        SurveyNotFoundError: no active survey with that code.
    """
    ticket = get_ticket(session, number)
    existing = _invitation_of(session, ticket)
    if existing is not None:
        return existing, None, False
    if ticket.status not in SURVEYABLE:
        raise TicketNotClosedError(ticket.number, ticket.status.value)
    code = survey_code or DEFAULT_SURVEY
    if not _active_survey(session, code):
        raise SurveyNotFoundError(code)

    try:
        invitation, note = _new_invitation(session, ticket, code)
        session.commit()
    except IntegrityError:
        # A concurrent call invited first: one invitation per ticket.
        session.rollback()
        return _invitation_of(session, ticket), None, False
    return invitation, note, invitation is not None


def _invitation_of(session: Session, ticket: Ticket) -> SurveyInvitation | None:
    return session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.ticket_id == ticket.id)
        .options(*_INVITATION_LOAD)
    )


def _active_survey(session: Session, code: str) -> Survey | None:
    survey = session.get(Survey, code)
    if survey is None or not survey.active or not survey.questions:
        return None
    return survey


def _new_invitation(
    session: Session, ticket: Ticket, code: str
) -> tuple[SurveyInvitation | None, str | None]:
    """The invitation of the ticket, added to the session, or why there is none."""
    survey = _active_survey(session, code)
    if survey is None:
        _add_event(ticket, "survey_not_sent", reason="no_active_survey", survey=code)
        return None, "no_active_survey"

    channel, conversation_id, contact = _where_to_invite(session, ticket)
    if conversation_id is None:
        _add_event(ticket, "survey_not_sent", reason="no_phone_number")
        return None, "no_phone_number"

    invitation = SurveyInvitation(
        ticket=ticket,
        survey=survey,
        conversation_id=conversation_id,
        channel=channel,
        status=InvitationStatus.PENDING,
    )
    blocked = _blocked(contact)
    if blocked:
        invitation.status = InvitationStatus.FAILED
        invitation.error = blocked
        _add_event(ticket, "survey_not_sent", reason=blocked, survey=code)
    else:
        _add_event(
            ticket,
            "survey_invited",
            survey=code,
            channel=channel,
            conversation_id=conversation_id,
        )
    session.add(invitation)
    session.flush()
    return invitation, blocked


def _where_to_invite(
    session: Session, ticket: Ticket
) -> tuple[str, str | None, ChannelContact | None]:
    """(channel, conversation id, contact) the survey goes to."""
    conversation = session.get(Conversation, ticket.conversation_id)
    contact = conversation.contact if conversation is not None else None
    if ticket.channel is not Channel.VOICE:
        return ticket.channel.value, ticket.conversation_id, contact

    phone = (contact.phone if contact else None) or (
        ticket.customer.phone if ticket.customer else None
    )
    if not phone:
        return Channel.SMS.value, None, None
    sms_contact = session.scalar(
        select(ChannelContact).where(
            ChannelContact.channel == Channel.SMS.value,
            ChannelContact.address == phone,
        )
    )
    # The conversation an SMS from this number has (channels/twilio_sms.py).
    return Channel.SMS.value, "sms-" + re.sub(r"\D", "", phone), sms_contact


def _blocked(contact: ChannelContact | None) -> str | None:
    if contact is None:
        return None
    if contact.opted_out:
        return "opted_out"
    if contact.unreachable:
        return "unreachable"
    return None


def _add_event(ticket: Ticket, kind: str, /, **detail: Any) -> None:
    ticket.events.append(TicketEvent(kind=kind, detail=detail, actor=ACTOR))


# -- the invitation as the assistant sees it ------------------------------------


def invitation_of_ticket(session: Session, number: str) -> SurveyInvitation | None:
    """The ticket's invitation with its answers.

    Raises:
        TicketNotFoundError: no such ticket.
    """
    return _invitation_of(session, get_ticket(session, number))


def get_invitation(
    session: Session, conversation_id: str, invitation_id: int
) -> SurveyInvitation:
    """The invitation, when it belongs to this conversation.

    Raises:
        InvitationNotFoundError: no such invitation in this conversation.
    """
    invitation = session.scalar(
        select(SurveyInvitation)
        .where(
            SurveyInvitation.id == invitation_id,
            SurveyInvitation.conversation_id == conversation_id,
        )
        .options(*_INVITATION_LOAD)
    )
    if invitation is None:
        raise InvitationNotFoundError(invitation_id)
    return invitation


def record_answer(
    session: Session,
    conversation_id: str,
    invitation_id: int,
    question_id: int,
    score: int | None = None,
    text: str | None = None,
) -> SurveyInvitation:
    """Store (or replace) the answer to one question; commits.

    The invitation becomes ``in_progress``, or ``completed`` once every
    question has an answer.

    Raises:
        InvitationNotFoundError: no such invitation in this conversation.
        SurveyFinishedError: the survey was declined or completed.
        AnswerRejectedError: the question is not the survey's, or the answer
            does not fit it (a score for a scale question, text otherwise).
    """
    invitation = _open_invitation(session, conversation_id, invitation_id)
    question = next(
        (q for q in invitation.survey.questions if q.id == question_id), None
    )
    if question is None:
        raise AnswerRejectedError(
            f"question {question_id} is not part of survey {invitation.survey_code!r}"
        )
    if question.kind is QuestionKind.SCALE:
        if score is None or text is not None:
            raise AnswerRejectedError(
                f"question {question_id} takes a score from 1 to 5"
            )
    elif text is None or score is not None:
        raise AnswerRejectedError(f"question {question_id} takes text")

    answer = next((a for a in invitation.answers if a.question_id == question_id), None)
    if answer is None:
        invitation.answers.append(
            SurveyAnswer(question_id=question_id, score=score, text=text)
        )
    else:
        answer.score, answer.text = score, text
    session.flush()
    answered = {a.question_id for a in invitation.answers}
    if answered >= {q.id for q in invitation.survey.questions}:
        _finish(invitation, InvitationStatus.COMPLETED)
    else:
        invitation.status = InvitationStatus.IN_PROGRESS
    session.commit()
    logger.info(
        "survey invitation %s: question %s answered (%s) conversation=%s",
        invitation.id,
        question.position,
        invitation.status.value,
        conversation_id,
    )
    return invitation


def finish(
    session: Session,
    conversation_id: str,
    invitation_id: int,
    status: InvitationStatus,
) -> SurveyInvitation:
    """Mark the survey declined or completed; the same call again is a no-op.

    Raises:
        InvitationNotFoundError: no such invitation in this conversation.
        SurveyFinishedError: it already ended the other way.
    """
    invitation = get_invitation(session, conversation_id, invitation_id)
    if invitation.status is status:
        return invitation
    if invitation.status not in OPEN_STATUSES:
        raise SurveyFinishedError(invitation.id, invitation.status.value)
    _finish(invitation, status)
    _add_event(
        invitation.ticket,
        f"survey_{status.value}",
        answers=len(invitation.answers),
    )
    session.commit()
    logger.info(
        "survey invitation %s %s conversation=%s",
        invitation.id,
        status.value,
        conversation_id,
    )
    return invitation


def _open_invitation(
    session: Session, conversation_id: str, invitation_id: int
) -> SurveyInvitation:
    invitation = get_invitation(session, conversation_id, invitation_id)
    if invitation.status not in OPEN_STATUSES:
        raise SurveyFinishedError(invitation.id, invitation.status.value)
    return invitation


def _finish(invitation: SurveyInvitation, status: InvitationStatus) -> None:
    invitation.status = status
    invitation.finished_at = dt.datetime.now(dt.UTC)


# -- the report -----------------------------------------------------------------


def report(session: Session, code: str) -> dict[str, Any]:
    """Answers of a survey: per question overall and per service centre (CAT).

    Scores are averaged; free-text answers are listed with their case.

    Raises:
        SurveyNotFoundError: no survey with that code.
    """
    survey = session.get(Survey, code)
    if survey is None:
        raise SurveyNotFoundError(code)
    statuses = dict(
        session.execute(
            select(SurveyInvitation.status, func.count())
            .where(SurveyInvitation.survey_code == code)
            .group_by(SurveyInvitation.status)
        )
        .tuples()
        .all()
    )
    return {
        "survey": survey.code,
        "name": survey.name,
        "invitations": {
            status.value: statuses.get(status, 0) for status in InvitationStatus
        },
        "questions": [_question_report(session, q) for q in survey.questions],
    }


def _question_report(session: Session, question: SurveyQuestion) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": question.id,
        "position": question.position,
        "kind": question.kind.value,
        "text_es": question.text_es,
        "text_en": question.text_en,
    }
    if question.kind is QuestionKind.TEXT:
        rows = session.execute(
            select(Ticket.number, ServiceCentre.code, SurveyAnswer.text)
            .join(SurveyInvitation, SurveyAnswer.invitation_id == SurveyInvitation.id)
            .join(Ticket, SurveyInvitation.ticket_id == Ticket.id)
            .outerjoin(ServiceCentre, Ticket.service_centre_id == ServiceCentre.id)
            .where(SurveyAnswer.question_id == question.id)
            .order_by(SurveyAnswer.id)
        ).all()
        item["answers"] = len(rows)
        item["comments"] = [
            {"ticket_number": number, "service_centre": centre, "text": text}
            for number, centre, text in rows
        ]
        return item

    count, average = session.execute(
        select(func.count(SurveyAnswer.id), func.avg(SurveyAnswer.score)).where(
            SurveyAnswer.question_id == question.id
        )
    ).one()
    item["answers"] = count
    item["average"] = _round(average)
    rows = session.execute(
        select(
            ServiceCentre.code,
            ServiceCentre.name,
            func.count(SurveyAnswer.id),
            func.avg(SurveyAnswer.score),
        )
        .select_from(SurveyAnswer)
        .join(SurveyInvitation, SurveyAnswer.invitation_id == SurveyInvitation.id)
        .join(Ticket, SurveyInvitation.ticket_id == Ticket.id)
        .outerjoin(ServiceCentre, Ticket.service_centre_id == ServiceCentre.id)
        .where(SurveyAnswer.question_id == question.id)
        .group_by(ServiceCentre.code, ServiceCentre.name)
        .order_by(ServiceCentre.code)
    ).all()
    item["by_service_centre"] = [
        {
            "service_centre": centre,
            "name": name,
            "answers": answers,
            "average": _round(value),
        }
        for centre, name, answers, value in rows
    ]
    return item


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
