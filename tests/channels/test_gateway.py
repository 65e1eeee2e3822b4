"""The gateway behind every channel: retries, the sweep, coordination, pushes.

The gateway runs against the real conversation log (SQLite and PostgreSQL)
and a loopback fake of Rasa. The coordinator contract runs on the embedded
coordinator and on the Redis of this machine (database 15, a random key
prefix per test). Pushed messages go through the real HTTP API: to the Bot
API fake for Telegram, and out of a real uvicorn server's event stream for
web chat.
"""

import asyncio
import datetime as dt
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from channels import web
from channels.coordination import Coordinator, LocalCoordinator, RedisCoordinator
from channels.gateway import Gateway, InboundMessage
from channels.log import (
    ANSWERED,
    FAILED,
    MAX_ATTEMPTS,
    NEEDS_HUMAN,
    STALE_AFTER,
    ConversationLog,
    NewAttachment,
    retry_after,
)
from channels.notices import notice
from channels.rasa_client import RasaClient, Reply
from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_session_factory
from crm_bridge.main import create_app
from crm_bridge.models import ConversationMessage
from tests.channels.conftest import read_sse
from tests.channels.fake_rasa import FakeRasa
from tests.conftest import TEST_SERVICE_TOKEN, make_settings
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram

# Database 15 of the machine's Redis; keys carry a random prefix.
_REDIS_SERVER = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379"))
TEST_REDIS_URL = f"redis://{_REDIS_SERVER.hostname}:{_REDIS_SERVER.port or 6379}/15"
AUTH = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
CHAT = 5_551_234
TURN_TIMEOUT = 8.0


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def log(clean_db: Engine) -> ConversationLog:
    return ConversationLog(make_session_factory(clean_db))


class RecordingChannel:
    """A channel adapter that keeps what it was asked to send."""

    name = "telegram"
    inline = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Reply]]] = []

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        self.sent.append((address, list(replies)))
        return [f"sent-{len(self.sent)}-{index}" for index in range(len(replies))]

    async def fetch_media(self, source: str) -> NewAttachment:
        raise NotImplementedError("no test sends media through this channel")


def make_gateway(
    log: ConversationLog, rasa: FakeRasa, channel: RecordingChannel | None = None
) -> Gateway:
    adapters = {channel.name: channel} if channel is not None else {}
    return Gateway(log, RasaClient(rasa.url), LocalCoordinator(), adapters)


def web_message(conversation_id: str, message_id: str, text: str) -> InboundMessage:
    return InboundMessage(
        channel="web",
        conversation_id=conversation_id,
        address="",
        sender=conversation_id,
        platform_message_id=message_id,
        text=text,
    )


def statuses(engine: Engine, conversation_id: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id)
        )
        return [(row.direction, row.status) for row in rows]


# -- failed and interrupted turns -------------------------------------------------


def test_a_turn_that_failed_is_answered_by_a_later_sweep(
    log: ConversationLog, rasa: FakeRasa, clean_db: Engine
):
    log.open_conversation("web-boiler", "web")
    rasa.down = True

    async def scenario() -> tuple[int, str, str, str]:
        gateway = make_gateway(log, rasa)
        receipt = await gateway.receive(
            web_message("web-boiler", "m-1", "mi caldera pierde agua"), create=False
        )
        failed = (await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT))[0]
        kept = log.inbound(receipt.message.id).text
        rasa.down = False
        assert await gateway.sweep(LATER()) == 1
        answered = (await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT))[0]
        await gateway.stop()
        return receipt.message.id, failed, kept, answered

    message_id, failed, kept, answered = asyncio.run(scenario())

    assert (failed, kept, answered) == (FAILED, "mi caldera pierde agua", ANSWERED)
    assert [turn["message"] for turn in rasa.turns] == ["mi caldera pierde agua"] * 2
    assert statuses(clean_db, "web-boiler") == [
        ("in", "answered"),
        ("out", "sent"),
        ("out", "sent"),
    ]
    assert [reply.text for reply in log.replies_to(message_id)] == [
        "echo: mi caldera pierde agua",
        "¿Correcto?",
    ]


