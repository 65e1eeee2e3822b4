"""iQS routes: close a case (which invites its customer), the invitation and its
answers as the assistant writes them, and the report per question and CAT."""

from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Response, status
from pydantic import BaseModel, Field

from channels.gateway import Gateway
from channels.web import GatewayDep, NonBlankText
from crm_bridge.api.deps import SessionDep
from crm_bridge.models import InvitationStatus, SurveyInvitation
from crm_bridge.schemas import UtcDatetime
from crm_bridge.services import surveys
from crm_bridge.services.errors import TicketNotFoundError

router = APIRouter(tags=["surveys"])


class TicketClose(BaseModel):
    resolution: NonBlankText = Field(max_length=2000)


class SurveyInvitationCreate(BaseModel):
    survey_code: str | None = Field(default=None, max_length=50)


class SurveyQuestionPublic(BaseModel):
    id: int
    position: int
    kind: Literal["scale", "text"]
    text_es: str
    text_en: str


class SurveyAnswerPublic(BaseModel):
    question_id: int
    score: int | None
    text: str | None
    created_at: UtcDatetime


class SurveyInvitationPublic(BaseModel):
    id: int
    ticket_number: str
    survey_code: str
    status: InvitationStatus
    channel: str
    conversation_id: str
    language: str
    closed_at: UtcDatetime | None
    service_centre: str | None
    error: str | None
    sent_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    questions: list[SurveyQuestionPublic]
    answers: list[SurveyAnswerPublic]

    @classmethod
    def from_invitation(cls, invitation: SurveyInvitation) -> "SurveyInvitationPublic":
        ticket = invitation.ticket
        return cls(
            id=invitation.id,
            ticket_number=ticket.number,
            survey_code=invitation.survey_code,
            status=invitation.status,
            channel=invitation.channel,
            conversation_id=invitation.conversation_id,
            language=ticket.language.value,
            closed_at=ticket.closed_at,
            service_centre=(
                ticket.service_centre.code if ticket.service_centre else None
            ),
            error=invitation.error,
            sent_at=invitation.sent_at,
            finished_at=invitation.finished_at,
            questions=[
                SurveyQuestionPublic(
                    id=q.id,
                    position=q.position,
                    kind=q.kind.value,
                    text_es=q.text_es,
                    text_en=q.text_en,
                )
                for q in invitation.survey.questions
            ],
            answers=[
                SurveyAnswerPublic(
                    question_id=a.question_id,
                    score=a.score,
                    text=a.text,
                    created_at=a.created_at,
                )
                for a in invitation.answers
            ],
        )


class TicketClosedPublic(BaseModel):
    number: str
    status: str
    resolution: str | None
    closed_at: UtcDatetime | None
    survey_invitation: SurveyInvitationPublic | None
    # Why no invitation was sent: no_active_survey, no_phone_number,
    # opted_out, unreachable.
    survey_note: str | None


class SurveyAnswerCreate(BaseModel):
    question_id: int
    score: int | None = Field(default=None, ge=1, le=5)
    text: NonBlankText | None = Field(default=None, max_length=2000)


def _public(invitation: SurveyInvitation | None) -> SurveyInvitationPublic | None:
    return SurveyInvitationPublic.from_invitation(invitation) if invitation else None


def _send_soon(
    tasks: BackgroundTasks, gateway: Gateway, invitation: SurveyInvitation | None
) -> None:
    """Asks the gateway to send a new invitation now rather than at its next
    sweep (a few seconds later)."""
    if invitation is not None and invitation.status is InvitationStatus.PENDING:
        tasks.add_task(gateway.invite_now, invitation.conversation_id)


@router.post(
    "/tickets/{number}/close",
    response_model=TicketClosedPublic,
    responses={status.HTTP_404_NOT_FOUND: {"description": "No such ticket"}},
)
def close_ticket(
    number: str,
    body: TicketClose,
    session: SessionDep,
    gateway: GatewayDep,
    tasks: BackgroundTasks,
) -> TicketClosedPublic:
    """Close a case with its resolution and invite the customer to the survey.

    The invitation goes on the channel and in the conversation the case came
    from (a phone call's by SMS to the caller); `survey_note` says why none
    was sent. Closing a closed case again changes nothing.
    """
    try:
        closing = surveys.close_ticket(session, number, body.resolution)
    except TicketNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    ticket = closing.ticket
    _send_soon(tasks, gateway, closing.invitation)
    return TicketClosedPublic(
        number=ticket.number,
        status=ticket.status.value,
        resolution=ticket.resolution,
        closed_at=ticket.closed_at,
        survey_invitation=_public(closing.invitation),
        survey_note=closing.survey_note,
    )


