"""The satisfaction survey end to end: a case of an SMS conversation is closed
through the CRM API, the invitation reaches the person's phone (the fake
Twilio), they answer by SMS and the answers are read back from the CRM."""

import unicodedata
from typing import Any

import httpx
import pytest

from tests.e2e.channels import SmsPhone
from tests.e2e.conftest import CRM_SERVICE_TOKEN

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def crm(services_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{services_url}/api/v1",
        headers={"Authorization": f"Bearer {CRM_SERVICE_TOKEN}"},
        timeout=30,
    )


def case_of(api: httpx.Client, sms: SmsPhone) -> str:
    """A repair of the person's, opened in their SMS conversation."""
    answer = api.post(
        "/tickets",
        json={
            "idempotency_key": f"e2e-survey-{sms.conversation_id}",
            "kind": "warranty",
            "channel": "sms",
            "conversation_id": sms.conversation_id,
            "language": "es",
            "serial_number": "WM 4821 7730",
            "fault_description": "no centrifuga",
            "customer": {
                "name": "Ana Ruiz",
                "phone": sms.number,
                "postal_code": "46001",
            },
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["number"]


def close_and_wait_for_invitation(api: httpx.Client, sms: SmsPhone, number: str) -> str:
    seen = len(sms.twilio.messages_to(sms.number))
    closed = api.post(f"/tickets/{number}/close", json={"resolution": "Bomba nueva"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["survey_invitation"]["channel"] == "sms"
    sent = sms.twilio.wait_for_messages(sms.number, seen + 1, timeout=30)
    invitation = "\n".join(message.body for message in sent[seen:])
    sms.transcript.append(("assistant", invitation))
    return invitation


def stored(api: httpx.Client, number: str) -> dict[str, Any]:
    answer = api.get(f"/tickets/{number}/survey-invitation")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_survey_answered_by_sms_with_a_score_off_the_scale(
    sms: SmsPhone, services_url: str
) -> None:
    sms.text("hola")
    with crm(services_url) as api:
        number = case_of(api, sms)
        invitation = fold(close_and_wait_for_invitation(api, sms, number))
        assert number.lower() in invitation and "3 preguntas" in invitation
        assert "no" in invitation.split()

        assert "puntualidad" in fold(sms.text("vale")), sms.printable()
        assert "solucion" in fold(sms.text("un cuatro")), sms.printable()
        refused = fold(sms.text("7"))
        assert "1 al 5" in refused and "solucion" in refused, sms.printable()
        assert "comentario" in fold(sms.text("5")), sms.printable()
        assert "gracias" in fold(sms.text("muy amable todo")), sms.printable()

        survey = stored(api, number)
        report = api.get("/surveys/post_repair/report").json()

    assert survey["status"] == "completed", sms.printable()
    assert [(a["score"], a["text"]) for a in survey["answers"]] == [
        (4, None),
        (5, None),
        (None, "muy amable todo"),
    ]
    punctuality = report["questions"][0]
    assert punctuality["answers"] >= 1
    assert any(
        row["service_centre"] == "CAT-LEV" for row in punctuality["by_service_centre"]
    )


def test_no_thanks_after_one_answer_keeps_it_and_declines(
    sms: SmsPhone, services_url: str
) -> None:
    sms.text("hola")
    with crm(services_url) as api:
        number = case_of(api, sms)
        close_and_wait_for_invitation(api, sms, number)

        sms.text("vale")
        sms.text("3")
        goodbye = fold(sms.text("no gracias"))

        survey = stored(api, number)

    assert "entendido" in goodbye, sms.printable()
    assert survey["status"] == "declined"
    assert [a["score"] for a in survey["answers"]] == [3]
    # Never asked again: the next message is an ordinary conversation.
    assert "puntualidad" not in fold(sms.text("hola")), sms.printable()
