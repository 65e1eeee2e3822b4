"""The Telegram channel end to end: webhook, conversation log, Rasa, Bot API.

Updates are posted to the real webhook as the Bot API shapes them; Rasa and
the Bot API are loopback fakes; the conversation log is the real database
(SQLite and PostgreSQL). Turns run in the background, so the tests wait on
what the Bot API fake received.
"""

import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from channels.notices import notice
from channels.telegram import SECRET_HEADER
from channels.text_shaping import split_telegram
from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from crm_bridge.models import (
    Attachment,
    ChannelContact,
    Conversation,
    ConversationMessage,
    Customer,
)
from tests.channels.conftest import ScriptedRasa, a_minute_later, wait_until
from tests.conftest import TEST_SERVICE_TOKEN, make_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import (
    BOT_USER,
    callback_update,
    contact_update,
    edited_update,
    location_update,
    make_user,
    photo_update,
    start_update,
    sticker_update,
    text_update,
    voice_update,
)

CHAT = 5_551_234
CONVERSATION = f"telegram-{CHAT}"
SECRET = "telegram-webhook-secret-for-tests"
WEBHOOK = "/channels/telegram/webhook"
YES_NO = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
CORRECT_KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "Sí", "callback_data": "/affirm"},
            {"text": "No", "callback_data": "/deny"},
        ]
    ]
}
# Update ids for the shapes the builders do not cover, far from theirs.
_update_ids = itertools.count(900_000_001)


def one_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The echo and the Sí/No question folded into one reply with buttons."""
    return [{"text": f"echo: {body['message']}", "buttons": YES_NO}]


def replies(*texts: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda _body: [{"text": text} for text in texts]


@pytest.fixture
def rasa() -> Iterator[ScriptedRasa]:
    """One reply per turn unless a test asks for more.

    See test_every_reply_of_a_turn_is_sent_once_and_logged_sent:
    a turn of several replies is logged wrongly for now.
    """
    fake = ScriptedRasa().start()
    fake.script = one_reply
    yield fake
    fake.stop()


@pytest.fixture
def telegram_settings(
    migrated_settings: Settings, rasa: ScriptedRasa, fake_telegram: FakeTelegram
) -> Settings:
    return make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=rasa.url,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
    )


@pytest.fixture
def telegram(telegram_settings: Settings, clean_db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(telegram_settings)) as client:
        yield client


def post(
    client: TestClient, update: dict[str, Any], secret: str | None = SECRET
) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return client.post(WEBHOOK, json=update, headers=headers)


def logged(engine: Engine, conversation_id: str = CONVERSATION) -> list[Any]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)
            )
        )


def wait_for_log(
    engine: Engine, expected: list[tuple[str, str]], timeout: float = 8.0
) -> list[Any]:
    """Waits until the log holds exactly `expected` (direction, status) rows."""

    def rows() -> list[Any]:
        log = logged(engine)
        return log if [(m.direction, m.status) for m in log] == expected else []

    try:
        return wait_until(rows, timeout, f"log {expected}")
    except AssertionError:
        got = [(m.direction, m.status) for m in logged(engine)]
        raise AssertionError(f"log is {got}, expected {expected}") from None


def contact(engine: Engine, user_id: int = CHAT) -> ChannelContact:
    with Session(engine) as session:
        return session.scalars(
            select(ChannelContact).where(
                ChannelContact.channel == "telegram",
                ChannelContact.address == str(user_id),
            )
        ).one()


def stored_count(engine: Engine) -> tuple[int, int]:
    """(conversations, messages) in the log."""
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Conversation)) or 0,
            session.scalar(select(func.count()).select_from(ConversationMessage)) or 0,
        )


def add_customer(engine: Engine, phone: str, name: str = "Ana Ruiz") -> int:
    with Session(engine) as session:
        customer = Customer(name=name, phone=phone, postal_code="28001")
        session.add(customer)
        session.commit()
        return customer.id


def member_update(chat_id: int, status: str) -> dict[str, Any]:
    """The bot's membership in a private chat changed (`kicked`: blocked)."""

    def member(state: str) -> dict[str, Any]:
        shape: dict[str, Any] = {"user": BOT_USER, "status": state}
        if state == "kicked":
            shape["until_date"] = 0
        return shape

    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": {"id": chat_id, "first_name": "Ana", "type": "private"},
            "from": make_user(chat_id),
            "date": int(time.time()),
            "old_chat_member": member("member" if status != "member" else "kicked"),
            "new_chat_member": member(status),
        },
    }