def LATER() -> dt.datetime:  # noqa: N802 - reads as a moment
    """Past every pause between tries of a failed turn."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def test_a_failed_turn_waits_longer_after_each_try():
    assert [retry_after(n).total_seconds() for n in range(1, 9)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        300,
        300,
    ]


def test_a_failed_turn_is_not_tried_again_before_its_pause(
    log: ConversationLog, rasa: FakeRasa, clean_db: Engine
):
    log.open_conversation("web-pause", "web")
    rasa.down = True

    async def scenario() -> tuple[int, int]:
        gateway = make_gateway(log, rasa)
        receipt = await gateway.receive(web_message("web-pause", "m-1", "hola"), False)
        await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT)
        soon = await gateway.sweep()
        in_a_while = await gateway.sweep(
            dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        )
        await asyncio.sleep(0.3)
        await gateway.stop()
        return soon, in_a_while

    assert asyncio.run(scenario()) == (0, 1)
    assert len(rasa.turns) == 2


def test_messages_behind_a_failed_one_wait_for_it_and_keep_their_order(
    log: ConversationLog, rasa: FakeRasa, clean_db: Engine
):
    log.open_conversation("web-order", "web")
    rasa.down = True

    async def scenario() -> list[str]:
        gateway = make_gateway(log, rasa)
        first = await gateway.receive(web_message("web-order", "m-1", "uno"), False)
        assert (await gateway.wait_for_turn(first.message.id, TURN_TIMEOUT))[
            0
        ] == FAILED
        second = await gateway.receive(web_message("web-order", "m-2", "dos"), False)
        await asyncio.sleep(0.3)
        waiting = log.status_of(second.message.id)
        rasa.down = False
        await gateway.sweep(LATER())
        done = [
            (await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT))[0]
            for receipt in (first, second)
        ]
        await gateway.stop()
        return [waiting, *done]

    assert asyncio.run(scenario()) == ["queued", ANSWERED, ANSWERED]
    assert [turn["message"] for turn in rasa.turns] == ["uno", "uno", "dos"]
    assert rasa.overlaps == 0


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/restart", "restart"),
        ("  /SESSION_START", "SESSION_START"),
        ("/back please", "back please"),
        ("/affirm", "/affirm"),
        ('/report_fault{"serial_number": "WM 4821 7730"}', None),
    ],
)
def test_engine_commands_typed_by_a_person_reach_rasa_as_words(
    log: ConversationLog, rasa: FakeRasa, typed: str, sent: str | None
):
    log.open_conversation("web-typed", "web")

    async def scenario() -> None:
        gateway = make_gateway(log, rasa)
        receipt = await gateway.receive(web_message("web-typed", "m-1", typed), False)
        await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT)
        await gateway.stop()

    asyncio.run(scenario())

    assert [turn["message"] for turn in rasa.turns] == [sent or typed]


def test_a_turn_interrupted_in_processing_is_run_again_once_stale(
    log: ConversationLog, rasa: FakeRasa, clean_db: Engine
):
    log.open_conversation("web-crash", "web")
    message, _ = log.store_inbound("web-crash", "m-1", "el horno no calienta")
    # Taken by a process that died during the turn.
    assert log.claim_next("web-crash").id == message.id

    async def sweep_and_wait(gateway: Gateway) -> int:
        swept = await gateway.sweep()
        await asyncio.sleep(0.3)
        return swept

    async def scenario() -> tuple[int, str, int, str]:
        gateway = make_gateway(log, rasa)
        early = await sweep_and_wait(gateway)
        still = log.status_of(message.id)
        with clean_db.begin() as connection:
            earlier = dt.datetime.now(dt.UTC) - STALE_AFTER - dt.timedelta(seconds=30)
            if clean_db.dialect.name == "sqlite":
                earlier = earlier.replace(tzinfo=None)
            connection.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == message.id)
                .values(updated_at=earlier)
            )
        late = await gateway.sweep()
        answered = (await gateway.wait_for_turn(message.id, TURN_TIMEOUT))[0]
        await gateway.stop()
        return early, still, late, answered

    assert asyncio.run(scenario()) == (0, "processing", 1, ANSWERED)
    assert [turn["message"] for turn in rasa.turns] == ["el horno no calienta"]
    assert log.inbound(message.id).attempts == 2


def test_after_max_attempts_the_person_is_told_and_a_human_takes_over(
    log: ConversationLog, rasa: FakeRasa, clean_db: Engine
):
    rasa.down = True
    channel = RecordingChannel()
    inbound = InboundMessage(
        channel="telegram",
        conversation_id=f"telegram-{CHAT}",
        address=str(CHAT),
        sender=str(CHAT),
        platform_message_id="update-1",
        text="la nevera no enfría",
        language_hint="es",
    )

    async def scenario() -> list[str]:
        gateway = make_gateway(log, rasa, channel)
        receipt = await gateway.receive(inbound)
        seen = [(await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT))[0]]
        for _ in range(MAX_ATTEMPTS - 1):
            await gateway.sweep(LATER())
            seen.append(
                (await gateway.wait_for_turn(receipt.message.id, TURN_TIMEOUT))[0]
            )
        assert await gateway.sweep(LATER()) == 0
        await asyncio.sleep(0.3)
        await gateway.stop()
        return seen

    assert asyncio.run(scenario()) == [FAILED] * (MAX_ATTEMPTS - 1) + [NEEDS_HUMAN]
    assert len(rasa.turns) == MAX_ATTEMPTS
    # Told once, then what happens next: the conversation waits for a person
    # in the agents' queue, with a case of its own.
    [(address, [gave_up]), (_, [queued])] = channel.sent
    assert (address, gave_up) == (str(CHAT), Reply(notice("gave_up", "es")))
    assert "GEN-2026-000001" in queued.text
    assert statuses(clean_db, f"telegram-{CHAT}") == [
        ("in", NEEDS_HUMAN),
        ("out", "sent"),
        ("out", "sent"),
    ]
    with clean_db.connect() as connection:
        handoff = connection.execute(text("SELECT reason, status FROM handoffs")).one()
    assert tuple(handoff) == ("assistant_down", "waiting")


# -- coordination -------------------------------------------------------------------

CoordinatorFactory = Callable[[], Coordinator]


@pytest.fixture
def redis_coordinators() -> Iterator[CoordinatorFactory]:
    """Makes Redis coordinators sharing a random key prefix, removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        client.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {TEST_REDIS_URL} is unavailable: {error}")
        pytest.skip(f"Redis at {TEST_REDIS_URL} is unavailable: {error}")
    try:
        yield lambda: RedisCoordinator(TEST_REDIS_URL, prefix)
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["local", "redis"])
def coordinators(request: pytest.FixtureRequest) -> CoordinatorFactory:
    """Makes coordinators that share state, as two processes of one service.

    The embedded coordinator is shared within one process only, so "two" of
    them are the same instance.
    """
    if request.param == "redis":
        return request.getfixturevalue("redis_coordinators")
    shared = LocalCoordinator()
    return lambda: shared


