"""The web chat endpoint: validation, deduplication, order and failures.

Rasa is replaced by a recording fake on loopback; the conversation log is the
real database (SQLite and PostgreSQL).
"""

import asyncio
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from crm_bridge.models import ConversationMessage
from tests.channels.fake_rasa import FakeRasa
from tests.conftest import make_settings


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    yield fake
    fake.stop()


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def web_settings(migrated_settings: Settings, rasa: FakeRasa) -> Settings:
    return make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        ACTION_SERVER_URL=closed_port_url(),
    )


@pytest.fixture
def web(web_settings: Settings, clean_db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings)) as client:
        yield client


@pytest.fixture
def conversation_id(web: TestClient) -> str:
    answer = web.post("/channels/web/conversations")
    assert answer.status_code == 201
    return answer.json()["conversation_id"]


def send(web: TestClient, conversation_id: str, text: str, message_id: str = ""):
    return web.post(
        "/channels/web/messages",
        json={
            "conversation_id": conversation_id,
            "text": text,
            "message_id": message_id or uuid.uuid4().hex,
        },
    )


def logged(engine: Engine, conversation_id: str) -> list[ConversationMessage]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)
            )
        )


def test_the_page_is_served_and_escapes_what_it_shows(web: TestClient):
    page = web.get("/chat")
    assert page.status_code == 200
    assert "/channels/web/messages" in page.text
    assert "textContent" in page.text and "innerHTML" not in page.text


def test_a_message_is_answered_with_texts_and_buttons(
    web: TestClient, rasa: FakeRasa, conversation_id: str, clean_db: Engine
):
    answer = send(web, conversation_id, "  la lavadora no centrifuga  ")

    assert answer.status_code == 200
    replies = answer.json()["replies"]
    assert replies[0] == {"text": "echo: la lavadora no centrifuga", "buttons": []}
    assert replies[1]["buttons"] == [
        {"title": "Sí", "payload": "/affirm"},
        {"title": "No", "payload": "/deny"},
    ]
    assert rasa.turns[0]["sender"] == conversation_id
    assert rasa.turns[0]["metadata"]["channel"] == "web"
    log = logged(clean_db, conversation_id)
    assert [(m.direction, m.status) for m in log] == [
        ("in", "answered"),
        ("out", "sent"),
        ("out", "sent"),
    ]


def test_a_repeated_message_id_returns_the_same_replies_and_changes_nothing(
    web: TestClient, rasa: FakeRasa, conversation_id: str, clean_db: Engine
):
    first = send(web, conversation_id, "hola", message_id="m-1")
    again = [send(web, conversation_id, "hola", message_id="m-1") for _ in range(5)]

    assert all(answer.json() == first.json() for answer in again)
    assert len(rasa.turns) == 1
    assert len(logged(clean_db, conversation_id)) == 3


def test_a_message_id_reused_for_another_text_is_refused(
    web: TestClient, rasa: FakeRasa, conversation_id: str, clean_db: Engine
):
    send(web, conversation_id, "hola", message_id="m-1")
    reused = send(web, conversation_id, "adios", message_id="m-1")

    assert reused.status_code == 409
    assert "already used for a different message" in reused.json()["detail"]
    assert [turn["message"] for turn in rasa.turns] == ["hola"]
    assert len(logged(clean_db, conversation_id)) == 3


