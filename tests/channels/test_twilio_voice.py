"""Phone calls through Twilio Voice: the TwiML a caller is answered with.

Every webhook is signed with the real ``twilio`` validator over the public URL,
as Twilio calls it; the TwiML is parsed with ``xml.etree`` and followed the way
Twilio follows it (the gather's action, a redirect). Rasa is a recording fake;
the conversation log is the real database (SQLite and PostgreSQL).
"""

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from channels.notices import notice
from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from crm_bridge.models import Conversation, ConversationMessage, Handoff
from tests.channels.conftest import (
    TWILIO_NUMBER,
    TWILIO_PUBLIC_BASE_URL,
    ScriptedRasa,
    post_signed,
)
from tests.channels.test_handoff import open_handoff
from tests.fakes.twilio_webhooks import (
    gather_params,
    status_params,
    voice_params,
)

CALL_PATH = "/channels/twilio/voice"
SPANISH_CALLER = "+34600111222"
AMERICAN_CALLER = "+12025550143"
EMOJI = "🔧"


class Call:
    """One phone call, played the way Twilio plays the app's TwiML."""

    def __init__(self, client: TestClient, caller: str = SPANISH_CALLER) -> None:
        self.client = client
        self.caller = caller
        self.params = voice_params(caller, TWILIO_NUMBER)
        self.sid = self.params["CallSid"]
        self.twiml: ET.Element | None = None

    @property
    def conversation_id(self) -> str:
        return f"voice-{self.sid}"

    def ring(self) -> ET.Element:
        return self._post(CALL_PATH, self.params)

    def answer(
        self,
        speech: str | None = None,
        confidence: float | None = None,
        digits: str | None = None,
    ) -> ET.Element:
        """What the caller says or keys in answer to the current gather."""
        params = gather_params(
            self.sid, speech, confidence, digits, from_=self.caller, to=TWILIO_NUMBER
        )
        return self._post_to(gather(self.current).get("action", ""), params)

    def follow_redirect(self) -> ET.Element:
        redirect = self.current.find("Redirect")
        assert redirect is not None, ET.tostring(self.current, encoding="unicode")
        params = gather_params(self.sid, from_=self.caller, to=TWILIO_NUMBER)
        return self._post_to(redirect.text or "", params)

    def hang_up(self, status: str = "completed") -> httpx.Response:
        params = status_params(
            self.sid, status, 42, from_=self.caller, to=TWILIO_NUMBER
        )
        return post_signed(self.client, f"{CALL_PATH}/status", params)

    @property
    def current(self) -> ET.Element:
        assert self.twiml is not None, "the call has not started"
        return self.twiml

    def _post_to(self, url: str, params: dict[str, str]) -> ET.Element:
        # Twilio calls the public URL; the test client reaches the app itself.
        assert url.startswith(f"{TWILIO_PUBLIC_BASE_URL}/"), url
        return self._post(url.removeprefix(TWILIO_PUBLIC_BASE_URL), params)

    def _post(self, path: str, params: dict[str, str]) -> ET.Element:
        response = post_signed(self.client, path, params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        self.twiml = ET.fromstring(response.text)
        assert self.twiml.tag == "Response"
        return self.twiml


def gather(twiml: ET.Element) -> ET.Element:
    found = twiml.find("Gather")
    assert found is not None, ET.tostring(twiml, encoding="unicode")
    return found


def said(element: ET.Element) -> str:
    return " ".join(say.text or "" for say in element.iter("Say"))


def action_query(twiml: ET.Element) -> dict[str, str]:
    query = parse_qs(urlsplit(gather(twiml).get("action", "")).query)
    return {key: values[0] for key, values in query.items()}


def messages(engine: Engine, conversation_id: str) -> list[ConversationMessage]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)
            )
        )


def said_to_rasa(rasa: ScriptedRasa) -> list[str]:
    return [turn["message"] for turn in rasa.turns]


