"""The human handoff in the gateway: nothing is lost, nothing is answered twice.

Rasa is a scripted loopback fake that, like the action server, opens the
handoff case in the CRM when the person asks for a person. Messages come in
through the real webhooks (Telegram, SMS, web chat), agents work through the
real console API, and replies go out through the loopback fakes of the Bot API
and of Twilio, or out of the web chat's event stream. The conversation log is
the real database (SQLite and PostgreSQL).
"""

import asyncio
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from channels.coordination import LocalCoordinator
from channels.gateway import Gateway, InboundMessage
from channels.log import MAX_ATTEMPTS, NEEDS_HUMAN, WITH_AGENT, ConversationLog
from channels.notices import notice
from channels.rasa_client import RasaClient, Reply
from channels.telegram import SECRET_HEADER
from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_session_factory
from crm_bridge.main import create_app
from crm_bridge.models import (
    AgentRole,
    ConversationMessage,
    Handoff,
    HandoffStatus,
    Order,
    OrderLine,
    OrderStatus,
    PointOfSale,
    Ticket,
    TicketKind,
)
from crm_bridge.schemas import TicketCreate
from crm_bridge.services import agents, orders
from crm_bridge.services.handoff_policy import HandoffPolicy
from crm_bridge.services.tickets import create_ticket
from tests.channels.conftest import (
    TWILIO_NUMBER,
    TWILIO_PUBLIC_BASE_URL,
    ScriptedRasa,
    console_log_in,
    post_signed,
    read_sse,
    wait_until,
)
from tests.conftest import make_settings
from tests.crm_bridge.factories import make_point_of_sale, make_product
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import (
    edited_update,
    photo_update,
    sticker_update,
    text_update,
)
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_webhooks import sms_params

CHAT = 5_552_468
TELEGRAM_CONVERSATION = f"telegram-{CHAT}"
SECRET = "telegram-webhook-secret-for-handoff-tests"
WEBHOOK = "/channels/telegram/webhook"
PERSON = "+34600333444"
SMS_CONVERSATION = "sms-34600333444"
ASK_FOR_A_PERSON = "quiero hablar con una persona"
HANDING_OVER = "Le paso con una persona"
PASSWORD = "contraseña-de-prueba"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
ALWAYS_OPEN = "opening_hours: always\n"
# Open one minute a week: closed whenever the tests run (but for that minute).
CLOSED = 'opening_hours:\n  sun: ["00:00", "00:01"]\n'
LARGE_DIVERGENCE = (
    "opening_hours: always\n"
    "rules:\n"
    "  - name: large_divergence\n"
    "    ticket_kind: divergence\n"
    "    min_amount_eur: 1500\n"
    "    module: orders\n"
)
_keys = itertools.count(1)


# -- the action server, as the fake Rasa's script ---------------------------------


def open_handoff(engine: Engine, conversation_id: str, channel: str) -> str:
    """What action_request_human does: a handoff case through the CRM."""
    with make_session_factory(engine)() as session:
        ticket, _ = create_ticket(
            session,
            TicketCreate(
                idempotency_key=f"handoff-{conversation_id}-{next(_keys)}",
                kind="handoff",
                channel=channel,
                conversation_id=conversation_id,
                language="es",
            ),
        )
        return ticket.number


def handoff_script(engine: Engine) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """Echoes, and hands the conversation to a person when asked to."""

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == ASK_FOR_A_PERSON:
            open_handoff(engine, body["sender"], body["metadata"]["channel"])
            return [{"text": HANDING_OVER}]
        return [{"text": f"echo: {body['message']}"}]

    return answer


# -- the database ---------------------------------------------------------------------


def inbound(engine: Engine, conversation_id: str) -> list[ConversationMessage]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "in",
                )
                .order_by(ConversationMessage.id)
            )
        )


def outbound(engine: Engine, conversation_id: str) -> list[ConversationMessage]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.direction == "out",
                )
                .order_by(ConversationMessage.id)
            )
        )