def test_the_same_message_id_in_another_conversation_is_another_message(
    web: TestClient, rasa: FakeRasa, conversation_id: str
):
    other = web.post("/channels/web/conversations").json()["conversation_id"]
    send(web, conversation_id, "hola", message_id="m-1")
    send(web, other, "hola", message_id="m-1")
    assert len(rasa.turns) == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": ""}, "text must not be empty"),
        ({"text": "   \n "}, "text must not be empty"),
        ({"text": "a" * 5000}, "at most 2000 characters"),
        ({"message_id": ""}, "at least 1 character"),
        ({"conversation_id": None}, "valid string"),
        ({"text": 42}, "valid string"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(
    web: TestClient, rasa: FakeRasa, conversation_id: str, body: dict, reason: str
):
    message = {"conversation_id": conversation_id, "text": "hola", "message_id": "x"}
    answer = web.post("/channels/web/messages", json={**message, **body})

    assert answer.status_code == 422
    assert reason in str(answer.json()["detail"])
    assert rasa.turns == []


def test_malformed_json_is_a_400(web: TestClient, rasa: FakeRasa):
    answer = web.post(
        "/channels/web/messages",
        content=b'{"conversation_id": "x", "text": ',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json() == {"detail": "the request body is not valid JSON"}
    assert rasa.turns == []


def test_an_unknown_conversation_is_a_404_that_says_how_to_start(
    web: TestClient, rasa: FakeRasa
):
    answer = send(web, "web-made-up", "hola")
    assert answer.status_code == 404
    assert "POST /channels/web/conversations" in answer.json()["detail"]
    assert rasa.turns == []


@pytest.mark.parametrize(
    "text",
    [
        "😀😀🔧",
        "<script>alert('x')</script><b>hola</b>",
        "'; DROP TABLE tickets; --",
        "x" * 2000,
    ],
)
def test_odd_but_valid_text_is_kept_verbatim(
    web: TestClient, rasa: FakeRasa, conversation_id: str, clean_db: Engine, text: str
):
    answer = send(web, conversation_id, text)

    assert answer.status_code == 200
    assert rasa.turns[0]["message"] == text
    assert logged(clean_db, conversation_id)[0].text == text


def test_rasa_down_keeps_the_message_and_a_retry_answers_it(
    web: TestClient, rasa: FakeRasa, conversation_id: str, clean_db: Engine
):
    rasa.down = True
    failed = send(web, conversation_id, "mi caldera", message_id="m-7")

    assert failed.status_code == 503
    assert "same message_id" in failed.json()["detail"]
    [kept] = logged(clean_db, conversation_id)
    assert (kept.text, kept.status) == ("mi caldera", "failed")

    rasa.down = False
    retried = send(web, conversation_id, "mi caldera", message_id="m-7")
    assert retried.status_code == 200
    assert retried.json()["replies"][0]["text"] == "echo: mi caldera"
    statuses = [(m.direction, m.status) for m in logged(clean_db, conversation_id)]
    assert statuses == [("in", "answered"), ("out", "sent"), ("out", "sent")]


def test_messages_of_one_conversation_are_answered_one_at_a_time_in_order(
    web_settings: Settings, rasa: FakeRasa, clean_db: Engine
):
    rasa.delay = 0.3
    app = create_app(web_settings)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        # The app's lifespan too: its shutdown waits for the turns under way.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            cid = (await c.post("/channels/web/conversations")).json()
            cid = cid["conversation_id"]

            async def post(index: int) -> httpx.Response:
                await asyncio.sleep(index * 0.1)
                return await c.post(
                    "/channels/web/messages",
                    json={
                        "conversation_id": cid,
                        "text": f"m{index}",
                        "message_id": str(index),
                    },
                )

            return await asyncio.gather(*(post(index) for index in range(4)))

    answers = asyncio.run(scenario())

    assert [a.status_code for a in answers] == [200] * 4
    assert [turn["message"] for turn in rasa.turns] == ["m0", "m1", "m2", "m3"]
    assert rasa.overlaps == 0


def test_health_reports_each_dependency(web: TestClient, rasa: FakeRasa):
    answer = web.get("/health")
    body = answer.json()
    assert body["checks"]["database"]["status"] == "ok"
    # The fake Rasa answers POSTs only, and no action server listens there.
    assert body["checks"]["action_server"]["status"] == "down"
    assert answer.status_code == 503 and body["status"] == "degraded"


def test_web_chat_cannot_post_into_or_read_another_channel_s_conversation(
    web: TestClient, rasa: FakeRasa, clean_db: Engine
):
    # SMS and Telegram conversation ids are guessable (the phone number, the
    # chat id): web chat must not reach them.
    web.app.state.gateway.log.open_conversation(
        "sms-34612345222", "sms", "+34612345222"
    )

    posted = send(web, "sms-34612345222", "cancela mi reclamacion")
    events = web.get("/channels/web/conversations/sms-34612345222/events")

    assert posted.status_code == 404
    assert events.status_code == 404
    assert rasa.turns == []
    assert logged(clean_db, "sms-34612345222") == []


def test_a_body_larger_than_a_megabyte_is_refused_before_it_is_read(
    web: TestClient, conversation_id: str
):
    answer = web.post(
        "/channels/web/messages",
        content=b'{"text": "' + b"a" * (1024 * 1024 + 1) + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 413


def test_an_event_position_out_of_range_is_a_422(web: TestClient, conversation_id: str):
    too_far = web.get(
        f"/channels/web/conversations/{conversation_id}/events",
        params={"after": 2**40},
    )
    assert too_far.status_code == 422
