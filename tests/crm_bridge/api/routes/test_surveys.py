"""The survey routes: close a case, its invitation, answers, decline, report.

Delivery by the gateway is switched off here (tests/channels/test_surveys.py
covers it), so an invitation stays as the CRM wrote it.
"""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from tests.crm_bridge.factories import ticket_request


@pytest.fixture
def app(migrated_settings: Settings, clean_db: Any) -> FastAPI:
    app = create_app(migrated_settings)
    app.state.gateway.surveys = None
    return app


def _case(client: TestClient, conversation_id: str, **values: Any) -> str:
    body = ticket_request(
        conversation_id=conversation_id,
        serial_number="WM 4821 7730",
        product_category=None,
        **values,
    )
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["number"]


def _close(client: TestClient, number: str, resolution: str = "Reparado") -> Any:
    response = client.post(
        f"/api/v1/tickets/{number}/close", json={"resolution": resolution}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _in_conversation(conversation_id: str, invitation_id: int, action: str = "") -> str:
    path = f"/api/v1/conversations/{conversation_id}/survey-invitations/{invitation_id}"
    return f"{path}/{action}" if action else path


def test_closing_a_case_returns_it_closed_with_its_pending_invitation(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-close")

    closed = _close(client, number, "Sustituida la bomba de desagüe")

    assert closed["status"] == "closed"
    assert closed["resolution"] == "Sustituida la bomba de desagüe"
    assert closed["closed_at"] is not None
    invitation = closed["survey_invitation"]
    assert invitation["status"] == "pending"
    assert invitation["ticket_number"] == number
    assert invitation["service_centre"] == "CAT-LEV"
    assert [q["kind"] for q in invitation["questions"]] == ["scale", "scale", "text"]
    assert invitation["questions"][0]["text_en"].startswith("How would you rate")
    ticket = client.get(f"/api/v1/tickets/{number}").json()
    assert ticket["status"] == "closed"
    assert [e["kind"] for e in ticket["events"]][-2:] == ["closed", "survey_invited"]
    assert ticket["events"][-2]["detail"] == {
        "resolution": "Sustituida la bomba de desagüe"
    }


def test_closing_again_and_inviting_again_return_the_same_invitation(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-again")
    first = _close(client, number)["survey_invitation"]

    again = _close(client, number, "otra cosa")
    invited = client.post(f"/api/v1/tickets/{number}/survey-invitation", json={})

    assert again["resolution"] == "Reparado"
    assert again["survey_invitation"]["id"] == first["id"]
    assert invited.status_code == 200
    assert invited.json()["id"] == first["id"]


def test_inviting_explicitly_needs_a_closed_case_and_a_known_survey(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-explicit")

    still_open = client.post(f"/api/v1/tickets/{number}/survey-invitation", json={})
    missing = client.post(
        "/api/v1/tickets/WAR-2026-999999/close", json={"resolution": "x"}
    )
    blank = client.post(f"/api/v1/tickets/{number}/close", json={"resolution": "  "})

    assert still_open.status_code == 409
    assert "only a closed case is surveyed" in still_open.json()["detail"]
    assert missing.status_code == 404
    assert blank.status_code == 422
    assert client.get(f"/api/v1/tickets/{number}/survey-invitation").status_code == 404


def test_answers_are_stored_one_by_one_and_read_back(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-answers")
    invitation = _close(client, number)["survey_invitation"]
    questions = [q["id"] for q in invitation["questions"]]
    url = _in_conversation("web-answers", invitation["id"], "answers")

    first = client.post(url, json={"question_id": questions[0], "score": 4})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "in_progress"
    client.post(url, json={"question_id": questions[1], "score": 5})
    done = client.post(url, json={"question_id": questions[2], "text": "muy amable"})

    assert done.json()["status"] == "completed"
    read = client.get(f"/api/v1/tickets/{number}/survey-invitation").json()
    assert [(a["score"], a["text"]) for a in read["answers"]] == [
        (4, None),
        (5, None),
        (None, "muy amable"),
    ]
    late = client.post(url, json={"question_id": questions[0], "score": 1})
    assert late.status_code == 409


@pytest.mark.parametrize(
    "body",
    [{"score": 7}, {"score": 0}, {"text": "banana"}, {}, {"score": 4, "text": "x"}],
)
def test_an_answer_that_does_not_fit_is_refused(
    client: TestClient, demo_data: Session, body: dict[str, Any]
) -> None:
    number = _case(client, "web-fit")
    invitation = _close(client, number)["survey_invitation"]
    url = _in_conversation("web-fit", invitation["id"], "answers")

    response = client.post(
        url, json={"question_id": invitation["questions"][0]["id"], **body}
    )

    assert response.status_code == 422


def test_another_conversation_cannot_read_or_answer_an_invitation(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-owner")
    invitation = _close(client, number)["survey_invitation"]
    question = invitation["questions"][0]["id"]

    read = client.get(_in_conversation("web-other", invitation["id"]))
    answer = client.post(
        _in_conversation("web-other", invitation["id"], "answers"),
        json={"question_id": question, "score": 5},
    )
    nonexistent = client.get(_in_conversation("web-other", 999999))

    assert read.status_code == answer.status_code == nonexistent.status_code == 404
    assert read.json()["detail"].replace(
        str(invitation["id"]), "N"
    ) == nonexistent.json()["detail"].replace("999999", "N")


def test_a_decline_keeps_the_answer_given(
    client: TestClient, demo_data: Session
) -> None:
    number = _case(client, "web-decline")
    invitation = _close(client, number)["survey_invitation"]
    question = invitation["questions"][0]["id"]
    client.post(
        _in_conversation("web-decline", invitation["id"], "answers"),
        json={"question_id": question, "score": 3},
    )

    declined = client.post(_in_conversation("web-decline", invitation["id"], "decline"))
    again = client.post(_in_conversation("web-decline", invitation["id"], "decline"))
    complete = client.post(
        _in_conversation("web-decline", invitation["id"], "complete")
    )

    assert declined.status_code == again.status_code == 200
    assert declined.json()["status"] == "declined"
    assert [a["score"] for a in declined.json()["answers"]] == [3]
    assert complete.status_code == 409


def test_the_report_gives_averages_per_question_and_cat(
    client: TestClient, demo_data: Session
) -> None:
    for conversation, score in (("web-r1", 4), ("web-r2", 2)):
        invitation = _close(client, _case(client, conversation))["survey_invitation"]
        client.post(
            _in_conversation(conversation, invitation["id"], "answers"),
            json={"question_id": invitation["questions"][0]["id"], "score": score},
        )

    report = client.get("/api/v1/surveys/post_repair/report")

    assert report.status_code == 200
    first = report.json()["questions"][0]
    assert (first["answers"], first["average"]) == (2, 3.0)
    assert first["by_service_centre"] == [
        {
            "service_centre": "CAT-LEV",
            "name": "Servicio Técnico Levante",
            "answers": 2,
            "average": 3.0,
        }
    ]
    assert report.json()["invitations"]["in_progress"] == 2
    assert client.get("/api/v1/surveys/nope/report").status_code == 404