def handoffs_of(engine: Engine, conversation_id: str) -> list[tuple[Handoff, str]]:
    """The conversation's handoffs with their case numbers, oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(Handoff, Ticket.number)
            .join(Ticket, Handoff.ticket_id == Ticket.id)
            .where(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.id)
        ).all()
        return [(row[0], row[1]) for row in rows]


def add_agent(
    engine: Engine, username: str = "laura", role: AgentRole = AgentRole.AGENT
) -> None:
    with make_session_factory(engine)() as session:
        agents.create_agent(session, username, username.title(), PASSWORD, role)


# -- the console ----------------------------------------------------------------------


def log_in(client: TestClient | httpx.Client, username: str = "laura") -> str:
    return console_log_in(client, username, PASSWORD)


def console_post(
    client: TestClient | httpx.Client, csrf: str, path: str, body: Any = None
) -> httpx.Response:
    return client.post(
        f"/console/api/{path}", json=body or {}, headers={"X-CSRF-Token": csrf}
    )


def policy_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / f"handoff-{uuid.uuid4().hex[:8]}.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- Telegram ---------------------------------------------------------------------


@pytest.fixture
def rasa(clean_db: Engine) -> Iterator[ScriptedRasa]:
    fake = ScriptedRasa().start()
    fake.script = handoff_script(clean_db)
    yield fake
    fake.stop()


@pytest.fixture
def telegram(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    tmp_path: Path,
) -> Iterator[TestClient]:
    settings = make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        HANDOFF_CONFIG=policy_file(tmp_path, ALWAYS_OPEN),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def post(client: TestClient, update: dict[str, Any]) -> None:
    answer = client.post(WEBHOOK, json=update, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 200, answer.text


def bot_texts(fake: FakeTelegram) -> list[str]:
    return [call.params["text"] for call in fake.calls("sendMessage")]


def twenty_messages(
    fake_telegram: FakeTelegram,
) -> list[tuple[dict[str, Any], str, str]]:
    """Twenty updates of every kind, with the kind and text each is kept as."""
    fake_telegram.add_file("AgACAgQ-dent", JPEG, file_path="photos/dent.jpg")
    fake_telegram.add_file("AgACAgQ-label", JPEG[::-1], file_path="photos/label.jpg")
    first = text_update(CHAT, "mensaje 1: ¿hay alguien?")
    updates: list[tuple[dict[str, Any], str, str]] = [
        (first, "text", "mensaje 1: ¿hay alguien?")
    ]
    for n in range(2, 21):
        if n == 4:
            updates.append((photo_update(CHAT, "AgACAgQ-dent"), "photo", ""))
        elif n == 7:
            message_id = first["message"]["message_id"]
            edit = edited_update(CHAT, message_id, "mensaje 1 corregido")
            updates.append((edit, "edited", "mensaje 1 corregido"))
        elif n == 10:
            updates.append((sticker_update(CHAT), "unsupported", ""))
        elif n == 13:
            photo = photo_update(CHAT, "AgACAgQ-label", caption="la etiqueta")
            updates.append((photo, "photo", "la etiqueta"))
        else:
            updates.append((text_update(CHAT, f"mensaje {n}"), "text", f"mensaje {n}"))
    assert len(updates) == 20
    return updates


def test_nothing_the_person_writes_to_a_person_is_lost_or_answered_by_the_bot(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    post(telegram, text_update(CHAT, ASK_FOR_A_PERSON))
    handing_over, announced = fake_telegram.wait_for_messages(CHAT, 2)
    assert handing_over["text"] == HANDING_OVER
    [(handoff, number)] = handoffs_of(clean_db, TELEGRAM_CONVERSATION)
    assert (handoff.status, handoff.reason) == (HandoffStatus.WAITING, "requested")
    assert number in announced["text"]

    # Some before any agent exists, the rest while one is signed in.
    updates = twenty_messages(fake_telegram)
    for update, _kind, _text in updates[:8]:
        post(telegram, update)
    add_agent(clean_db)
    csrf = log_in(telegram)
    for update, _kind, _text in updates[8:]:
        post(telegram, update)

    def kept() -> list[ConversationMessage]:
        rows = inbound(clean_db, TELEGRAM_CONVERSATION)[1:]
        return rows if [row.status for row in rows] == [WITH_AGENT] * 20 else []

    rows = wait_until(kept, 15, "twenty messages kept for the agent")
    assert [row.platform_message_id for row in rows] == [
        f"update-{update['update_id']}" for update, _kind, _text in updates
    ]
    assert [(row.kind, row.text) for row in rows] == [
        (kind, text) for _update, kind, text in updates
    ]
    assert [turn["message"] for turn in rasa.turns] == [ASK_FOR_A_PERSON]
    assert bot_texts(fake_telegram) == [HANDING_OVER, announced["text"]]
    assert len(outbound(clean_db, TELEGRAM_CONVERSATION)) == 2

    queue = telegram.get("/console/api/queue").json()
    [item] = queue["waiting"]
    assert (item["conversation_id"], item["channel"]) == (
        TELEGRAM_CONVERSATION,
        "telegram",
    )
    assert (item["ticket_number"], item["messages_waiting"]) == (number, 20)

    claimed = console_post(
        telegram, csrf, f"conversations/{TELEGRAM_CONVERSATION}/claim"
    )
    assert claimed.status_code == 200, claimed.text
    view = telegram.get(f"/console/api/conversations/{TELEGRAM_CONVERSATION}").json()
    assert view["mine"] is True
    assert view["handoff"]["status"] == "active"
    customer = [m for m in view["messages"] if m["author"] == "customer"][1:]
    assert [(m["kind"], m["text"], m["status"]) for m in customer] == [
        (kind, text, WITH_AGENT) for _update, kind, text in updates
    ]
    photos = [m for m in customer if m["kind"] == "photo"]
    assert len(photos) == 2
    for photo, content in zip(photos, (JPEG, JPEG[::-1]), strict=True):
        [attachment] = photo["attachments"]
        assert attachment["content_type"] == "image/jpeg"
        assert attachment["url"] is not None
        assert telegram.get(attachment["url"]).content == content
    assert all(not m["attachments"] for m in customer if m["kind"] != "photo")

    reply = console_post(
        telegram,
        csrf,
        f"conversations/{TELEGRAM_CONVERSATION}/messages",
        {"text": "Hola, soy Laura. Veo sus fotos."},
    )
    assert reply.status_code == 202, reply.text
    sent = fake_telegram.wait_for_messages(CHAT, 4)
    # Told who joined when Laura claimed it, then her words.
    assert sent[2]["text"] == notice("agent_joined", "es", name="Laura")
    assert sent[3]["text"] == "Hola, soy Laura. Veo sus fotos."
    assert fake_telegram.calls("sendMessage")[3].params["chat_id"] == CHAT
    with Session(clean_db) as session:
        row = session.get_one(ConversationMessage, reply.json()["message_id"])
        assert row.agent_id is not None
    view = telegram.get(f"/console/api/conversations/{TELEGRAM_CONVERSATION}").json()
    last = view["messages"][-1]
    assert (last["author"], last["agent_name"], last["text"]) == (
        "agent",
        "Laura",
        "Hola, soy Laura. Veo sus fotos.",
    )

    back = console_post(
        telegram,
        csrf,
        f"conversations/{TELEGRAM_CONVERSATION}/hand-back",
        {"slots": {}},
    )
    assert back.status_code == 200, back.text
    assert fake_telegram.wait_for_messages(CHAT, 5)[4]["text"] == notice(
        "handed_back", "es"
    )
    post(telegram, text_update(CHAT, "gracias, ya está"))
    assert fake_telegram.wait_for_messages(CHAT, 6)[5]["text"] == (
        "echo: gracias, ya está"
    )
    assert [turn["message"] for turn in rasa.turns] == [
        ASK_FOR_A_PERSON,
        "gracias, ya está",
    ]


# -- what the person is told, once --------------------------------------------------


def web_app(
    migrated_settings: Settings, rasa: ScriptedRasa, tmp_path: Path, policy: str
) -> TestClient:
    settings = make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        HANDOFF_CONFIG=policy_file(tmp_path, policy),
    )
    return TestClient(create_app(settings))


def web_say(client: TestClient, conversation_id: str, text: str) -> list[str]:
    answer = client.post(
        "/channels/web/messages",
        json={
            "conversation_id": conversation_id,
            "message_id": uuid.uuid4().hex,
            "text": text,
        },
    )
    assert answer.status_code == 200, answer.text
    return [reply["text"] for reply in answer.json()["replies"]]


def new_web_conversation(client: TestClient | httpx.Client) -> str:
    answer = client.post("/channels/web/conversations")
    assert answer.status_code == 201
    return answer.json()["conversation_id"]


def test_with_an_agent_online_the_person_is_told_their_place_and_wait_once(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    clean_db: Engine,
    tmp_path: Path,
):
    add_agent(clean_db)
    with web_app(migrated_settings, rasa, tmp_path, ALWAYS_OPEN) as web:
        log_in(web)
        assert web.get("/console/api/queue").status_code == 200  # seen: online
        first = new_web_conversation(web)
        second = new_web_conversation(web)

        told_first = web_say(web, first, ASK_FOR_A_PERSON)
        told_second = web_say(web, second, ASK_FOR_A_PERSON)
        later = web_say(web, first, "¿sigue ahí?")
        again = web.app.state.gateway.log.after_turn(  # type: ignore[attr-defined]
            first,
            web.app.state.gateway.policy,  # type: ignore[attr-defined]
        )

    assert told_first == [
        HANDING_OVER,
        "Le paso con una persona del equipo. Es el siguiente en la cola; le "
        "atenderán en unos 4 minutos por este mismo canal.",
    ]
    assert told_second[0] == HANDING_OVER
    # One conversation ahead, one agent: two rounds of four minutes.
    assert "Hay una conversación antes que la suya" in told_second[1]
    assert "le atenderán en unos 8 minutos" in told_second[1]
    assert later == []
    assert again is None
    assert [row.status for row in inbound(clean_db, first)] == ["answered", WITH_AGENT]


def test_with_nobody_online_the_person_is_told_so_with_their_case_number(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    clean_db: Engine,
    tmp_path: Path,
):
    add_agent(clean_db)  # exists, but never opened the console
    with web_app(migrated_settings, rasa, tmp_path, ALWAYS_OPEN) as web:
        conversation = new_web_conversation(web)
        told = web_say(web, conversation, ASK_FOR_A_PERSON)
        later = web_say(web, conversation, "hola?")

    [(_handoff, number)] = handoffs_of(clean_db, conversation)
    assert told == [
        HANDING_OVER,
        f"Ahora mismo no hay nadie del equipo conectado. Su caso {number} queda "
        "abierto y le escribiremos por aquí en cuanto una persona se conecte.",
    ]
    assert later == []


def next_sunday_words(now: dt.datetime) -> str:
    """How the Spanish announcement names the next opening on Sunday."""
    local = now.astimezone(ZoneInfo("Europe/Madrid"))
    days = (6 - local.weekday()) % 7
    if days == 1:
        return "mañana a partir de las"
    return "el domingo a partir de las"


def test_out_of_hours_the_person_is_told_when_they_will_be_contacted(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    clean_db: Engine,
    tmp_path: Path,
):
    add_agent(clean_db)
    with web_app(migrated_settings, rasa, tmp_path, CLOSED) as web:
        log_in(web)
        web.get("/console/api/queue")  # online, but out of hours
        conversation = new_web_conversation(web)
        told = web_say(web, conversation, ASK_FOR_A_PERSON)
        later = web_say(web, conversation, "¿cuándo?")

    [(_handoff, number)] = handoffs_of(clean_db, conversation)
    assert told[0] == HANDING_OVER
    assert told[1].startswith(
        f"Ahora estamos fuera de horario. Su caso {number} queda abierto y una "
        "persona del equipo le contactará por este mismo canal "
        f"{next_sunday_words(dt.datetime.now(dt.UTC))}"
    )
    assert later == []


# -- the agent's reply on the person's own channel -----------------------------------


@pytest.fixture
def sms(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
    tmp_path: Path,
) -> Iterator[TestClient]:
    """Twilio on; reached over HTTPS, as its public address is (Secure cookies)."""
    settings = make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        PUBLIC_BASE_URL=TWILIO_PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_PHONE_NUMBER=TWILIO_NUMBER,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
        HANDOFF_CONFIG=policy_file(tmp_path, ALWAYS_OPEN),
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


def send_sms(client: TestClient, body: str) -> None:
    answer = post_signed(
        client, "/channels/twilio/sms", sms_params(PERSON, TWILIO_NUMBER, body)
    )
    assert answer.status_code == 200, answer.text


def test_an_agents_reply_to_an_sms_conversation_goes_out_by_sms(
    sms: TestClient, rasa: ScriptedRasa, fake_twilio: FakeTwilio, clean_db: Engine
):
    send_sms(sms, ASK_FOR_A_PERSON)
    [told] = fake_twilio.wait_for_messages(PERSON, 1)
    assert told.body.startswith(HANDING_OVER)
    send_sms(sms, "tengo el número de serie")
    wait_until(
        lambda: [row.status for row in inbound(clean_db, SMS_CONVERSATION)]
        == ["answered", WITH_AGENT],
        what="the second SMS kept for the agent",
    )
    add_agent(clean_db)
    csrf = log_in(sms)

    assert console_post(sms, csrf, f"conversations/{SMS_CONVERSATION}/claim").is_success
    reply = console_post(
        sms,
        csrf,
        f"conversations/{SMS_CONVERSATION}/messages",
        {"text": "Soy Laura, digame el numero de serie."},
    )

    assert reply.status_code == 202, reply.text
    sent = fake_twilio.wait_for_messages(PERSON, 3)
    assert sent[1].body == "Hola, le atiende Laura, del equipo de posventa."
    assert sent[2].body == "Soy Laura, digame el numero de serie."
    assert sent[2].from_ == TWILIO_NUMBER
    assert [turn["message"] for turn in rasa.turns] == [ASK_FOR_A_PERSON]


def test_an_agents_reply_to_a_web_chat_comes_out_of_its_event_stream(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    clean_db: Engine,
    tmp_path: Path,
):
    settings = make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        HANDOFF_CONFIG=policy_file(tmp_path, ALWAYS_OPEN),
    )
    add_agent(clean_db)
    with (
        BackgroundServer(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as visitor,
        httpx.Client(base_url=server.base_url, timeout=10) as console,
    ):
        conversation = new_web_conversation(visitor)
        answer = visitor.post(
            "/channels/web/messages",
            json={
                "conversation_id": conversation,
                "message_id": "m-1",
                "text": ASK_FOR_A_PERSON,
            },
        )
        assert answer.json()["replies"][0]["text"] == HANDING_OVER
        csrf = log_in(console)
        claimed = console_post(console, csrf, f"conversations/{conversation}/claim")
        assert claimed.status_code == 200, claimed.text
        url = f"/channels/web/conversations/{conversation}/events"
        with visitor.stream("GET", url) as events:
            reply = console_post(
                console,
                csrf,
                f"conversations/{conversation}/messages",
                {"text": "Hola, soy Laura."},
            )
            assert reply.status_code == 202, reply.text
            lines = events.iter_lines()
            joined, event = read_sse(lines), read_sse(lines)

    assert json.loads(joined["data"])["text"] == notice(
        "agent_joined", "es", name="Laura"
    )
    assert event["event"] == "message"
    assert event["id"] == str(reply.json()["message_id"])
    assert json.loads(event["data"]) == {
        "text": "Hola, soy Laura.",
        "buttons": [],
        "from": "Laura",
    }
    assert [turn["message"] for turn in rasa.turns] == [ASK_FOR_A_PERSON]


# -- handoffs the person did not ask for ---------------------------------------------


def add_order(engine: Engine, unit_price: str) -> tuple[int, str]:
    """A shop's order of four units at ``unit_price`` each, two delivered."""
    with make_session_factory(engine)() as session:
        shop = make_point_of_sale(session)
        product = make_product(session)
        order = Order(
            number="4512",
            point_of_sale_id=shop.id,
            ordered_on=dt.date.today() - dt.timedelta(days=10),
            status=OrderStatus.DELIVERED,
            lines=[
                OrderLine(
                    position=1,
                    product_id=product.id,
                    quantity_ordered=4,
                    quantity_delivered=2,
                    unit_price=Decimal(unit_price),
                    discount_percent=Decimal("0"),
                )
            ],
        )
        session.add(order)
        session.commit()
        return shop.id, order.number