async def close_all(*coordinators: Coordinator) -> None:
    for coordinator in {id(c): c for c in coordinators}.values():
        await coordinator.close()


def test_a_lock_lets_one_holder_in_at_a_time_across_instances(
    coordinators: CoordinatorFactory,
):
    async def scenario() -> tuple[int, int, int]:
        first, second = coordinators(), coordinators()
        inside: dict[str, int] = {"now": 0, "most": 0, "done": 0}

        async def hold(coordinator: Coordinator, name: str) -> None:
            async with coordinator.lock(name, timeout=5):
                inside["now"] += 1
                inside["most"] = max(inside["most"], inside["now"])
                await asyncio.sleep(0.05)
                inside["now"] -= 1
                inside["done"] += 1

        holders = [first, second] * 3
        await asyncio.gather(*(hold(c, "conversation:a") for c in holders))
        same = inside["most"]
        inside["most"] = 0
        await asyncio.gather(
            hold(first, "conversation:b"), hold(second, "conversation:c")
        )
        await close_all(first, second)
        return same, inside["most"], inside["done"]

    assert asyncio.run(scenario()) == (1, 2, 8)


def test_a_redis_lock_of_a_crashed_holder_expires_after_its_timeout(
    redis_coordinators: CoordinatorFactory,
):
    # An embedded lock dies with its process: only Redis needs the timeout.
    coordinators = redis_coordinators

    async def scenario() -> tuple[float, bool]:
        crashed, alive = coordinators(), coordinators()
        held = crashed.lock("conversation:a", timeout=0.5)
        await held.__aenter__()
        started = time.monotonic()
        async with alive.lock("conversation:a", timeout=5):
            waited = time.monotonic() - started
            # The crashed holder comes back late: its release must not free
            # the lock someone else holds now.
            await held.__aexit__(None, None, None)
            third = coordinators()
            try:
                await asyncio.wait_for(
                    third.lock("conversation:a", 5).__aenter__(), 0.3
                )
                stolen = True
            except TimeoutError:
                stolen = False
        await close_all(crashed, alive, third)
        return waited, stolen

    waited, stolen = asyncio.run(scenario())

    assert 0.3 <= waited < 2.0
    assert not stolen