@pytest.fixture
def slow_turns(twilio_settings: Settings, clean_db: Engine) -> Iterator[TestClient]:
    """The app with a short wait for the assistant before the hold message."""
    settings = twilio_settings.model_copy(update={"VOICE_TURN_WAIT_SECONDS": 0.4})
    with TestClient(create_app(settings)) as client:
        yield client


# -- the call starts --------------------------------------------------------------


def test_a_spanish_caller_is_greeted_and_listened_to_in_spanish(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    call = Call(twilio_app, SPANISH_CALLER)

    twiml = call.ring()

    listening = gather(twiml)
    assert listening.get("input") == "speech dtmf"
    assert listening.get("language") == "es-ES"
    assert listening.get("method") == "POST"
    action = listening.get("action", "")
    assert action.startswith(f"{TWILIO_PUBLIC_BASE_URL}/channels/twilio/voice/gather?")
    stored = messages(clean_db, call.conversation_id)
    # "heard": the message whose replies offered the options a key selects.
    assert action_query(twiml) == {
        "turn": "0",
        "misses": "0",
        "lang": "es",
        "heard": str(stored[0].id),
    }
    [say] = listening.findall("Say")
    assert say.get("language") == "es-ES"
    assert say.text == (
        "echo: /greet. ¿Correcto? Diga sí o no, o marque 1 para sí y 2 para no."
    )
    [greet] = twilio_rasa.turns
    assert greet["message"] == "/greet"
    assert greet["sender"] == call.conversation_id
    assert greet["metadata"]["channel"] == "voice"
    assert greet["metadata"]["language"] == "es"
    assert greet["metadata"]["phone"] == SPANISH_CALLER
    assert [(m.direction, m.status) for m in stored] == [
        ("in", "answered"),
        ("out", "sent"),
        ("out", "sent"),
    ]


def test_an_incoming_call_webhook_twilio_repeats_is_greeted_once(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(twilio_app)

    first = call.ring()
    again = call.ring()

    assert said_to_rasa(twilio_rasa) == ["/greet"]
    assert ET.tostring(again) == ET.tostring(first)


def test_an_american_caller_is_greeted_and_listened_to_in_english(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    twilio_rasa.script = lambda body: [
        {"text": "Hello, this is the after-sales assistant. How can I help you?"}
        if body["metadata"].get("language") == "en"
        else {"text": "Hola, soy el asistente posventa. ¿En qué puedo ayudarle?"}
    ]
    call = Call(twilio_app, AMERICAN_CALLER)

    twiml = call.ring()

    assert gather(twiml).get("language") == "en-US"
    assert action_query(twiml)["lang"] == "en"
    assert said(twiml) == (
        "Hello, this is the after-sales assistant. How can I help you?"
    )
    assert twilio_rasa.turns[0]["metadata"]["language"] == "en"


# -- the caller answers --------------------------------------------------------------


def test_speech_reaches_rasa_and_the_reply_is_read_out_for_the_ear(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    call = Call(twilio_app)
    call.ring()
    twilio_rasa.script = lambda body: [
        {"text": f"He abierto su caso TK-20240 {EMOJI}."},
        {"text": "El técnico le llamará en 48 horas al 963 123 456."},
    ]

    twiml = call.answer(speech="mi lavadora no centrifuga", confidence=0.92)

    assert said_to_rasa(twilio_rasa) == ["/greet", "mi lavadora no centrifuga"]
    text = said(gather(twiml))
    assert text == (
        "He abierto su caso T K, 2 0 2 4 0. "
        "El técnico le llamará en 48 horas al 9 6 3, 1 2 3, 4 5 6."
    )
    assert EMOJI not in text
    # The next answer is the next turn.
    stored = messages(clean_db, call.conversation_id)
    assert action_query(twiml) == {
        "turn": "1",
        "misses": "0",
        "lang": "es",
        "heard": str(stored[3].id),
    }
    assert stored[3].platform_message_id == f"{call.sid}:1"
    assert stored[3].text == "mi lavadora no centrifuga"


@pytest.mark.parametrize(("key", "payload"), [("1", "/affirm"), ("2", "/deny")])
def test_a_key_pressed_after_a_question_with_buttons_sends_that_button(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, key: str, payload: str
):
    call = Call(twilio_app)
    call.ring()

    twiml = call.answer(digits=key)

    assert said_to_rasa(twilio_rasa) == ["/greet", payload]
    assert said(twiml).startswith(f"echo: {payload}.")


def test_a_key_pressed_after_a_reprompt_selects_the_options_read_before_it(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(twilio_app)
    call.ring()
    call.answer(speech="ejem", confidence=0.1)

    call.answer(digits="2")

    assert said_to_rasa(twilio_rasa) == ["/greet", "/deny"]


def test_a_key_without_an_option_is_passed_on_as_typed(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(twilio_app)
    call.ring()

    call.answer(digits="7")

    assert said_to_rasa(twilio_rasa) == ["/greet", "7"]


def test_a_key_pressed_again_by_twilio_is_the_same_turn(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    # After "/affirm" the assistant asks an open question: no buttons.
    twilio_rasa.script = lambda body: [
        {
            "text": "¿Es correcto?",
            "buttons": [
                {"title": "Sí", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        }
        if body["message"] == "/greet"
        else {"text": "¿Cuál es el número de serie?"}
    ]
    call = Call(twilio_app)
    greeting = call.ring()

    first = call.answer(digits="1")
    call.twiml = greeting
    again = call.answer(digits="1")

    assert said_to_rasa(twilio_rasa) == ["/greet", "/affirm"]
    assert ET.tostring(again) == ET.tostring(first)


def test_the_same_speech_posted_twice_is_one_turn(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    call = Call(twilio_app)
    greeting = call.ring()

    first = call.answer(speech="quiero reparar mi horno")
    call.twiml = greeting
    again = call.answer(speech="quiero reparar mi horno")

    assert said_to_rasa(twilio_rasa) == ["/greet", "quiero reparar mi horno"]
    assert ET.tostring(again) == ET.tostring(first)
    assert len(messages(clean_db, call.conversation_id)) == 6


# -- the caller is not understood ---------------------------------------------------


def test_unclear_speech_is_asked_again_then_a_person_is_offered_and_zero_asks_for_one(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(twilio_app)
    greeting = action_query(call.ring())

    again = call.answer(speech="mmm lavado", confidence=0.2)

    assert said(again) == notice("voice_didnt_hear", "es")
    assert action_query(again) == {**greeting, "misses": "1"}
    assert said_to_rasa(twilio_rasa) == ["/greet"]

    # Silence: Twilio posts the action without speech or digits.
    offer = call.answer()

    assert said(offer) == notice("voice_offer_human", "es")
    assert gather(offer).get("input") == "speech dtmf"
    assert action_query(offer) == {**greeting, "misses": "2"}
    assert said_to_rasa(twilio_rasa) == ["/greet"]

    handoff = call.answer(digits="0")

    assert said_to_rasa(twilio_rasa) == ["/greet", "/request_human"]
    assert action_query(handoff)["turn"] == "1"
    assert action_query(handoff)["misses"] == "0"
    assert action_query(handoff)["heard"] != greeting["heard"]


def test_a_third_miss_ends_the_call_politely(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(twilio_app)
    call.ring()
    call.answer(speech="eh", confidence=0.1)
    call.answer()

    goodbye = call.answer(speech="no sé", confidence=0.3)

    assert [child.tag for child in goodbye] == ["Say", "Hangup"]
    assert said(goodbye) == notice("voice_goodbye", "es")
    assert said_to_rasa(twilio_rasa) == ["/greet"]


# -- slow and failed turns ---------------------------------------------------------


def test_a_slow_turn_puts_the_caller_on_hold_and_the_redirect_brings_the_answer(
    slow_turns: TestClient, twilio_rasa: ScriptedRasa
):
    call = Call(slow_turns)
    call.ring()
    twilio_rasa.delay = 1.0

    hold = call.answer(speech="tengo una avería en la nevera")

    assert [child.tag for child in hold] == ["Say", "Pause", "Redirect"]
    assert said(hold) == notice("voice_hold", "es")
    redirect = hold.find("Redirect")
    assert redirect is not None and redirect.get("method") == "POST"
    assert (redirect.text or "").startswith(
        f"{TWILIO_PUBLIC_BASE_URL}/channels/twilio/voice/wait?"
    )

    for _ in range(5):
        twiml = call.follow_redirect()
        if twiml.find("Redirect") is None:
            break

    assert said(gather(twiml)).startswith("echo: tengo una avería en la nevera.")
    assert action_query(twiml)["turn"] == "1"
    assert said_to_rasa(twilio_rasa) == ["/greet", "tengo una avería en la nevera"]
    assert twilio_rasa.overlaps == 0


def test_when_the_assistant_fails_the_caller_hears_an_apology_and_the_call_ends(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    twilio_rasa.down = True
    call = Call(twilio_app)

    twiml = call.ring()

    assert [child.tag for child in twiml] == ["Say", "Hangup"]
    assert said(twiml) == notice("gave_up", "es")
    [kept] = messages(clean_db, call.conversation_id)
    assert (kept.text, kept.status) == ("/greet", "failed")


# -- the call ends -----------------------------------------------------------------


def conversation(engine: Engine, conversation_id: str) -> Conversation:
    with Session(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found


def test_a_completed_call_closes_its_conversation(
    twilio_app: TestClient, clean_db: Engine
):
    call = Call(twilio_app)
    call.ring()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    answer = call.hang_up("completed")

    assert answer.status_code == 204
    assert answer.content == b""
    closed_at = conversation(clean_db, call.conversation_id).closed_at
    assert closed_at is not None
    if closed_at.tzinfo is None:
        closed_at = closed_at.replace(tzinfo=dt.UTC)
    assert closed_at >= before - dt.timedelta(seconds=1)
    # Twilio repeats the callback: nothing changes.
    assert call.hang_up("completed").status_code == 204


def test_a_call_still_in_progress_stays_open(twilio_app: TestClient, clean_db: Engine):
    call = Call(twilio_app)
    call.ring()

    assert call.hang_up("in-progress").status_code == 204

    assert conversation(clean_db, call.conversation_id).closed_at is None


@pytest.mark.parametrize(
    "path", [CALL_PATH, f"{CALL_PATH}/gather?turn=0", f"{CALL_PATH}/status"]
)
def test_unsigned_voice_webhooks_are_refused(
    twilio_app: TestClient,
    twilio_rasa: ScriptedRasa,
    clean_db: Engine,
    path: str,
):
    params: dict[str, Any] = status_params("CA" + "0" * 32)

    answer = twilio_app.post(path, data=params)

    assert answer.status_code == 403
    assert twilio_rasa.turns == []
    with Session(clean_db) as session:
        assert session.scalars(select(Conversation)).all() == []


def test_a_status_callback_signed_for_another_url_changes_nothing(
    twilio_app: TestClient, clean_db: Engine
):
    call = Call(twilio_app)
    call.ring()
    params = status_params(call.sid, from_=call.caller, to=TWILIO_NUMBER)

    answer = post_signed(
        twilio_app,
        f"{CALL_PATH}/status",
        params,
        signed_url=f"{TWILIO_PUBLIC_BASE_URL}{CALL_PATH}",
    )

    assert answer.status_code == 403
    assert conversation(clean_db, call.conversation_id).closed_at is None


def test_waiting_for_another_call_s_message_reads_nothing_out(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    other = Call(twilio_app, caller="+34600999000")
    other.ring()
    [their_greeting] = [
        m for m in messages(clean_db, other.conversation_id) if m.direction == "in"
    ]
    call = Call(twilio_app)
    call.ring()

    twiml = call._post(
        f"{CALL_PATH}/wait?turn=0&message={their_greeting.id}&waits=1&lang=es",
        gather_params(call.sid, from_=call.caller, to=TWILIO_NUMBER),
    )

    assert [child.tag for child in twiml] == ["Say", "Hangup"]
    assert "echo" not in said(twiml)


def test_an_old_gather_posted_again_with_other_words_is_asked_again(
    twilio_app: TestClient, twilio_rasa: ScriptedRasa, clean_db: Engine
):
    call = Call(twilio_app)
    first_gather = call.ring()
    call.answer(speech="la lavadora no va")
    call.answer(speech="no centrifuga")

    # The first gather's action again, with different words: turn 1 is taken.
    call.twiml = first_gather
    twiml = call.answer(speech="otra cosa distinta")

    assert said(gather(twiml)) == notice("voice_didnt_hear", "es")
    assert int(action_query(twiml)["turn"]) >= 2
    assert said_to_rasa(twilio_rasa) == ["/greet", "la lavadora no va", "no centrifuga"]
    # The caller's next answer is a new turn, not refused again.
    call.answer(speech="la puerta no abre")
    assert said_to_rasa(twilio_rasa)[-1] == "la puerta no abre"


# -- a person ------------------------------------------------------------------------


@pytest.fixture
def person_script(twilio_rasa: ScriptedRasa, clean_db: Engine) -> ScriptedRasa:
    """Rasa opens a handoff case when the caller asks for a person (key 0)."""

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == "/request_human":
            open_handoff(clean_db, body["sender"], "voice")
            return [{"text": "De acuerdo, he abierto su caso."}]
        return [{"text": "¿En qué puedo ayudarle?"}]

    twilio_rasa.script = answer
    return twilio_rasa


def person_app(
    settings: Settings, tmp_path: Path, agents_number: str, hours: str
) -> TestClient:
    policy = tmp_path / "handoff.yml"
    policy.write_text(f"opening_hours: {hours}\n", encoding="utf-8")
    changed = settings.model_copy(
        update={"AGENTS_PHONE_NUMBER": agents_number, "HANDOFF_CONFIG": str(policy)}
    )
    return TestClient(create_app(changed))


def test_a_caller_who_asks_for_a_person_is_put_through_to_the_agents(
    twilio_settings: Settings, person_script: ScriptedRasa, tmp_path: Path
):
    with person_app(twilio_settings, tmp_path, "+34910000000", "always") as client:
        call = Call(client)
        call.ring()

        twiml = call.answer(digits="0")

    assert [child.tag for child in twiml] == ["Say", "Say", "Dial"]
    assert said(twiml) == (
        "De acuerdo, he abierto su caso. " + notice("voice_transfer", "es")
    )
    assert twiml.findtext("Dial") == "+34910000000"


def test_a_twilio_queue_takes_the_call_when_configured(
    twilio_settings: Settings, person_script: ScriptedRasa, tmp_path: Path
):
    with person_app(twilio_settings, tmp_path, "queue:agentes", "always") as client:
        call = Call(client)
        call.ring()

        twiml = call.answer(speech="quiero hablar con una persona")
        twiml = call.answer(digits="0") if twiml.find("Gather") is not None else twiml

    assert twiml.findtext("Enqueue") == "agentes"


def test_out_of_hours_the_caller_hears_when_they_will_be_called_and_the_call_ends(
    twilio_settings: Settings,
    person_script: ScriptedRasa,
    tmp_path: Path,
    clean_db: Engine,
):
    closed = '{sun: ["00:00", "00:01"]}'
    with person_app(twilio_settings, tmp_path, "+34910000000", closed) as client:
        call = Call(client)
        call.ring()

        twiml = call.answer(digits="0")

    assert [child.tag for child in twiml][-2:] == ["Say", "Hangup"]
    assert twiml.find("Dial") is None
    assert "fuera de horario" in said(twiml)
    # The case waits in the agents' queue with the call's transcript.
    with Session(clean_db) as session:
        handoff = session.scalar(
            select(Handoff).where(Handoff.conversation_id == call.conversation_id)
        )
    assert handoff is not None and handoff.status.value == "waiting"