def divergence_script(
    engine: Engine, shop_id: int
) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The assistant opens a divergence case for two missing units."""

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        if "faltan" not in body["message"]:
            return [{"text": f"echo: {body['message']}"}]
        with make_session_factory(engine)() as session:
            ticket, _ = orders.open_divergence_case(
                session,
                session.get_one(PointOfSale, shop_id),
                orders.CaseContext(
                    idempotency_key=f"divergence-{body['sender']}",
                    conversation_id=body["sender"],
                    channel="web",
                    language="es",
                ),
                "4512",
                2,
                orders.DivergenceProblem.MISSING,
            )
            return [{"text": f"He abierto el caso {ticket.number}."}]

    return answer


@pytest.mark.parametrize(
    ("unit_price", "to_a_person"),
    [("1000.00", True), ("700.00", False)],
    ids=["2000-eur", "1400-eur"],
)
def test_a_large_divergence_goes_to_a_person_after_the_turn_that_opened_it(
    migrated_settings: Settings,
    rasa: ScriptedRasa,
    clean_db: Engine,
    tmp_path: Path,
    unit_price: str,
    to_a_person: bool,
):
    shop_id, _number = add_order(clean_db, unit_price)
    rasa.script = divergence_script(clean_db, shop_id)
    with web_app(migrated_settings, rasa, tmp_path, LARGE_DIVERGENCE) as web:
        conversation = new_web_conversation(web)
        told = web_say(web, conversation, "faltan 2 lavadoras del pedido 4512")
        after = web_say(web, conversation, "¿y ahora?")

    opened = handoffs_of(clean_db, conversation)
    with Session(clean_db) as session:
        [case] = session.scalars(
            select(Ticket).where(Ticket.conversation_id == conversation)
        ).all()
    assert case.kind is TicketKind.DIVERGENCE
    assert told[0] == f"He abierto el caso {case.number}."
    if not to_a_person:
        assert opened == []
        assert told == [f"He abierto el caso {case.number}."]
        assert after == ["echo: ¿y ahora?"]
        return
    [(handoff, number)] = opened
    assert (handoff.reason, handoff.rule, handoff.module) == (
        "rule",
        "large_divergence",
        "orders",
    )
    assert handoff.status is HandoffStatus.WAITING
    assert number == case.number
    assert len(told) == 2
    assert number in told[1]
    assert after == []
    assert [turn["message"] for turn in rasa.turns] == [
        "faltan 2 lavadoras del pedido 4512"
    ]


class RecordingChannel:
    """A channel adapter that keeps what it was asked to send."""

    name = "telegram"
    inline = False
    joins_replies = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Reply]]] = []

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        self.sent.append((address, list(replies)))
        return [f"sent-{len(self.sent)}-{index}" for index in range(len(replies))]

    async def fetch_media(self, source: str) -> Any:
        raise NotImplementedError("no media in these tests")


def test_when_the_assistant_gives_up_a_person_takes_over(
    rasa: ScriptedRasa, clean_db: Engine
):
    rasa.down = True
    log = ConversationLog(make_session_factory(clean_db))
    channel = RecordingChannel()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)

    def message(update_id: int, text: str) -> InboundMessage:
        return InboundMessage(
            channel="telegram",
            conversation_id=TELEGRAM_CONVERSATION,
            address=str(CHAT),
            sender=str(CHAT),
            platform_message_id=f"update-{update_id}",
            text=text,
            language_hint="es",
        )

    async def scenario() -> list[str]:
        gateway = Gateway(
            log,
            RasaClient(rasa.url),
            LocalCoordinator(),
            {channel.name: channel},
            policy=HandoffPolicy(always_open=True),
        )
        receipt = await gateway.receive(message(1, "la nevera no enfría"))
        seen = [(await gateway.wait_for_turn(receipt.message.id, 8))[0]]
        for _ in range(MAX_ATTEMPTS - 1):
            await gateway.sweep(later)
            seen.append((await gateway.wait_for_turn(receipt.message.id, 8))[0])
        rasa.down = False
        after = await gateway.receive(message(2, "¿hola?"))
        seen.append((await gateway.wait_for_turn(after.message.id, 8))[0])
        await asyncio.sleep(0.2)
        await gateway.stop()
        return seen

    seen = asyncio.run(scenario())

    assert seen == ["failed"] * (MAX_ATTEMPTS - 1) + [NEEDS_HUMAN, WITH_AGENT]
    assert len(rasa.turns) == MAX_ATTEMPTS
    [(handoff, number)] = handoffs_of(clean_db, TELEGRAM_CONVERSATION)
    assert (handoff.reason, handoff.status, handoff.module) == (
        "assistant_down",
        HandoffStatus.WAITING,
        "general",
    )
    assert number.startswith("GEN-")
    assert {address for address, _ in channel.sent} == {str(CHAT)}
    replies = [reply.text for _, batch in channel.sent for reply in batch]
    assert len(replies) == 2
    assert replies[0] == notice("gave_up", "es")
    assert number in replies[1]
