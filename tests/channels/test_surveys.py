"""Survey invitations sent by the gateway: once, in the case's conversation,
never to a contact who opted out, kept through Rasa outages and restarts.

Rasa is a recording fake that also serves the two calls of its HTTP API the
gateway uses (trigger_intent and the tracker); SMS goes to the loopback fake
of Twilio through the real ``twilio`` client; the database is SQLite and
PostgreSQL.
"""

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from channels.rasa_client import Reply
from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from crm_bridge.models import (
    ChannelContact,
    ConversationMessage,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
)
from crm_bridge.services import surveys
from tests.channels.conftest import (
    TWILIO_NUMBER,
    TWILIO_PUBLIC_BASE_URL,
    ScriptedRasa,
    a_minute_later,
    post_signed,
    wait_until,
)
from tests.conftest import TEST_SERVICE_TOKEN, make_settings
from tests.crm_bridge.factories import make_category, ticket_request
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_webhooks import sms_params

PERSON = "+34600111222"
CONVERSATION = "sms-34600111222"
INTRO = "Hola, soy el asistente. ¿Nos ayuda con 3 preguntas? Responda SI o NO."
AUTH = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}


class SurveyRasa(ScriptedRasa):
    """The scripted fake Rasa, plus trigger_intent and the tracker.

    ``triggered`` records each trigger (conversation, body); ``intro`` is what
    the assistant answers to it; ``loops`` sets a conversation's active form.
    """

    def __init__(self) -> None:
        self.triggered: list[tuple[str, dict[str, Any]]] = []
        self.intro: list[dict[str, Any]] = [{"text": INTRO}]
        self.loops: dict[str, str] = {}
        self.api_down = False
        # As rasa run --auth-token: the HTTP API refuses another token.
        self.api_token = "survey-rasa-token"
        super().__init__()

    def _api(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.api_down:
            return 500, {"error": "down"}
        query = parse_qs(urlsplit(path).query)
        if query.get("token") != [self.api_token]:
            return 401, {"reason": "NotAuthenticated"}
        parts = path.split("?")[0].split("/")
        conversation = parts[2]
        if method == "POST" and parts[3] == "trigger_intent":
            self.triggered.append((conversation, body))
            return 200, {"tracker": {}, "messages": self.intro}
        loop = self.loops.get(conversation)
        return 200, {
            "active_loop": {"name": loop} if loop else {},
            "latest_event_time": time.time(),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self
        base = super()._handler()

        class Handler(base):  # type: ignore[misc, valid-type]
            def _answer(self, status: int, answer: Any) -> None:
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._answer(*fake._api("GET", self.path, None))

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                if not self.path.startswith("/conversations/"):
                    super().do_POST()
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                self._answer(*fake._api("POST", self.path, body))

        return Handler


@pytest.fixture
def survey_rasa() -> Iterator[SurveyRasa]:
    fake = SurveyRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def survey_settings(
    migrated_settings: Settings, survey_rasa: SurveyRasa, fake_twilio: FakeTwilio
) -> Settings:
    return make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=survey_rasa.url,
        RASA_API_TOKEN=survey_rasa.api_token,
        PUBLIC_BASE_URL=TWILIO_PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_PHONE_NUMBER=TWILIO_NUMBER,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
    )


@pytest.fixture
def survey_data(db: Session) -> Session:
    make_category(db)
    db.add(
        Survey(
            code="post_repair",
            name="Tras la reparación",
            questions=[
                SurveyQuestion(
                    position=position, kind=kind, text_es=f"¿{position}?", text_en="?"
                )
                for position, kind in enumerate(
                    (QuestionKind.SCALE, QuestionKind.SCALE, QuestionKind.TEXT), 1
                )
            ],
        )
    )
    db.commit()
    return db


@pytest.fixture
def services(survey_settings: Settings, survey_data: Session) -> Iterator[TestClient]:
    with TestClient(create_app(survey_settings), headers=AUTH) as client:
        yield client


def text_in(client: TestClient, body: str) -> None:
    response = post_signed(
        client, "/channels/twilio/sms", sms_params(PERSON, TWILIO_NUMBER, body)
    )
    assert response.status_code == 200, response.text


def open_case(client: TestClient, channel: str = "sms", **values: Any) -> str:
    body = ticket_request(channel=channel, conversation_id=CONVERSATION, **values)
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["number"]


def invitation(engine: Engine) -> SurveyInvitation:
    with Session(engine) as session:
        return session.scalars(select(SurveyInvitation)).one()


def outbound(engine: Engine, conversation: str = CONVERSATION) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage.text)
                .where(
                    ConversationMessage.conversation_id == conversation,
                    ConversationMessage.direction == "out",
                    ConversationMessage.reply_to_id.is_(None),
                )
                .order_by(ConversationMessage.id)
            )
        )