@router.post(
    "/tickets/{number}/survey-invitation",
    response_model=SurveyInvitationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {"description": "The ticket's invitation, unchanged"},
        status.HTTP_404_NOT_FOUND: {"description": "No such ticket or survey"},
        status.HTTP_409_CONFLICT: {"description": "The case is not closed"},
        status.HTTP_422_UNPROCESSABLE_ENTITY: {
            "description": "No phone number to invite a phone call's customer"
        },
    },
)
def create_survey_invitation(
    number: str,
    body: SurveyInvitationCreate,
    response: Response,
    session: SessionDep,
    gateway: GatewayDep,
    tasks: BackgroundTasks,
) -> SurveyInvitationPublic:
    """Invite the customer of a closed case to a survey (default `post_repair`).

    A case has one invitation at most: asking again returns it with 200.
    """
    try:
        invitation, note, created = surveys.invite(session, number, body.survey_code)
    except (TicketNotFoundError, surveys.SurveyNotFoundError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except surveys.TicketNotClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if invitation is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"no invitation can be sent: {note}"
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    _send_soon(tasks, gateway, invitation)
    return SurveyInvitationPublic.from_invitation(invitation)


@router.get(
    "/tickets/{number}/survey-invitation",
    response_model=SurveyInvitationPublic,
    responses={status.HTTP_404_NOT_FOUND: {"description": "No ticket or invitation"}},
)
def read_ticket_survey_invitation(
    number: str, session: SessionDep
) -> SurveyInvitationPublic:
    """The case's survey invitation, its status and the answers given so far."""
    try:
        invitation = surveys.invitation_of_ticket(session, number)
    except TicketNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if invitation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ticket has no invitation")
    return SurveyInvitationPublic.from_invitation(invitation)


_IN_CONVERSATION = "/conversations/{conversation_id}/survey-invitations/{invitation_id}"
_NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"description": "Not in this conversation"}}
_FINISHED = {status.HTTP_409_CONFLICT: {"description": "Declined or completed"}}


@router.get(
    _IN_CONVERSATION, response_model=SurveyInvitationPublic, responses=_NOT_FOUND
)
def read_survey_invitation(
    conversation_id: str, invitation_id: int, session: SessionDep
) -> SurveyInvitationPublic:
    """The invitation the assistant runs in this conversation: the case, the
    questions in both languages, the answers so far. 404 for an invitation of
    another conversation, as for one that does not exist."""
    try:
        invitation = surveys.get_invitation(session, conversation_id, invitation_id)
    except surveys.InvitationNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return SurveyInvitationPublic.from_invitation(invitation)


@router.post(
    f"{_IN_CONVERSATION}/answers",
    response_model=SurveyInvitationPublic,
    responses={**_NOT_FOUND, **_FINISHED},
)
def create_survey_answer(
    conversation_id: str,
    invitation_id: int,
    body: SurveyAnswerCreate,
    session: SessionDep,
) -> SurveyInvitationPublic:
    """Store the answer to one question as soon as it is given (a score 1-5 for
    a scale question, text otherwise); answering a question again replaces its
    answer. The survey is `completed` once every question has an answer."""
    try:
        invitation = surveys.record_answer(
            session,
            conversation_id,
            invitation_id,
            body.question_id,
            score=body.score,
            text=body.text,
        )
    except surveys.InvitationNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except surveys.SurveyFinishedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except surveys.AnswerRejectedError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    return SurveyInvitationPublic.from_invitation(invitation)


def _finish(
    session: SessionDep,
    conversation_id: str,
    invitation_id: int,
    outcome: InvitationStatus,
) -> SurveyInvitationPublic:
    try:
        invitation = surveys.finish(session, conversation_id, invitation_id, outcome)
    except surveys.InvitationNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except surveys.SurveyFinishedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return SurveyInvitationPublic.from_invitation(invitation)


@router.post(
    f"{_IN_CONVERSATION}/decline",
    response_model=SurveyInvitationPublic,
    responses={**_NOT_FOUND, **_FINISHED},
)
def decline_survey(
    conversation_id: str, invitation_id: int, session: SessionDep
) -> SurveyInvitationPublic:
    """The person said no: the survey ends, answers given so far are kept, and
    they are not asked again."""
    return _finish(session, conversation_id, invitation_id, InvitationStatus.DECLINED)


@router.post(
    f"{_IN_CONVERSATION}/complete",
    response_model=SurveyInvitationPublic,
    responses={**_NOT_FOUND, **_FINISHED},
)
def complete_survey(
    conversation_id: str, invitation_id: int, session: SessionDep
) -> SurveyInvitationPublic:
    """The survey ended with an optional question left unanswered."""
    return _finish(session, conversation_id, invitation_id, InvitationStatus.COMPLETED)


@router.get(
    "/surveys/{code}/report",
    responses={status.HTTP_404_NOT_FOUND: {"description": "No such survey"}},
)
def read_survey_report(code: str, session: SessionDep) -> dict[str, Any]:
    """Invitations per status; per question the number of answers, the average
    score overall and per service centre (CAT) of the case, and the comments."""
    try:
        return surveys.report(session, code)
    except surveys.SurveyNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