def test_remember_keeps_the_first_value_until_it_expires(
    coordinators: CoordinatorFactory,
):
    async def scenario() -> list[Any]:
        first, second = coordinators(), coordinators()
        seen = [
            await first.remember("seen:telegram:update-1", "11", 1),
            await second.remember("seen:telegram:update-1", "12", 1),
            await second.recall("seen:telegram:update-1"),
            await first.recall("seen:telegram:update-2"),
        ]
        await asyncio.sleep(1.2)
        seen += [
            await second.recall("seen:telegram:update-1"),
            await second.remember("seen:telegram:update-1", "13", 60),
            await first.recall("seen:telegram:update-1"),
        ]
        await close_all(first, second)
        return seen

    assert asyncio.run(scenario()) == [True, False, "11", None, None, True, "13"]


def test_throttle_spaces_calls_of_one_key_across_instances(
    coordinators: CoordinatorFactory,
):
    async def scenario() -> tuple[list[float], float]:
        first, second = coordinators(), coordinators()
        returned: list[float] = []

        async def call(coordinator: Coordinator) -> None:
            await coordinator.throttle("telegram:chat:1", 0.2)
            returned.append(time.monotonic())

        await asyncio.gather(*(call(c) for c in [first, second] * 3))
        started = time.monotonic()
        await second.throttle("telegram:chat:2", 0.2)
        other_key = time.monotonic() - started
        await close_all(first, second)
        returned.sort()
        gaps = [later - earlier for earlier, later in itertools.pairwise(returned)]
        return gaps, other_key

    gaps, other_key = asyncio.run(scenario())

    assert len(gaps) == 5
    assert min(gaps) >= 0.18, gaps
    assert other_key < 0.1


def test_subscribers_get_what_is_published_on_their_topic_from_then_on(
    coordinators: CoordinatorFactory,
):
    async def scenario() -> list[str]:
        publisher, listener = coordinators(), coordinators()
        await publisher.publish("conversation:a", "before")
        subscription: AbstractAsyncContextManager[AsyncIterator[str]]
        subscription = listener.subscribe("conversation:a")
        async with subscription as messages:
            await publisher.publish("conversation:b", "another topic")
            await publisher.publish("conversation:a", "uno")
            await publisher.publish("conversation:a", "dos")
            got = [await asyncio.wait_for(anext(messages), 3) for _ in range(2)]
        await close_all(publisher, listener)
        return got

    assert asyncio.run(scenario()) == ["uno", "dos"]


# -- pushed messages ----------------------------------------------------------------


@pytest.fixture
def push_settings(migrated_settings: Settings, fake_telegram: FakeTelegram) -> Settings:
    """Telegram on, against the fake; no Rasa (pushes do not need it)."""
    return make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL="http://127.0.0.1:9",
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_WEBHOOK_SECRET="push-test-secret",
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
    )


@pytest.fixture
def services(push_settings: Settings, clean_db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(push_settings)) as client:
        yield client


def open_telegram_conversation(client: TestClient) -> str:
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    conversation_id = f"telegram-{CHAT}"
    gateway.log.ensure_conversation(
        conversation_id, "telegram", str(CHAT), str(CHAT), language="es"
    )
    return conversation_id


def push(client: TestClient | httpx.Client, conversation_id: str, text: str):
    return client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": text},
        headers=AUTH,
    )


def test_a_push_to_a_telegram_conversation_reaches_the_chat(
    services: TestClient, fake_telegram: FakeTelegram, clean_db: Engine
):
    conversation_id = open_telegram_conversation(services)

    answer = push(services, conversation_id, "  Su técnico llega mañana a las 10.  ")

    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"
    [sent] = fake_telegram.wait_for_messages(CHAT, 1)
    assert sent["text"] == "Su técnico llega mañana a las 10."
    deadline = time.monotonic() + 5
    while statuses(clean_db, conversation_id) != [("out", "sent")]:
        assert time.monotonic() < deadline, statuses(clean_db, conversation_id)
        time.sleep(0.05)
    with Session(clean_db) as session:
        row = session.get_one(ConversationMessage, answer.json()["message_id"])
        assert row.platform_message_id == str(sent["message_id"])