def test_closing_a_case_sends_its_invitation_once_by_sms(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    text_in(services, "hola")
    fake_twilio.wait_for_messages(PERSON, 1)
    number = open_case(services)

    closed = services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})

    assert closed.status_code == 200, closed.text
    assert closed.json()["survey_invitation"]["status"] == "pending"
    sent = fake_twilio.wait_for_messages(PERSON, 2)
    assert sent[-1].body.startswith("Hola, soy el asistente")
    sent_invitation = invitation(clean_db)
    assert sent_invitation.status.value == "sent"
    assert sent_invitation.sent_at is not None
    assert survey_rasa.triggered == [
        (
            CONVERSATION,
            {
                "name": "EXTERNAL_survey_invitation",
                "entities": {"survey_invitation": str(sent_invitation.id)},
            },
        )
    ]
    # Closed again, invited again, swept: nothing more is sent.
    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})
    again = services.post(f"/api/v1/tickets/{number}/survey-invitation", json={})
    assert again.status_code == 200
    services.portal.call(services.app.state.gateway.sweep, a_minute_later())
    time.sleep(0.3)
    assert len(survey_rasa.triggered) == 1
    assert len(fake_twilio.messages_to(PERSON)) == 2
    assert outbound(clean_db) == [INTRO]


def test_an_opted_out_contact_gets_no_invitation(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    text_in(services, "STOP")
    fake_twilio.wait_for_messages(PERSON, 1)
    wait_until(lambda: _contact(clean_db).opted_out, what="the contact opted out")
    number = open_case(services)

    closed = services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})
    services.portal.call(services.app.state.gateway.sweep, a_minute_later())

    assert closed.json()["survey_note"] == "opted_out"
    assert invitation(clean_db).status.value == "failed"
    assert survey_rasa.triggered == []
    assert len(fake_twilio.messages_to(PERSON)) == 1


def _contact(engine: Engine) -> ChannelContact:
    with Session(engine) as session:
        return session.scalars(select(ChannelContact)).one()


def test_a_pending_invitation_survives_a_restart_and_opting_out_meanwhile_stops_it(
    survey_settings: Settings,
    survey_data: Session,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    with TestClient(create_app(survey_settings), headers=AUTH) as client:
        text_in(client, "hola")
        fake_twilio.wait_for_messages(PERSON, 1)
        first = open_case(client)
        second = open_case(client)
    # Written while the services app is down (the CLI, another process).
    with Session(clean_db) as session:
        surveys.close_ticket(session, first, "ok")

    with TestClient(create_app(survey_settings), headers=AUTH) as client:
        client.portal.call(client.app.state.gateway.sweep, a_minute_later())
        fake_twilio.wait_for_messages(PERSON, 2)
        with Session(clean_db) as session:
            surveys.close_ticket(session, second, "ok")
            session.execute(update(ChannelContact).values(opted_out=True))
            session.commit()
        client.portal.call(client.app.state.gateway.sweep, a_minute_later())

    with Session(clean_db) as session:
        statuses = [
            (i.ticket.number, i.status.value, i.error)
            for i in session.scalars(
                select(SurveyInvitation).order_by(SurveyInvitation.id)
            )
        ]
    assert statuses == [
        (first, "sent", None),
        (second, "failed", "opted out (STOP)"),
    ]
    assert len(survey_rasa.triggered) == 1
    assert len(fake_twilio.messages_to(PERSON)) == 2


def test_rasa_down_keeps_the_invitation_pending_until_a_sweep_sends_it(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    text_in(services, "hola")
    fake_twilio.wait_for_messages(PERSON, 1)
    number = open_case(services)
    survey_rasa.api_down = True

    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})

    assert invitation(clean_db).status.value == "pending"
    survey_rasa.api_down = False
    services.portal.call(services.app.state.gateway.sweep, a_minute_later())
    fake_twilio.wait_for_messages(PERSON, 2)
    assert invitation(clean_db).status.value == "sent"
    assert len(survey_rasa.triggered) == 1