def sent_texts(fake: FakeTelegram, count: int, timeout: float = 8.0) -> list[str]:
    return [m["text"] for m in fake.wait_for_messages(CHAT, count, timeout)]


# -- a conversation ---------------------------------------------------------------


def test_a_text_is_stored_and_answered_with_an_inline_keyboard(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    update = text_update(CHAT, "la lavadora no centrifuga")

    answer = post(telegram, update)

    assert answer.status_code == 200
    [sent] = fake_telegram.wait_for_messages(CHAT, 1)
    assert sent["text"] == "echo: la lavadora no centrifuga"
    assert sent["reply_markup"] == CORRECT_KEYBOARD
    [turn] = rasa.turns
    assert turn["sender"] == CONVERSATION
    assert turn["message"] == "la lavadora no centrifuga"
    assert turn["metadata"]["channel"] == "telegram"
    assert turn["metadata"]["language"] == "es"
    assert turn["metadata"]["message_id"] == f"update-{update['update_id']}"
    log = wait_for_log(clean_db, [("in", "answered"), ("out", "sent")])
    assert log[0].platform_message_id == f"update-{update['update_id']}"
    assert log[0].text == "la lavadora no centrifuga"
    assert log[1].platform_message_id == str(sent["message_id"])
    assert log[1].buttons == YES_NO
    assert contact(clean_db).display_name == "Ana"


def test_several_replies_arrive_in_order_with_the_keyboard_on_the_last(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    rasa.script = None  # the echo, then the question with buttons

    post(telegram, text_update(CHAT, "la lavadora no centrifuga"))

    first, question = fake_telegram.wait_for_messages(CHAT, 2)
    assert first["text"] == "echo: la lavadora no centrifuga"
    assert "reply_markup" not in first
    assert question["text"] == "¿Correcto?"
    assert question["reply_markup"] == CORRECT_KEYBOARD


def test_every_reply_of_a_turn_is_sent_once_and_logged_sent(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    rasa.script = None  # the echo, then the question with buttons
    gateway = telegram.app.state.gateway  # type: ignore[attr-defined]

    post(telegram, text_update(CHAT, "la lavadora no centrifuga"))
    sent = fake_telegram.wait_for_messages(CHAT, 2)
    wait_until(lambda: rasa.turns, what="the turn")
    time.sleep(0.5)
    telegram.portal.call(gateway.sweep, a_minute_later())  # type: ignore[union-attr]
    time.sleep(1.5)

    assert len(fake_telegram.calls("sendMessage")) == 2
    log = logged(clean_db)
    assert [(m.direction, m.status) for m in log] == [
        ("in", "answered"),
        ("out", "sent"),
        ("out", "sent"),
    ]
    # Per reply or all on the first reply of the batch: every id, once.
    logged_ids = ",".join(
        m.platform_message_id for m in log[1:] if m.platform_message_id
    )
    assert logged_ids == ",".join(str(m["message_id"]) for m in sent)


@pytest.mark.parametrize(
    "secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]], ids=repr
)
def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    secret: str | None,
):
    answer = post(telegram, text_update(CHAT, "hola"), secret=secret)

    assert answer.status_code == 403
    assert stored_count(clean_db) == (0, 0)
    assert rasa.turns == []
    assert fake_telegram.calls("sendMessage") == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"update_id": 1, "message": ',
        b"\xff\xfe not utf-8",
        b"[]",
        b'"an update"',
        b'{"message": {"message_id": 1, "date": 0, "text": "hola"}}',
        b'{"update_id": "7", "message": {"message_id": 1, "date": 0}}',
        b'{"update_id": 8, "message": {"text": "hola"}}',
        b'{"update_id": 9, "message": "hola"}',
        b'{"update_id": 10, "callback_query": {"id": "1", "data": "/affirm"}}',
    ],
    ids=[
        "truncated",
        "not-utf8",
        "list",
        "string",
        "no-update-id",
        "update-id-string",
        "message-without-chat",
        "message-not-object",
        "callback-without-from",
    ],
)
def test_a_body_that_is_not_an_update_is_a_400(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    body: bytes,
):
    answer = telegram.post(
        WEBHOOK,
        content=body,
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("not a Telegram update")
    assert stored_count(clean_db) == (0, 0)
    assert rasa.turns == []


def poll_update() -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "poll": {
            "id": "5872051219213451265",
            "question": "¿Le ha resultado útil?",
            "options": [
                {"persistent_id": "0", "text": "Sí", "voter_count": 1},
                {"persistent_id": "1", "text": "No", "voter_count": 0},
            ],
            "total_voter_count": 1,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        },
    }


