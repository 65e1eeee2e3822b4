"""The agent console's live updates, across processes and within one.

Two instances of the services app share one database and, through Redis,
their live updates, as two processes behind a load balancer do: a console
listening on one hears of handoffs opened and claimed on the other. Without
Redis the embedded coordinator does the same within one process. The apps run
on real loopback servers (streams need one); Rasa is a scripted loopback fake
that opens the handoff case as the action server does.
"""

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from sqlalchemy import Engine

from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_session_factory
from crm_bridge.main import create_app
from crm_bridge.models import AgentRole
from crm_bridge.schemas import TicketCreate
from crm_bridge.services import agents
from crm_bridge.services.tickets import create_ticket
from tests.channels.conftest import ScriptedRasa, console_log_in, read_sse
from tests.conftest import make_settings
from tests.fakes.server import BackgroundServer

# Database 13 of the machine's Redis. The apps always use the key prefix
# "ipsm" (create_app takes no other), so the keys of the conversations a test
# made are removed by name afterwards.
_REDIS_SERVER = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379"))
TEST_REDIS_URL = f"redis://{_REDIS_SERVER.hostname}:{_REDIS_SERVER.port or 6379}/13"
ASK_FOR_A_PERSON = "quiero hablar con una persona"
PASSWORD = "contraseña-de-prueba"
ASK_ABOUT_A_WARRANTY = "una persona para lo de la garantia porfa"
# Events to read past (keep-alives, other tests' conversations) before giving up.
MOST_EVENTS = 50
_keys = itertools.count(1)


@pytest.fixture
def rasa(clean_db: Engine) -> Iterator[ScriptedRasa]:
    """Opens a handoff case when the person asks for a person; echoes otherwise."""

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] not in (ASK_FOR_A_PERSON, ASK_ABOUT_A_WARRANTY):
            return [{"text": f"echo: {body['message']}"}]
        with make_session_factory(clean_db)() as session:
            create_ticket(
                session,
                TicketCreate(
                    idempotency_key=f"live-{body['sender']}-{next(_keys)}",
                    kind="handoff",
                    channel="web",
                    conversation_id=body["sender"],
                    language="es",
                    module="warranty"
                    if body["message"] == ASK_ABOUT_A_WARRANTY
                    else None,
                ),
            )
        return [{"text": "Le paso con una persona"}]

    fake = ScriptedRasa().start()
    fake.script = answer
    yield fake
    fake.stop()


@pytest.fixture
def conversations() -> list[str]:
    """The web conversations a test opened (their Redis keys are removed)."""
    return []


@pytest.fixture
def redis_url(conversations: list[str]) -> Iterator[str]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        client.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {TEST_REDIS_URL} is unavailable: {error}")
        pytest.skip(f"Redis at {TEST_REDIS_URL} is unavailable: {error}")
    try:
        yield TEST_REDIS_URL
    finally:
        for conversation_id in conversations:
            for key in client.scan_iter(match=f"ipsm:*{conversation_id}*"):
                client.delete(key)
        client.close()


@pytest.fixture
def two_agents(clean_db: Engine) -> None:
    with make_session_factory(clean_db)() as session:
        # A supervisor: her console hears of every conversation.
        agents.create_agent(session, "laura", "Laura", PASSWORD, AgentRole.SUPERVISOR)
        agents.create_agent(session, "marta", "Marta", PASSWORD)


def app_settings(
    migrated_settings: Settings, rasa: ScriptedRasa, redis_url: str = ""
) -> Settings:
    return make_settings(
        migrated_settings.DATABASE_URL, RASA_URL=rasa.url, REDIS_URL=redis_url
    )


def read_event(lines: Iterator[str]) -> tuple[str, dict[str, Any]]:
    """The next server-sent event's name and data."""
    fields = read_sse(lines)
    return fields.get("event", "message"), json.loads(fields["data"])


def log_in(client: httpx.Client, username: str) -> str:
    return console_log_in(client, username, PASSWORD)


def next_event_about(
    lines: Iterator[str], conversation_id: str, event: str
) -> dict[str, Any]:
    """The next ``event`` about the conversation; others are skipped."""
    for _ in range(MOST_EVENTS):
        name, data = read_event(lines)
        if name == event and data.get("conversation_id") == conversation_id:
            return data
    raise AssertionError(f"no {event} event about {conversation_id}")


