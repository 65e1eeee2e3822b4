"""SMS through Twilio: signed webhooks in, replies out through the REST API.

The webhooks are signed with the real ``twilio`` validator over the public URL;
replies reach a loopback fake of Twilio's API through the real ``twilio``
client; Rasa is a recording fake; the conversation log is the real database
(SQLite and PostgreSQL).
"""

import base64
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.notices import notice
from channels.text_shaping import sms_encoding
from crm_bridge.models import (
    Attachment,
    ChannelContact,
    ConversationMessage,
)
from tests.channels.conftest import (
    TWILIO_NUMBER,
    TWILIO_PUBLIC_BASE_URL,
    ScriptedRasa,
    a_minute_later,
    post_signed,
    wait_until,
)
from tests.crm_bridge.factories import make_category, make_ticket
from tests.fakes.server import BackgroundServer
from tests.fakes.twilio_api import FakeTwilio, count_segments
from tests.fakes.twilio_webhooks import TEST_AUTH_TOKEN, sign, sms_params

SMS_PATH = "/channels/twilio/sms"
PERSON = "+34600111222"
CONVERSATION = "sms-34600111222"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def text_in(body: str, sid: str | None = None, **values: str) -> dict[str, str]:
    return sms_params(PERSON, TWILIO_NUMBER, body, message_sid=sid, **values)


def send_sms(client: TestClient, params: dict[str, str]):
    return post_signed(client, SMS_PATH, params)


def logged(engine: Engine, direction: str | None = None) -> list[ConversationMessage]:
    with Session(engine) as session:
        query = select(ConversationMessage).where(
            ConversationMessage.conversation_id == CONVERSATION
        )
        if direction:
            query = query.where(ConversationMessage.direction == direction)
        return list(session.scalars(query.order_by(ConversationMessage.id)))


def settled(engine: Engine) -> bool:
    """Every inbound message had its turn and no reply waits to be sent."""
    messages = logged(engine)
    return bool(messages) and all(
        message.status not in ("queued", "processing", "pending")
        for message in messages
    )


def contact(engine: Engine) -> ChannelContact:
    with Session(engine) as session:
        return session.scalars(
            select(ChannelContact).where(
                ChannelContact.channel == "sms", ChannelContact.address == PERSON
            )
        ).one()


def echo_with_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "text": f"echo: {body['message']}",
            "buttons": [
                {"title": "Sí", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        }
    ]


@pytest.fixture(autouse=True)
def one_reply_per_turn(twilio_rasa: ScriptedRasa) -> None:
    """Turns answered with one message, so bodies can be compared whole; the
    joining of several replies has its own test below."""
    twilio_rasa.script = echo_with_buttons


# -- the happy path -------------------------------------------------------------