def chat_join_request_update() -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "chat_join_request": {
            "chat": {"id": -1001234567890, "title": "Clientes", "type": "supergroup"},
            "from": make_user(CHAT),
            "user_chat_id": CHAT,
            "date": int(time.time()),
        },
    }


def channel_post_update() -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "channel_post": {
            "message_id": 3,
            "chat": {"id": -1009876543210, "title": "Novedades", "type": "channel"},
            "date": int(time.time()),
            "text": "Nueva gama de lavadoras",
        },
    }


@pytest.mark.parametrize(
    "make_update",
    [
        poll_update,
        chat_join_request_update,
        channel_post_update,
        lambda: {"update_id": next(_update_ids)},
        lambda: {"update_id": next(_update_ids), "some_future_update": {"x": 1}},
    ],
    ids=["poll", "chat_join_request", "channel_post", "empty", "future-type"],
)
def test_updates_that_need_no_answer_are_acknowledged_and_ignored(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    make_update: Callable[[], dict[str, Any]],
):
    answer = post(telegram, make_update())

    assert answer.status_code == 200
    time.sleep(0.3)
    assert stored_count(clean_db) == (0, 0)
    assert rasa.turns == []
    assert [call.method for call in fake_telegram.calls()] == ["getMe"]


def test_start_deep_links_start_the_matching_conversation(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    post(telegram, start_update(CHAT))
    sent_texts(fake_telegram, 1)
    post(telegram, start_update(CHAT, "warranty"))
    post(telegram, start_update(CHAT, "unknown-campaign"))

    assert sent_texts(fake_telegram, 3) == ["echo: /greet"] * 3
    assert [turn["message"] for turn in rasa.turns] == ["/greet"] * 3


def test_a_button_press_is_acknowledged_its_keyboard_removed_and_answered(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    post(telegram, text_update(CHAT, "mi horno no calienta"))
    [question] = fake_telegram.wait_for_messages(CHAT, 1)
    assert question["reply_markup"] == CORRECT_KEYBOARD
    press = callback_update(
        CHAT, "/affirm", question["message_id"], message_text=question["text"]
    )

    assert post(telegram, press).status_code == 200

    [answered] = fake_telegram.calls("answerCallbackQuery")
    assert answered.params["callback_query_id"] == press["callback_query"]["id"]
    [edited] = fake_telegram.calls("editMessageReplyMarkup")
    assert edited.params["chat_id"] == CHAT
    assert edited.params["message_id"] == question["message_id"]
    sent = fake_telegram.wait_for_messages(CHAT, 2)
    assert "reply_markup" not in sent[0]
    assert sent[1]["text"] == "echo: /affirm"
    assert [turn["message"] for turn in rasa.turns] == [
        "mi horno no calienta",
        "/affirm",
    ]
    log = wait_for_log(clean_db, [("in", "answered"), ("out", "sent")] * 2)
    assert (log[2].kind, log[2].text) == ("callback", "/affirm")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


def test_a_photo_is_downloaded_in_its_largest_size_and_kept(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    fake_telegram.add_file("AgACAgQ-door", JPEG, file_path="photos/file_7.jpg")

    post(telegram, photo_update(CHAT, "AgACAgQ-door"))

    assert sent_texts(fake_telegram, 1) == [notice("photo_received", "es")]
    assert [call.params["file_id"] for call in fake_telegram.calls("getFile")] == [
        "AgACAgQ-door"
    ]
    assert fake_telegram.downloads("AgACAgQ-door") == 1
    assert rasa.turns == []
    log = wait_for_log(clean_db, [("in", "answered"), ("out", "sent")])
    with Session(clean_db) as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.content == JPEG
        assert attachment.size == len(JPEG)
        assert attachment.content_type == "image/jpeg"
        assert attachment.filename == "file_7.jpg"
        assert attachment.message_id == log[0].id
        assert attachment.conversation_id == CONVERSATION


def test_the_caption_of_a_photo_reaches_rasa(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    fake_telegram.add_file("AgACAgQ-dent", JPEG, file_path="photos/file_8.jpg")

    post(telegram, photo_update(CHAT, "AgACAgQ-dent", caption="llegó con un golpe"))

    assert sent_texts(fake_telegram, 2) == [
        notice("photo_received", "es"),
        "echo: llegó con un golpe",
    ]
    assert [turn["message"] for turn in rasa.turns] == ["llegó con un golpe"]
    with Session(clean_db) as session:
        assert session.scalars(select(Attachment.content)).all() == [JPEG]


def test_a_photo_sent_instead_of_an_answer_repeats_the_question(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
):
    fake_telegram.add_file("AgACAgQ-label", JPEG, file_path="photos/file_9.jpg")
    rasa.script = lambda body: [{"text": "¿Me indica el número de serie?"}]
    post(telegram, text_update(CHAT, "la lavadora no va"))
    sent_texts(fake_telegram, 1)

    post(telegram, photo_update(CHAT, "AgACAgQ-label"))

    assert sent_texts(fake_telegram, 3)[1:] == [
        notice("photo_received", "es"),
        "¿Me indica el número de serie?",
    ]
    assert [turn["message"] for turn in rasa.turns] == ["la lavadora no va"]


def test_a_photo_after_a_pushed_question_repeats_that_question(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
):
    fake_telegram.add_file("AgACAgQ-smile", JPEG, file_path="photos/file_10.jpg")
    post(telegram, text_update(CHAT, "hola"))
    sent_texts(fake_telegram, 1)
    pushed = telegram.post(
        f"/api/v1/conversations/{CONVERSATION}/messages",
        json={"text": "¿Cómo valora la puntualidad del técnico, del 1 al 5?"},
        headers={"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"},
    )
    assert pushed.status_code == 202
    sent_texts(fake_telegram, 2)

    post(telegram, photo_update(CHAT, "AgACAgQ-smile"))

    assert sent_texts(fake_telegram, 4)[2:] == [
        notice("photo_received", "es"),
        "¿Cómo valora la puntualidad del técnico, del 1 al 5?",
    ]


def test_a_photo_that_cannot_be_downloaded_is_asked_for_again(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    post(telegram, photo_update(CHAT, "AgACAgQ-unknown"))

    assert sent_texts(fake_telegram, 1) == [notice("photo_failed", "es")]


def test_the_own_contact_links_the_phone_and_the_customer(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    customer_id = add_customer(clean_db, "+34600111222")

    post(telegram, contact_update(CHAT, "34600111222", user_id=CHAT))

    assert sent_texts(fake_telegram, 1) == [
        notice("contact_linked", "es", phone="…222")
    ]
    linked = contact(clean_db)
    assert (linked.phone, linked.customer_id) == ("+34600111222", customer_id)
    assert rasa.turns == []

    post(telegram, text_update(CHAT, "quiero saber mi garantía"))
    sent_texts(fake_telegram, 2)
    assert rasa.turns[0]["metadata"]["phone"] == "+34600111222"


@pytest.mark.parametrize("user_id", [CHAT + 1, None], ids=["other-user", "no-user"])
def test_someone_elses_contact_is_not_linked(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    user_id: int | None,
):
    add_customer(clean_db, "+34600999888")

    post(telegram, contact_update(CHAT, "34600999888", user_id=user_id))

    assert sent_texts(fake_telegram, 1) == [notice("contact_not_own", "es")]
    stranger = contact(clean_db)
    assert (stranger.phone, stranger.customer_id) == (None, None)
    assert rasa.turns == []


def test_an_edited_message_is_answered_again(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    post(telegram, text_update(CHAT, "mi nevera hace ruido", message_id=42))
    sent_texts(fake_telegram, 1)
    edit = edited_update(CHAT, 42, "mi nevera no enfría")

    post(telegram, edit)

    assert sent_texts(fake_telegram, 2)[1] == "echo: mi nevera no enfría"
    assert [turn["message"] for turn in rasa.turns] == [
        "mi nevera hace ruido",
        "mi nevera no enfría",
    ]
    log = wait_for_log(clean_db, [("in", "answered"), ("out", "sent")] * 2)
    assert (log[2].kind, log[2].platform_message_id) == (
        "edited",
        f"update-{edit['update_id']}",
    )


@pytest.mark.parametrize(
    "make_update",
    [sticker_update, voice_update, location_update],
    ids=["sticker", "voice", "location"],
)
def test_what_cannot_be_read_gets_a_polite_notice_without_rasa(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
    make_update: Callable[[int], dict[str, Any]],
):
    post(telegram, make_update(CHAT))

    assert sent_texts(fake_telegram, 1) == [notice("unsupported", "es")]
    wait_for_log(clean_db, [("in", "answered"), ("out", "sent")])
    assert logged(clean_db)[0].kind == "unsupported"
    assert rasa.turns == []


def test_an_english_speaker_gets_notices_in_english(
    telegram: TestClient, fake_telegram: FakeTelegram
):
    update = sticker_update(CHAT)
    update["message"]["from"]["language_code"] = "en-GB"

    post(telegram, update)

    assert sent_texts(fake_telegram, 1) == [notice("unsupported", "en")]


# -- delivery ----------------------------------------------------------------------


def long_answer() -> str:
    paragraphs = [
        f"Paso {step}: desconecte el aparato, revise el filtro y la goma de la "
        "puerta, y compruebe que la manguera no está doblada. " * 3
        for step in range(1, 30)
    ]
    return "\n\n".join(paragraphs)[:9000]


def test_a_long_reply_is_split_into_telegram_sized_messages_in_order(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    text = long_answer()
    assert len(text) == 9000
    rasa.script = replies(text)

    post(telegram, text_update(CHAT, "¿cómo limpio el filtro?"))

    parts = split_telegram(text)
    assert len(parts) >= 3
    sent = sent_texts(fake_telegram, len(parts), timeout=10)
    assert sent == parts
    assert all(len(part) <= 4096 for part in sent)
    assert " ".join(" ".join(sent).split()) == " ".join(text.split())


def test_flood_control_is_waited_out_and_the_message_delivered(
    telegram: TestClient, fake_telegram: FakeTelegram, clean_db: Engine
):
    fake_telegram.rate_limit_next(retry_after=1)

    post(telegram, text_update(CHAT, "hola"))

    assert sent_texts(fake_telegram, 1) == ["echo: hola"]
    refused, delivered = fake_telegram.calls("sendMessage")
    assert (delivered.called_at - refused.called_at).total_seconds() >= 0.95
    assert delivered.params["text"] == "echo: hola"
    wait_for_log(clean_db, [("in", "answered"), ("out", "sent")])


def test_a_retried_turn_does_not_repeat_the_replies_already_sent(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    rasa.script = None  # the echo, then the question with buttons
    gateway = telegram.app.state.gateway  # type: ignore[attr-defined]

    post(telegram, text_update(CHAT, "hola"))
    fake_telegram.wait_for_messages(CHAT, 1)
    # The question comes a second after the echo: flood control refuses it.
    fake_telegram.rate_limit_next(retry_after=1, count=3)
    wait_until(lambda: len(fake_telegram.calls("sendMessage")) == 4, timeout=8)
    time.sleep(0.3)
    telegram.portal.call(gateway.sweep, a_minute_later())  # type: ignore[union-attr]
    time.sleep(1.5)

    assert [m["text"] for m in fake_telegram.sent_messages(CHAT)] == [
        "echo: hola",
        "¿Correcto?",
    ]


def test_flood_control_that_does_not_end_leaves_the_reply_pending(
    telegram: TestClient, fake_telegram: FakeTelegram, clean_db: Engine
):
    fake_telegram.rate_limit_next(retry_after=1, count=3)

    post(telegram, text_update(CHAT, "hola"))

    wait_until(lambda: logged(clean_db)[-1].error, what="the delivery to give up")
    log = wait_for_log(clean_db, [("in", "answered"), ("out", "pending")])
    assert "kept rate-limiting" in log[1].error
    assert len(fake_telegram.calls("sendMessage")) == 3
    assert fake_telegram.sent_messages(CHAT) == []


def test_a_chat_that_blocked_the_bot_is_marked_and_not_tried_again(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    fake_telegram.block(CHAT)

    post(telegram, text_update(CHAT, "hola"))
    wait_for_log(clean_db, [("in", "answered"), ("out", "undeliverable")])
    assert contact(clean_db).unreachable
    post(telegram, text_update(CHAT, "¿sigue ahí?"))
    wait_for_log(clean_db, [("in", "answered"), ("out", "undeliverable")] * 2)

    assert len(fake_telegram.calls("sendMessage")) == 1
    assert fake_telegram.sent_messages(CHAT) == []
    assert len(rasa.turns) == 2


def test_a_person_who_blocks_and_unblocks_the_bot_is_marked_accordingly(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    post(telegram, text_update(CHAT, "hola"))
    sent_texts(fake_telegram, 1)

    assert post(telegram, member_update(CHAT, "kicked")).status_code == 200
    assert contact(clean_db).unreachable
    post(telegram, text_update(CHAT, "¿sigue ahí?"))
    wait_until(lambda: len(rasa.turns) == 2, what="the second turn")
    wait_until(
        lambda: logged(clean_db)[-1].status == "undeliverable",
        what="the reply dropped",
    )
    assert len(fake_telegram.calls("sendMessage")) == 1

    assert post(telegram, member_update(CHAT, "member")).status_code == 200
    assert not contact(clean_db).unreachable
    post(telegram, text_update(CHAT, "ya he vuelto"))
    assert sent_texts(fake_telegram, 2)[1] == "echo: ya he vuelto"


def test_fifty_redeliveries_of_one_update_run_one_turn(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    update = text_update(CHAT, "la secadora hace ruido")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: post(telegram, update), range(50)))

    assert [answer.status_code for answer in answers] == [200] * 50
    sent_texts(fake_telegram, 1)
    wait_for_log(clean_db, [("in", "answered"), ("out", "sent")])
    time.sleep(0.5)
    assert len(rasa.turns) == 1
    assert len(fake_telegram.calls("sendMessage")) == 1


def test_updates_of_one_chat_are_answered_one_at_a_time_in_order(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    rasa.delay = 0.3
    updates = [text_update(CHAT, f"m{index}") for index in range(3)]

    def deliver(index: int) -> int:
        time.sleep(index * 0.1)
        return post(telegram, updates[index]).status_code

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(deliver, range(3))) == [200] * 3

    assert sent_texts(fake_telegram, 3) == ["echo: m0", "echo: m1", "echo: m2"]
    assert [turn["message"] for turn in rasa.turns] == ["m0", "m1", "m2"]
    assert rasa.overlaps == 0
    inbound = [m.text for m in logged(clean_db) if m.direction == "in"]
    assert inbound == ["m0", "m1", "m2"]


def test_replies_to_one_chat_are_paced_a_second_apart(
    telegram: TestClient, rasa: ScriptedRasa, fake_telegram: FakeTelegram
):
    texts = ["uno", "dos", "tres", "cuatro", "cinco"]
    rasa.script = replies(*texts)

    post(telegram, text_update(CHAT, "cuéntame"))

    # Only the first five: until the bug of
    # test_every_reply_of_a_turn_is_sent_once_and_logged_sent is
    # fixed, the sweep sends four of them again after five seconds.
    assert sent_texts(fake_telegram, 5, timeout=10)[:5] == texts
    times = [call.called_at for call in fake_telegram.calls("sendMessage")][:5]
    gaps = [
        (later - earlier).total_seconds()
        for earlier, later in itertools.pairwise(times)
    ]
    assert min(gaps) >= 0.9, gaps


def group_update(group_id: int, user_id: int, text: str) -> dict[str, Any]:
    update = text_update(user_id, text)
    update["message"]["chat"] = {"id": group_id, "type": "group", "title": "Tienda"}
    return update


def test_in_a_group_the_bot_says_once_that_it_answers_privately(
    telegram: TestClient,
    rasa: ScriptedRasa,
    fake_telegram: FakeTelegram,
    clean_db: Engine,
):
    group = -100_777
    post(telegram, group_update(group, CHAT, "la lavadora no va"))
    fake_telegram.wait_for_messages(group, 1)
    post(telegram, group_update(group, CHAT + 1, "y mi nevera tampoco"))
    wait_until(
        lambda: [(m.direction, m.status) for m in logged(clean_db, f"telegram-{group}")]
        == [("in", "answered"), ("out", "sent"), ("in", "ignored")],
        what="the group's two messages",
    )
    time.sleep(0.3)

    [said] = fake_telegram.sent_messages(group)
    assert said["text"] == notice("private_only", "es")
    assert rasa.turns == []