def test_a_conversation_in_another_form_is_left_alone(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    text_in(services, "hola")
    fake_twilio.wait_for_messages(PERSON, 1)
    number = open_case(services)
    survey_rasa.loops[CONVERSATION] = "warranty_claim_form"

    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})
    services.portal.call(services.app.state.gateway.sweep, a_minute_later())

    assert invitation(clean_db).status.value == "pending"
    assert survey_rasa.triggered == []
    survey_rasa.loops.clear()
    services.portal.call(services.app.state.gateway.sweep, a_minute_later())
    fake_twilio.wait_for_messages(PERSON, 2)


def test_a_phone_call_is_surveyed_by_sms_to_the_caller(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    body = ticket_request(
        channel="voice",
        conversation_id="voice-CA123",
        customer={"name": "Ana", "phone": PERSON, "postal_code": "46001"},
    )
    number = services.post("/api/v1/tickets", json=body).json()["number"]

    closed = services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})

    assert closed.json()["survey_invitation"]["channel"] == "sms"
    sent = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent[0].body.startswith("Hola, soy el asistente")
    assert survey_rasa.triggered[0][0] == CONVERSATION
    assert outbound(clean_db) == [INTRO]


def test_an_invitation_the_assistant_does_not_start_is_failed(
    services: TestClient,
    survey_rasa: SurveyRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
) -> None:
    text_in(services, "hola")
    fake_twilio.wait_for_messages(PERSON, 1)
    number = open_case(services)
    survey_rasa.intro = []

    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})

    wait_until(lambda: invitation(clean_db).status.value == "failed", what="failed")
    assert invitation(clean_db).error == "the assistant did not start the survey"
    assert len(fake_twilio.messages_to(PERSON)) == 1


def test_a_web_chat_gets_its_invitation_on_its_event_stream(
    services: TestClient, survey_rasa: SurveyRasa, clean_db: Engine
) -> None:
    web = services.post("/channels/web/conversations").json()["conversation_id"]
    body = ticket_request(channel="web", conversation_id=web)
    number = services.post("/api/v1/tickets", json=body).json()["number"]

    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})

    def published() -> bool:
        with Session(clean_db) as session:
            return session.scalars(
                select(ConversationMessage.status).where(
                    ConversationMessage.conversation_id == web
                )
            ).all() == ["sent"]

    # Published to the page's event stream; a page opened later reads it back
    # (GET /channels/web/conversations/{id}/events).
    wait_until(published, what="the web invitation published")
    assert outbound(clean_db, web) == [INTRO]
    assert invitation(clean_db).status.value == "sent"


def test_an_invitation_is_stored_as_sent_only_once(
    services: TestClient, survey_rasa: SurveyRasa, clean_db: Engine
) -> None:
    survey_rasa.api_down = True
    text_in(services, "hola")
    number = open_case(services)
    services.post(f"/api/v1/tickets/{number}/close", json={"resolution": "ok"})
    inviter = services.app.state.gateway.surveys
    pending = inviter.pending(CONVERSATION)

    first = inviter.store_sent(pending[0], [Reply("uno")])
    second = inviter.store_sent(pending[0], [Reply("dos")])

    assert first is not None and second is None
    assert outbound(clean_db) == ["uno"]
    assert inviter.pending(CONVERSATION) == []