def hand_over_and_claim(
    service_a: str, service_b: str, conversations: list[str]
) -> list[dict[str, Any]]:
    """Laura listens on B; a handoff opens on A, then Marta claims it on A.

    Returns the events Laura's console received about the conversation.
    """
    with (
        httpx.Client(base_url=service_a, timeout=10) as visitor,
        httpx.Client(base_url=service_a, timeout=10) as marta,
        httpx.Client(base_url=service_b, timeout=10) as laura,
    ):
        laura_csrf = log_in(laura, "laura")
        conversation_id = visitor.post("/channels/web/conversations").json()[
            "conversation_id"
        ]
        conversations.append(conversation_id)
        with laura.stream("GET", "/console/api/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            # Subscribed once it says hello: nothing published later is missed.
            assert read_event(lines) == ("hello", {})

            asked = visitor.post(
                "/channels/web/messages",
                json={
                    "conversation_id": conversation_id,
                    "message_id": uuid.uuid4().hex,
                    "text": ASK_FOR_A_PERSON,
                },
            )
            assert asked.status_code == 200, asked.text
            opened = next_event_about(lines, conversation_id, "queue")

            csrf = log_in(marta, "marta")
            claimed_answer = marta.post(
                f"/console/api/conversations/{conversation_id}/claim",
                headers={"X-CSRF-Token": csrf},
            )
            assert claimed_answer.status_code == 200, claimed_answer.text
            claimed = next_event_about(lines, conversation_id, "queue")

            kept = visitor.post(
                "/channels/web/messages",
                json={
                    "conversation_id": conversation_id,
                    "message_id": uuid.uuid4().hex,
                    "text": "sigo aquí",
                },
            )
            assert kept.json()["replies"] == []
            message = next_event_about(lines, conversation_id, "message")

        queue = laura.get("/console/api/queue").json()
        assert queue["waiting"] == []  # Marta has it: nobody else is offered it
        taken = laura.post(
            f"/console/api/conversations/{conversation_id}/claim",
            headers={"X-CSRF-Token": laura_csrf},
        )
        assert taken.status_code == 409
        assert taken.json()["detail"] == "already taken by Marta"
    return [opened, claimed, message]


def test_a_console_on_one_process_hears_of_handoffs_on_another(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    redis_url: str,
    conversations: list[str],
    two_agents: None,
):
    settings = app_settings(migrated_settings, rasa, redis_url)

    with (
        BackgroundServer(create_app(settings)) as service_a,
        BackgroundServer(create_app(settings)) as service_b,
    ):
        opened, claimed, message = hand_over_and_claim(
            service_a.base_url, service_b.base_url, conversations
        )

    [conversation_id] = conversations
    assert opened == {
        "conversation_id": conversation_id,
        "handoff_id": opened["handoff_id"],
        "what": "opened",
    }
    assert claimed == {**opened, "what": "claimed"}
    assert message["direction"] == "in"
    assert [turn["message"] for turn in rasa.turns] == [ASK_FOR_A_PERSON]


def test_without_redis_one_process_tells_its_own_consoles(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    conversations: list[str],
    two_agents: None,
):
    settings = app_settings(migrated_settings, rasa)

    with BackgroundServer(create_app(settings)) as service:
        opened, claimed, message = hand_over_and_claim(
            service.base_url, service.base_url, conversations
        )

    [conversation_id] = conversations
    assert (opened["conversation_id"], opened["what"]) == (conversation_id, "opened")
    assert claimed == {**opened, "what": "claimed"}
    assert message["direction"] == "in"


def test_an_agent_hears_only_that_the_queue_changed_for_others_conversations(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    conversations: list[str],
    clean_db: Engine,
):
    with make_session_factory(clean_db)() as session:
        agents.create_agent(session, "nora", "Nora", PASSWORD, skills=["orders"])
    settings = app_settings(migrated_settings, rasa)

    with (
        BackgroundServer(create_app(settings)) as service,
        httpx.Client(base_url=service.base_url, timeout=10) as visitor,
        httpx.Client(base_url=service.base_url, timeout=10) as nora,
    ):
        log_in(nora, "nora")
        conversation_id = visitor.post("/channels/web/conversations").json()[
            "conversation_id"
        ]
        conversations.append(conversation_id)
        with nora.stream("GET", "/console/api/events") as stream:
            lines = stream.iter_lines()
            assert read_event(lines) == ("hello", {})
            visitor.post(
                "/channels/web/messages",
                json={
                    "conversation_id": conversation_id,
                    "message_id": uuid.uuid4().hex,
                    "text": ASK_ABOUT_A_WARRANTY,
                },
            )
            name, data = read_event(lines)

    # A warranty conversation is not for Nora (orders): her queue reloads,
    # but she never learns its id, which for a web chat is its key.
    assert (name, data) == ("queue", {"what": "opened"})
