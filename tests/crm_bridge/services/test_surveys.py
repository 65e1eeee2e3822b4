"""Closing a case, its one survey invitation, the answers and the report."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.models import (
    InvitationStatus,
    ServiceCentre,
    SurveyAnswer,
    SurveyInvitation,
    TicketStatus,
)
from crm_bridge.services import surveys
from crm_bridge.services.errors import TicketNotFoundError
from tests.crm_bridge.factories import make_conversation, make_ticket


def _questions(invitation: SurveyInvitation) -> dict[int, int]:
    return {q.position: q.id for q in invitation.survey.questions}


def test_closing_a_case_invites_its_customer_in_its_conversation(
    demo_data: Session,
) -> None:
    conversation = make_conversation(demo_data, "sms", phone="+34612345222")
    ticket = make_ticket(
        demo_data,
        channel="sms",
        conversation_id=conversation.id,
        serial_number="WM 4821 7730",
        product_category=None,
    )

    closing = surveys.close_ticket(demo_data, ticket.number, "Cambiada la bomba")

    assert closing.closed_now
    assert closing.ticket.status is TicketStatus.CLOSED
    assert closing.ticket.closed_at is not None
    assert closing.ticket.resolution == "Cambiada la bomba"
    invitation = closing.invitation
    assert invitation is not None
    assert (invitation.status, invitation.channel, invitation.conversation_id) == (
        InvitationStatus.PENDING,
        "sms",
        conversation.id,
    )
    assert invitation.survey_code == "post_repair"
    kinds = [event.kind for event in closing.ticket.events]
    assert kinds[-2:] == ["closed", "survey_invited"]


def test_closing_twice_changes_nothing_and_never_invites_twice(
    demo_data: Session,
) -> None:
    ticket = make_ticket(demo_data, conversation_id="web-twice")
    first = surveys.close_ticket(demo_data, ticket.number, "Reparado")

    again = surveys.close_ticket(demo_data, ticket.number, "Otra cosa")
    invited, _note, created = surveys.invite(demo_data, ticket.number)

    assert not again.closed_now
    assert again.ticket.resolution == "Reparado"
    assert again.invitation is not None and first.invitation is not None
    assert again.invitation.id == first.invitation.id == invited.id
    assert not created
    assert demo_data.scalar(select(func.count()).select_from(SurveyInvitation)) == 1
    assert [e.kind for e in again.ticket.events].count("closed") == 1


@pytest.mark.postgres
def test_concurrent_closes_make_one_invitation(
    postgres_sessions: sessionmaker[Session],
) -> None:
    from crm_bridge.importer import import_directory
    from tests.crm_bridge.conftest import DEMO_DATA

    with postgres_sessions() as session:
        assert import_directory(session, DEMO_DATA).ok
        number = make_ticket(session, conversation_id="web-race").number
    barrier = threading.Barrier(4)
    results: list[int | None] = []

    def close() -> None:
        with postgres_sessions() as session:
            barrier.wait()
            closing = surveys.close_ticket(session, number, "Reparado")
            results.append(closing.invitation.id if closing.invitation else None)

    threads = [threading.Thread(target=close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4 and len(set(results)) == 1 and None not in results
    with postgres_sessions() as session:
        assert session.scalar(select(func.count()).select_from(SurveyInvitation)) == 1


def test_a_phone_call_is_surveyed_by_sms_to_the_caller(demo_data: Session) -> None:
    call = make_conversation(demo_data, "voice", phone="+34655123222")
    ticket = make_ticket(demo_data, channel="voice", conversation_id=call.id)

    invitation = surveys.close_ticket(demo_data, ticket.number, "Hecho").invitation

    assert invitation is not None
    assert (invitation.channel, invitation.conversation_id) == (
        "sms",
        "sms-34655123222",
    )
    assert invitation.status is InvitationStatus.PENDING


def test_a_phone_call_without_a_number_gets_no_survey(demo_data: Session) -> None:
    ticket = make_ticket(
        demo_data, channel="voice", conversation_id="voice-CA1", customer=None
    )

    closing = surveys.close_ticket(demo_data, ticket.number, "Hecho")

    assert closing.invitation is None
    assert closing.survey_note == "no_phone_number"
    assert closing.ticket.events[-1].kind == "survey_not_sent"
    assert closing.ticket.events[-1].detail == {"reason": "no_phone_number"}


@pytest.mark.parametrize("flag", ["opted_out", "unreachable"])
def test_an_opted_out_or_unreachable_contact_is_never_messaged(
    demo_data: Session, flag: str
) -> None:
    conversation = make_conversation(demo_data, "sms", phone="+34612345222")
    setattr(conversation.contact, flag, True)
    demo_data.commit()
    ticket = make_ticket(demo_data, channel="sms", conversation_id=conversation.id)

    closing = surveys.close_ticket(demo_data, ticket.number, "Reparado")

    assert closing.invitation is not None
    assert closing.invitation.status is InvitationStatus.FAILED
    assert closing.invitation.error == flag
    assert closing.survey_note == flag


def test_an_open_case_cannot_be_surveyed(demo_data: Session) -> None:
    ticket = make_ticket(demo_data)

    with pytest.raises(surveys.TicketNotClosedError):
        surveys.invite(demo_data, ticket.number)
    with pytest.raises(TicketNotFoundError):
        surveys.close_ticket(demo_data, "WAR-2026-999999", "x")


def test_answers_are_kept_one_by_one_and_complete_the_survey(
    demo_data: Session,
) -> None:
    ticket = make_ticket(demo_data, conversation_id="web-answers")
    invitation = surveys.close_ticket(demo_data, ticket.number, "ok").invitation
    assert invitation is not None
    ids = _questions(invitation)

    surveys.record_answer(demo_data, "web-answers", invitation.id, ids[1], score=4)
    assert invitation.status is InvitationStatus.IN_PROGRESS
    surveys.record_answer(demo_data, "web-answers", invitation.id, ids[1], score=5)
    surveys.record_answer(demo_data, "web-answers", invitation.id, ids[2], score=3)
    assert invitation.status is InvitationStatus.IN_PROGRESS
    surveys.record_answer(
        demo_data, "web-answers", invitation.id, ids[3], text="muy amable"
    )

    assert invitation.status is InvitationStatus.COMPLETED
    assert invitation.finished_at is not None
    assert [(a.question_id, a.score, a.text) for a in invitation.answers] == [
        (ids[1], 5, None),
        (ids[2], 3, None),
        (ids[3], None, "muy amable"),
    ]
    with pytest.raises(surveys.SurveyFinishedError):
        surveys.record_answer(demo_data, "web-answers", invitation.id, ids[1], score=1)


def test_answers_must_fit_the_question_and_the_conversation(
    demo_data: Session,
) -> None:
    ticket = make_ticket(demo_data, conversation_id="web-fit")
    invitation = surveys.close_ticket(demo_data, ticket.number, "ok").invitation
    assert invitation is not None
    ids = _questions(invitation)

    with pytest.raises(surveys.AnswerRejectedError):
        surveys.record_answer(demo_data, "web-fit", invitation.id, ids[1], text="4")
    with pytest.raises(surveys.AnswerRejectedError):
        surveys.record_answer(demo_data, "web-fit", invitation.id, ids[3], score=4)
    with pytest.raises(surveys.AnswerRejectedError):
        surveys.record_answer(demo_data, "web-fit", invitation.id, 9999, score=4)
    with pytest.raises(surveys.InvitationNotFoundError):
        surveys.record_answer(demo_data, "web-other", invitation.id, ids[1], score=4)
    assert demo_data.scalar(select(func.count()).select_from(SurveyAnswer)) == 0


def test_a_decline_keeps_the_answers_given_and_is_final(demo_data: Session) -> None:
    ticket = make_ticket(demo_data, conversation_id="web-no")
    invitation = surveys.close_ticket(demo_data, ticket.number, "ok").invitation
    assert invitation is not None
    ids = _questions(invitation)
    surveys.record_answer(demo_data, "web-no", invitation.id, ids[1], score=2)

    declined = surveys.finish(
        demo_data, "web-no", invitation.id, InvitationStatus.DECLINED
    )
    again = surveys.finish(
        demo_data, "web-no", invitation.id, InvitationStatus.DECLINED
    )

    assert declined.status is again.status is InvitationStatus.DECLINED
    assert [a.score for a in declined.answers] == [2]
    assert declined.ticket.events[-1].kind == "survey_declined"
    with pytest.raises(surveys.SurveyFinishedError):
        surveys.finish(demo_data, "web-no", invitation.id, InvitationStatus.COMPLETED)
    with pytest.raises(surveys.SurveyFinishedError):
        surveys.record_answer(demo_data, "web-no", invitation.id, ids[2], score=4)


def test_the_report_averages_each_question_overall_and_per_cat(
    demo_data: Session,
) -> None:
    levante = make_ticket(
        demo_data,
        conversation_id="web-r1",
        serial_number="WM 4821 7730",
        product_category=None,
    )
    centro = make_ticket(
        demo_data,
        conversation_id="web-r2",
        customer={"name": "Carmen", "phone": "+34633456789", "postal_code": "28013"},
    )
    for ticket, scores, comment in (
        (levante, (4, 5), "puntuales"),
        (centro, (2, 3), None),
    ):
        invitation = surveys.close_ticket(demo_data, ticket.number, "ok").invitation
        assert invitation is not None
        ids = _questions(invitation)
        for position, score in enumerate(scores, start=1):
            surveys.record_answer(
                demo_data, ticket.conversation_id, invitation.id, ids[position], score
            )
        if comment:
            surveys.record_answer(
                demo_data, ticket.conversation_id, invitation.id, ids[3], text=comment
            )

    report = surveys.report(demo_data, "post_repair")

    assert report["invitations"]["completed"] == 1
    assert report["invitations"]["in_progress"] == 1
    punctuality, solution, comments = report["questions"]
    assert (punctuality["answers"], punctuality["average"]) == (2, 3.0)
    assert (solution["answers"], solution["average"]) == (2, 4.0)
    codes = {
        code: name
        for code, name in demo_data.execute(
            select(ServiceCentre.code, ServiceCentre.name)
        )
    }
    assert punctuality["by_service_centre"] == [
        {
            "service_centre": "CAT-CEN",
            "name": codes["CAT-CEN"],
            "answers": 1,
            "average": 2.0,
        },
        {
            "service_centre": "CAT-LEV",
            "name": codes["CAT-LEV"],
            "answers": 1,
            "average": 4.0,
        },
    ]
    assert comments["comments"] == [
        {
            "ticket_number": levante.number,
            "service_centre": "CAT-LEV",
            "text": "puntuales",
        }
    ]
    with pytest.raises(surveys.SurveyNotFoundError):
        surveys.report(demo_data, "nope")