def test_a_push_to_a_chat_that_blocked_the_bot_is_kept_but_not_sent(
    services: TestClient, fake_telegram: FakeTelegram, clean_db: Engine
):
    conversation_id = open_telegram_conversation(services)
    services.app.state.gateway.log.set_contact_flags(  # type: ignore[attr-defined]
        conversation_id, unreachable=True
    )

    assert push(services, conversation_id, "¿Sigue ahí?").status_code == 202

    deadline = time.monotonic() + 5
    while statuses(clean_db, conversation_id) != [("out", "undeliverable")]:
        assert time.monotonic() < deadline, statuses(clean_db, conversation_id)
        time.sleep(0.05)
    assert fake_telegram.calls("sendMessage") == []


@pytest.mark.parametrize(
    ("headers", "conversation", "body", "status", "detail"),
    [
        ({}, "known", {"text": "hola"}, 401, "missing bearer token"),
        (
            {"Authorization": "Bearer wrong"},
            "known",
            {"text": "hola"},
            403,
            "invalid service token",
        ),
        (AUTH, "telegram-404", {"text": "hola"}, 404, "does not exist"),
        (AUTH, "known", {"text": "   "}, 422, "text must not be empty"),
    ],
    ids=["no-token", "wrong-token", "unknown-conversation", "blank-text"],
)
def test_a_push_that_cannot_be_sent_is_refused(
    services: TestClient,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    headers: dict[str, str],
    conversation: str,
    body: dict[str, str],
    status: int,
    detail: str,
):
    known = open_telegram_conversation(services)
    conversation_id = known if conversation == "known" else conversation

    answer = services.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json=body,
        headers=headers,
    )

    assert answer.status_code == status
    assert detail in str(answer.json()["detail"])
    assert statuses(clean_db, known) == []
    assert fake_telegram.calls("sendMessage") == []


@pytest.fixture
def server(push_settings: Settings, clean_db: Engine) -> Iterator[httpx.Client]:
    """The services app on a real loopback port: streams need a real server."""
    with (
        BackgroundServer(create_app(push_settings)) as running,
        httpx.Client(base_url=running.base_url, timeout=10) as client,
    ):
        yield client


def test_a_push_to_a_web_conversation_comes_out_of_its_event_stream(
    server: httpx.Client,
):
    conversation_id = server.post("/channels/web/conversations").json()[
        "conversation_id"
    ]
    url = f"/channels/web/conversations/{conversation_id}/events"

    with server.stream("GET", url) as events:
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
        pushed = push(server, conversation_id, "Le llamamos mañana por la mañana.")
        assert pushed.status_code == 202
        event = read_sse(events.iter_lines())

    assert event["id"] == str(pushed.json()["message_id"])
    assert event["event"] == "message"
    assert json.loads(event["data"]) == {
        "text": "Le llamamos mañana por la mañana.",
        "buttons": [],
    }


def test_the_event_stream_lives_on_after_keep_alives(
    server: httpx.Client, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(web, "KEEPALIVE_SECONDS", 0.2)
    conversation_id = server.post("/channels/web/conversations").json()[
        "conversation_id"
    ]
    url = f"/channels/web/conversations/{conversation_id}/events"

    with server.stream("GET", url) as events:
        lines = events.iter_lines()
        keep_alives = 0
        while keep_alives < 3:
            keep_alives += next(lines).startswith(": keep-alive")
        push(server, conversation_id, "Sigue ahí.")
        event = read_sse(lines)

    assert json.loads(event["data"])["text"] == "Sigue ahí."


def test_a_reconnecting_page_gets_what_it_missed_after_its_last_event_id(
    server: httpx.Client,
):
    conversation_id = server.post("/channels/web/conversations").json()[
        "conversation_id"
    ]
    url = f"/channels/web/conversations/{conversation_id}/events"
    texts = ["Primero.", "Segundo.", "Tercero."]
    ids = [push(server, conversation_id, text).json()["message_id"] for text in texts]

    with server.stream("GET", url, headers={"Last-Event-ID": str(ids[0])}) as events:
        lines = events.iter_lines()
        missed = [read_sse(lines) for _ in range(2)]
        live = push(server, conversation_id, "Cuarto.").json()["message_id"]
        after = read_sse(lines)

    assert [(int(e["id"]), json.loads(e["data"])["text"]) for e in missed] == list(
        zip(ids[1:], texts[1:], strict=True)
    )
    assert (int(after["id"]), json.loads(after["data"])["text"]) == (live, "Cuarto.")


def test_the_event_stream_of_an_unknown_conversation_is_a_404(
    services: TestClient,
):
    answer = services.get("/channels/web/conversations/web-made-up/events")
    assert answer.status_code == 404