def test_a_signed_sms_is_stored_and_answered_by_sms(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    params = text_in("la lavadora no centrifuga")

    answer = send_sms(twilio_app, params)

    assert answer.status_code == 200
    assert answer.text == EMPTY_TWIML
    assert answer.headers["content-type"].startswith("text/xml")
    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.from_ == TWILIO_NUMBER
    # "Sí" without the accent GSM-7 lacks, so the SMS stays in one segment.
    assert sent.body == "echo: la lavadora no centrifuga\nResponda: Si / No"
    assert sent.num_segments == 1
    assert [turn["message"] for turn in twilio_rasa.turns] == [
        "la lavadora no centrifuga"
    ]
    assert twilio_rasa.turns[0]["sender"] == CONVERSATION
    assert twilio_rasa.turns[0]["metadata"]["channel"] == "sms"
    assert twilio_rasa.turns[0]["metadata"]["phone"] == PERSON
    wait_until(lambda: settled(clean_db), what="the turn")
    stored = logged(clean_db)
    assert [(m.direction, m.status) for m in stored] == [
        ("in", "answered"),
        ("out", "sent"),
    ]
    assert stored[0].platform_message_id == params["MessageSid"]
    assert stored[0].text == "la lavadora no centrifuga"
    assert stored[1].platform_message_id == sent.sid


def test_the_replies_of_a_turn_go_out_once_in_one_sms(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    twilio_rasa.script = None

    send_sms(twilio_app, text_in("la lavadora no centrifuga"))

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    # The turn's two replies in one SMS; the buttons become a typed answer,
    # "Sí" without the accent GSM-7 lacks, so the SMS stays in one segment.
    assert sent.body == (
        "echo: la lavadora no centrifuga\n\n¿Correcto?\nResponda: Si / No"
    )
    assert sent.num_segments == 1
    # Both replies are marked sent, and nothing else goes out at the next sweep.
    wait_until(
        lambda: {m.status for m in logged(clean_db, "out")} == {"sent"},
        what="both replies marked sent",
    )
    assert (
        twilio_app.portal.call(twilio_app.app.state.gateway.sweep, a_minute_later())
        == 0
    )
    time.sleep(0.3)
    assert len(fake_twilio.messages) == 1


def test_english_buttons_are_offered_in_english(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, fake_twilio: FakeTwilio
):
    twilio_rasa.script = lambda body: [
        {
            "text": "Is the washing machine under warranty?",
            "buttons": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        }
    ]

    send_sms(twilio_app, text_in("my washing machine is broken"))

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body == "Is the washing machine under warranty?\nReply: Yes / No"


# -- signatures and malformed requests ----------------------------------------


def _unsigned(params: dict[str, str]) -> dict[str, str]:
    return {}


def _wrong(params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="}


def _empty(params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": ""}


def _internal_url(params: dict[str, str]) -> dict[str, str]:
    # What the app sees behind the proxy, not what Twilio called.
    return sign(f"http://testserver{SMS_PATH}", params, TEST_AUTH_TOKEN)


def _other_path(params: dict[str, str]) -> dict[str, str]:
    url = f"{TWILIO_PUBLIC_BASE_URL}/channels/twilio/voice"
    return sign(url, params, TEST_AUTH_TOKEN)


def _other_token(params: dict[str, str]) -> dict[str, str]:
    return sign(f"{TWILIO_PUBLIC_BASE_URL}{SMS_PATH}", params, "another-token")


def _tampered(params: dict[str, str]) -> dict[str, str]:
    return sign(
        f"{TWILIO_PUBLIC_BASE_URL}{SMS_PATH}",
        {**params, "Body": "something else"},
        TEST_AUTH_TOKEN,
    )


@pytest.mark.parametrize(
    "signature",
    [_unsigned, _wrong, _empty, _internal_url, _other_path, _other_token, _tampered],
)
def test_a_request_without_twilio_s_signature_is_refused_and_not_stored(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
    signature,
):
    params = text_in("hola")

    answer = twilio_app.post(SMS_PATH, data=params, headers=signature(params))

    assert answer.status_code == 403
    assert answer.json() == {"detail": "invalid Twilio signature"}
    assert logged(clean_db) == []
    assert twilio_rasa.turns == []
    assert fake_twilio.messages == []


def test_a_signature_over_the_public_url_with_its_default_port_is_accepted(
    twilio_app: TestClient, fake_twilio: FakeTwilio
):
    params = text_in("hola")
    signed_url = f"{TWILIO_PUBLIC_BASE_URL}:443{SMS_PATH}"

    answer = post_signed(twilio_app, SMS_PATH, params, signed_url=signed_url)

    assert answer.status_code == 200
    fake_twilio.wait_for_messages(PERSON, 1)


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_a_message_without_its_id_or_sender_is_a_400(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine, missing: str
):
    params = text_in("hola")
    del params[missing]

    answer = send_sms(twilio_app, params)

    assert answer.status_code == 400
    assert answer.json() == {"detail": f"missing fields: {missing}"}
    assert logged(clean_db) == []
    assert twilio_rasa.turns == []


def test_a_json_body_has_no_fields_and_is_a_400(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    url = f"{TWILIO_PUBLIC_BASE_URL}{SMS_PATH}"

    answer = twilio_app.post(
        SMS_PATH,
        content=b'{"MessageSid": "SM1", "From": "+34600111222", "Body": "hola"}',
        headers={"Content-Type": "application/json", **sign(url, {}, TEST_AUTH_TOKEN)},
    )

    assert answer.status_code == 400
    assert answer.json() == {"detail": "missing fields: MessageSid, From"}
    assert logged(clean_db) == []
    assert twilio_rasa.turns == []


def test_a_body_that_cannot_be_parsed_as_a_form_is_a_400(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    answer = twilio_app.post(
        SMS_PATH,
        content=b"MessageSid=SM1&From=%2B34600111222",
        headers={"Content-Type": "multipart/form-data"},
    )

    assert answer.status_code == 400
    assert answer.json() == {"detail": "the body is not a form"}
    assert logged(clean_db) == []
    assert twilio_rasa.turns == []


# -- redeliveries and order -------------------------------------------------------


def test_fifty_redeliveries_of_one_message_make_one_turn_and_one_sms(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    params = text_in("mi caldera pierde agua")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: send_sms(twilio_app, params), range(50)))

    assert [answer.status_code for answer in answers] == [200] * 50
    fake_twilio.wait_for_messages(PERSON, 1)
    wait_until(lambda: settled(clean_db), what="the turn")
    # Give a stray second turn the time to show up.
    time.sleep(0.3)
    assert len(twilio_rasa.turns) == 1
    assert len(fake_twilio.messages) == 1
    assert [m.direction for m in logged(clean_db)] == ["in", "out"]


def test_messages_sent_together_are_answered_one_at_a_time_in_stored_order(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    twilio_rasa.delay = 0.3
    start = threading.Barrier(3)

    def post(text: str):
        start.wait()
        return send_sms(twilio_app, text_in(text))

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(post, ["primero", "segundo", "tercero"]))

    assert [answer.status_code for answer in answers] == [200] * 3
    sent = fake_twilio.wait_for_messages(PERSON, 3, timeout=10)
    stored = [m.text for m in logged(clean_db, "in")]
    assert sorted(stored) == ["primero", "segundo", "tercero"]
    assert [turn["message"] for turn in twilio_rasa.turns] == stored
    assert twilio_rasa.overlaps == 0
    assert [message.body.split("\n")[0] for message in sent] == [
        f"echo: {text}" for text in stored
    ]


# -- what the gateway answers itself ---------------------------------------------


def test_a_very_long_message_is_kept_verbatim_and_answered_without_rasa(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    body = ("La lavadora hace un ruido extraño al centrifugar. " * 200)[:10_000]

    send_sms(twilio_app, text_in(body))

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body == (
        "Su mensaje es muy largo y lo he guardado tal cual. ¿Me cuenta en "
        "pocas palabras qué necesita?"
    )
    [stored] = logged(clean_db, "in")
    assert stored.text == body
    assert stored.kind == "too_long"
    assert twilio_rasa.turns == []


@pytest.mark.parametrize("with_ticket", [False, True])
def test_an_mms_photo_is_downloaded_and_kept_with_the_case(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
    db: Session,
    with_ticket: bool,
):
    ticket_id = None
    if with_ticket:
        make_category(db)
        ticket_id = make_ticket(
            db,
            channel="sms",
            conversation_id=CONVERSATION,
            idempotency_key="mms-test-1",
        ).id
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    url = fake_twilio.add_media("ME0123", photo, "image/jpeg")
    params = text_in("", media=[(url, "image/jpeg")])

    send_sms(twilio_app, params)

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body == notice("photo_received", "es")
    assert fake_twilio.media_fetches("ME0123") == 1
    assert twilio_rasa.turns == []
    with Session(clean_db) as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.content == photo
        assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
        assert attachment.size == len(photo)
        assert attachment.content_type == "image/jpeg"
        assert attachment.source == url
        assert attachment.filename == "mms-ME0123.jpeg"
        assert attachment.ticket_id == ticket_id
        assert attachment.message_id == logged(clean_db, "in")[0].id


def test_mms_media_is_fetched_with_the_account_s_credentials(
    twilio_app: TestClient, fake_twilio: FakeTwilio, clean_db: Engine
):
    # Twilio serves media behind HTTP basic auth when the account asks it to.
    seen: list[str] = []

    async def media(request: Request) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        return Response(b"GIF89a", media_type="image/gif")

    app = Starlette(routes=[Route("/media/ME42", media)])
    with BackgroundServer(app) as server:
        params = text_in("", media=[(f"{server.base_url}/media/ME42", "image/gif")])
        send_sms(twilio_app, params)
        fake_twilio.wait_for_messages(PERSON, 1)

    credentials = f"{fake_twilio.account_sid}:{fake_twilio.auth_token}"
    assert seen == ["Basic " + base64.b64encode(credentials.encode()).decode()]
    with Session(clean_db) as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert (attachment.content, attachment.filename) == (b"GIF89a", "mms-ME42.gif")


def test_every_photo_of_a_redelivered_mms_is_fetched_before_the_answer(
    twilio_app: TestClient, fake_twilio: FakeTwilio, clean_db: Engine
):
    # Message and files are stored together: a redelivery racing the first
    # delivery never starts the turn with some of the files missing.
    media = [
        (
            fake_twilio.add_media(f"ME{index}", bytes([index]) * 50, "image/jpeg"),
            "image/jpeg",
        )
        for index in range(10)
    ]
    params = text_in("", media=media)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: send_sms(twilio_app, params), range(20)))

    fake_twilio.wait_for_messages(PERSON, 1)
    wait_until(lambda: settled(clean_db), what="the turn")
    with Session(clean_db) as session:
        stored = session.scalars(select(Attachment)).all()
    assert len(stored) == 10
    assert all(attachment.sha256 for attachment in stored)
    assert [fake_twilio.media_fetches(f"ME{index}") for index in range(10)] == [1] * 10


def test_a_message_with_a_nul_character_is_kept_without_it(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    answer = send_sms(twilio_app, text_in("hola\x00 la lavadora"))

    assert answer.status_code == 200
    wait_until(lambda: settled(clean_db), what="the turn")
    assert [m.text for m in logged(clean_db, "in")] == ["hola la lavadora"]


def test_an_mms_photo_that_cannot_be_fetched_asks_for_it_again(
    twilio_app: TestClient, fake_twilio: FakeTwilio, clean_db: Engine
):
    url = f"{fake_twilio.base_url}/media/never-uploaded"

    send_sms(twilio_app, text_in("", media=[(url, "image/jpeg")]))

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body == "No he podido descargar la foto. ¿Puede enviarla de nuevo?"


# -- keywords -------------------------------------------------------------------------


STOPPED_ES = "No recibira mas mensajes de este numero. Envie ALTA para volver."
STOPPED_EN = (
    "You won't get any more messages from this number. Send START to come back."
)


@pytest.mark.parametrize(
    ("keyword", "confirmed"),
    [("STOP", STOPPED_EN), ("baja", STOPPED_ES), ("Stop.", STOPPED_EN)],
)
def test_stop_confirms_and_then_nothing_is_sent_or_asked(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
    keyword: str,
    confirmed: str,
):
    send_sms(twilio_app, text_in(keyword))
    [confirmation] = fake_twilio.wait_for_messages(PERSON, 1)
    wait_until(lambda: settled(clean_db), what="the STOP turn")

    send_sms(twilio_app, text_in("hola, ¿sigue ahí?"))
    wait_until(lambda: settled(clean_db), what="the next turn")

    # The keyword's own language, as nothing else is known of the person yet.
    assert confirmation.body == confirmed
    assert twilio_rasa.turns == []
    assert len(fake_twilio.messages) == 1
    assert contact(clean_db).opted_out
    assert [m.status for m in logged(clean_db, "in")] == ["answered", "ignored"]


def test_start_after_stop_brings_the_conversation_back(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    send_sms(twilio_app, text_in("BAJA"))
    fake_twilio.wait_for_messages(PERSON, 1)
    wait_until(lambda: settled(clean_db), what="the STOP turn")

    send_sms(twilio_app, text_in("ALTA"))
    welcome = fake_twilio.wait_for_messages(PERSON, 2)[-1]
    send_sms(twilio_app, text_in("hola"))
    answer = fake_twilio.wait_for_messages(PERSON, 3)[-1]

    assert welcome.body == "Bienvenido de nuevo. ¿En qué puedo ayudarle?"
    assert answer.body.startswith("echo: hola")
    assert [turn["message"] for turn in twilio_rasa.turns] == ["hola"]
    assert not contact(clean_db).opted_out


@pytest.mark.parametrize(
    ("keyword", "opening"),
    [
        ("HELP", "After-sales assistant: type your question about"),
        ("ayuda", "Asistente posventa: escriba su consulta sobre"),
        ("Info", "After-sales assistant: type your question"),
    ],
)
def test_help_is_answered_without_rasa(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    keyword: str,
    opening: str,
):
    send_sms(twilio_app, text_in(keyword))

    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body.startswith(opening)
    # How to stop, with the keyword of the language of the message.
    assert "STOP" in sent.body or "BAJA" in sent.body
    assert twilio_rasa.turns == []


# -- delivery failures ----------------------------------------------------------


def test_a_number_twilio_says_is_unsubscribed_gets_nothing_more(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    # The person texted STOP to Twilio directly (Advanced Opt-Out).
    fake_twilio.unsubscribe(PERSON)

    send_sms(twilio_app, text_in("hola"))
    wait_until(lambda: settled(clean_db), what="the first turn")
    send_sms(twilio_app, text_in("¿hola?"))
    wait_until(lambda: settled(clean_db), what="the second turn")

    assert fake_twilio.messages == []
    assert contact(clean_db).opted_out
    replies = logged(clean_db, "out")
    assert {m.status for m in replies} == {"undeliverable"}
    assert "21610" in (replies[0].error or "")
    assert [turn["message"] for turn in twilio_rasa.turns] == ["hola"]
    assert [m.status for m in logged(clean_db, "in")] == ["answered", "ignored"]


def test_a_twilio_outage_keeps_the_reply_pending_until_a_sweep_sends_it(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
):
    fake_twilio.fail_next(500)

    send_sms(twilio_app, text_in("hola"))
    replies = wait_until(
        lambda: [m for m in logged(clean_db, "out") if m.error],
        what="the failed send",
    )

    assert {m.status for m in replies} == {"pending"}
    assert "500" in (replies[0].error or "")
    assert fake_twilio.messages == []

    swept = twilio_app.portal.call(twilio_app.app.state.gateway.sweep, a_minute_later())

    assert swept == 1
    [sent] = fake_twilio.wait_for_messages(PERSON, 1)
    assert sent.body.startswith("echo: hola")
    wait_until(lambda: settled(clean_db), what="the delivery")
    assert {m.status for m in logged(clean_db, "out")} == {"sent"}
    assert len(twilio_rasa.turns) == 1


# -- long replies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "encoding"),
    [
        # "á" and "ó" are not GSM-7 and lose their accent: the SMS stays GSM-7.
        ("El técnico revisará la bomba de desagüe y el motor en la visita. ", "GSM-7"),
        # "Ł" has no GSM-7 form at all: the whole message is UCS-2.
        ("El técnico Łukasz revisará la bomba de desagüe en la visita. ", "UCS-2"),
    ],
)
def test_a_long_reply_is_split_into_sms_of_at_most_four_segments(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,
    clean_db: Engine,
    sentence: str,
    encoding: str,
):
    reply = sentence * 20
    twilio_rasa.script = lambda body: [{"text": reply}]

    send_sms(twilio_app, text_in("¿qué pasará en la visita?"))
    wait_until(lambda: settled(clean_db), what="the delivery")

    sent = fake_twilio.messages_to(PERSON)
    assert len(sent) > 1
    for message in sent:
        assert sms_encoding(message.body) == encoding
        assert count_segments(message.body) <= 4
        # Cut between sentences, never inside one.
        assert message.body.endswith(".")
    rejoined = " ".join(message.body for message in sent)
    assert rejoined.count(sentence.strip()[-20:]) == 20
    if encoding == "GSM-7":
        assert "revisara" in rejoined and "á" not in rejoined
    else:
        assert "Łukasz" in rejoined
    [stored] = logged(clean_db, "out")
    assert stored.text == reply
    assert stored.platform_message_id == ",".join(message.sid for message in sent)
