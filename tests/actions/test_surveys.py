"""The survey actions against the running CRM: a closed case, its invitation,
the answers as people write them, declines, and the CRM going away."""

import itertools
import json
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.survey_answers import is_decline, read_score
from actions.surveys import (
    ActionAskSurveyAnswer,
    ActionAskSurveyConsent,
    ActionFinishSurvey,
    ActionStartSurvey,
    ValidateSurveyForm,
)
from tests.actions.conftest import TEST_SERVICE_TOKEN
from tests.actions.factories import new_conversation_id, slot_events, texts

pytestmark = pytest.mark.anyio

Outage = Callable[[], AbstractContextManager[None]]
SURVEY_DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain" / "surveys.yml"
_keys = itertools.count(1)


def _survey_slots() -> dict[str, Any]:
    slots = yaml.safe_load(SURVEY_DOMAIN.read_text("utf-8"))["slots"]
    return {name: spec.get("initial_value") for name, spec in slots.items()}


def _call(crm_url: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{crm_url}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {TEST_SERVICE_TOKEN}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def closed_case(crm_url: str, conversation_id: str, language: str = "es") -> dict:
    """A repair opened in ``conversation_id`` and closed: its invitation."""
    ticket = _call(
        crm_url,
        "POST",
        "/tickets",
        {
            "idempotency_key": f"survey-test-{next(_keys)}-{conversation_id}",
            "kind": "warranty",
            "channel": "web",
            "conversation_id": conversation_id,
            "language": language,
            "serial_number": "BX-2024-55812",
            "fault_description": "E04",
        },
    )
    closed = _call(
        crm_url,
        "POST",
        f"/tickets/{ticket['number']}/close",
        {"resolution": "Sustituida la bomba"},
    )
    return closed["survey_invitation"]


class Survey:
    """One survey in a conversation, driven the way survey_form runs it."""

    def __init__(self, invitation_id: int, conversation_id: str, language: str):
        self.invitation_id = invitation_id
        self.sender_id = conversation_id
        self.slots = {"language": language, "requested_slot": None, **_survey_slots()}
        self.latest: dict[str, Any] = {"text": "", "intent": {}, "entities": []}

    def tracker(self) -> Tracker:
        return Tracker(
            self.sender_id,
            dict(self.slots),
            self.latest,
            [],
            False,
            None,
            {"name": "survey_form"},
            "action_listen",
        )

    async def _run(self, action: Any) -> list[str]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), {})
        self.slots.update(slot_events(events))
        return texts(dispatcher)

    async def _required(self) -> str | None:
        slots = await ValidateSurveyForm().required_slots(
            [], CollectingDispatcher(), self.tracker(), {}
        )
        return next((slot for slot in slots if self.slots.get(slot) is None), None)

    async def _ask(self) -> list[str]:
        slot = await self._required()
        self.slots["requested_slot"] = slot
        if slot == "survey_consent":
            return await self._run(ActionAskSurveyConsent())
        if slot == "survey_answer":
            return await self._run(ActionAskSurveyAnswer())
        return await self._run(ActionFinishSurvey())

    async def start(self) -> list[str]:
        """The services app triggers the invitation; returns what is said."""
        self.latest = {
            "text": "EXTERNAL: EXTERNAL_survey_invitation",
            "intent": {"name": "EXTERNAL_survey_invitation"},
            "entities": [
                {"entity": "survey_invitation", "value": str(self.invitation_id)}
            ],
        }
        said = await self._run(ActionStartSurvey())
        return said + await self._ask()

    async def say(self, text: str) -> list[str]:
        """The person answers; returns what the assistant says back."""
        self.latest = {"text": text, "intent": {}, "entities": []}
        slot = self.slots["requested_slot"]
        self.slots[slot] = text
        dispatcher = CollectingDispatcher()
        validate = getattr(ValidateSurveyForm(), f"validate_{slot}")
        self.slots.update(await validate(text, dispatcher, self.tracker(), {}))
        return texts(dispatcher) + await self._ask()


@pytest.fixture
def read_invitation(crm_url: str) -> Callable[[str], dict[str, Any]]:
    def read(ticket_number: str) -> dict[str, Any]:
        return _call(crm_url, "GET", f"/tickets/{ticket_number}/survey-invitation")

    return read


async def test_a_spanish_survey_from_start_to_thanks(
    crm: CrmClient, crm_url: str, read_invitation: Callable[[str], dict]
) -> None:
    conversation = new_conversation_id("survey")
    invitation = closed_case(crm_url, conversation)
    survey = Survey(invitation["id"], conversation, "es")

    intro = await survey.start()
    assert len(intro) == 1
    assert invitation["ticket_number"] in intro[0]
    assert "3 preguntas" in intro[0] and "NO" in intro[0] and "hoy" in intro[0]

    assert await survey.say("vale") == [
        "¿Cómo valora la puntualidad del técnico? (1 = muy mal, 5 = excelente)"
    ]
    assert await survey.say("un cuatro") == [
        "¿Y la solución del problema? (del 1 al 5)"
    ]
    refused = await survey.say("7")
    assert refused[0].startswith("7 no está en la escala")
    assert "del 1 al 5" in refused[0]
    assert refused[1] == "¿Y la solución del problema? (del 1 al 5)"
    assert (await survey.say("5"))[0].startswith("¿Quiere añadir algún comentario?")
    assert await survey.say("muy amable todo") == [
        "¡Gracias por su tiempo! Sus respuestas nos ayudan a mejorar el servicio."
    ]

    stored = read_invitation(invitation["ticket_number"])
    assert stored["status"] == "completed"
    assert [(a["score"], a["text"]) for a in stored["answers"]] == [
        (4, None),
        (5, None),
        (None, "muy amable todo"),
    ]
    assert survey.slots["survey"] is None


async def test_an_english_survey_with_a_score_off_the_scale_and_no_comment(
    crm: CrmClient, crm_url: str, read_invitation: Callable[[str], dict]
) -> None:
    conversation = new_conversation_id("survey")
    invitation = closed_case(crm_url, conversation, language="en")
    survey = Survey(invitation["id"], conversation, "es")

    intro = await survey.start()
    assert "Could you help us with 3 questions?" in intro[0]
    assert survey.slots["language"] == "en"
    await survey.say("ok")
    assert (await survey.say("four"))[0].startswith("And how well")
    refused = await survey.say("0")
    assert refused[0].startswith("0 is not on the scale")
    assert (await survey.say("5/5"))[0].startswith("Anything else")
    assert await survey.say("nothing") == [
        "Thank you for your time! Your answers help us improve the service."
    ]

    stored = read_invitation(invitation["ticket_number"])
    assert stored["status"] == "completed"
    assert [a["score"] for a in stored["answers"]] == [4, 5]


async def test_banana_gets_the_range_and_the_question_again(
    crm: CrmClient, crm_url: str
) -> None:
    conversation = new_conversation_id("survey")
    survey = Survey(closed_case(crm_url, conversation)["id"], conversation, "es")
    await survey.start()
    question = await survey.say("si")

    again = await survey.say("banana")

    assert again == [
        "Necesito una puntuación del 1 al 5 (1 = muy mal, 5 = excelente). Si "
        "prefiere terminar, responda NO.",
        *question,
    ]
    assert survey.slots["survey_position"] == 0


async def test_no_thanks_after_one_answer_keeps_it_and_is_never_asked_again(
    crm: CrmClient, crm_url: str, read_invitation: Callable[[str], dict]
) -> None:
    conversation = new_conversation_id("survey")
    invitation = closed_case(crm_url, conversation)
    survey = Survey(invitation["id"], conversation, "es")
    await survey.start()
    await survey.say("si")
    await survey.say("3")

    said = await survey.say("no gracias")

    assert said == [
        "Entendido, lo dejamos aquí y guardamos lo que nos ha dicho. ¡Gracias!"
    ]
    stored = read_invitation(invitation["ticket_number"])
    assert stored["status"] == "declined"
    assert [a["score"] for a in stored["answers"]] == [3]
    # Started again (a retry of the services app): nothing is said or asked.
    again = Survey(invitation["id"], conversation, "es")
    assert await again.start() == []


async def test_no_at_the_introduction_declines_without_answers(
    crm: CrmClient, crm_url: str, read_invitation: Callable[[str], dict]
) -> None:
    conversation = new_conversation_id("survey")
    invitation = closed_case(crm_url, conversation)
    survey = Survey(invitation["id"], conversation, "es")
    await survey.start()

    said = await survey.say("NO")

    assert said == [
        "Entendido, no le preguntaremos más. Gracias y que tenga un buen día."
    ]
    stored = read_invitation(invitation["ticket_number"])
    assert (stored["status"], stored["answers"]) == ("declined", [])


async def test_a_score_at_the_introduction_is_a_yes_and_the_first_answer(
    crm: CrmClient, crm_url: str, read_invitation: Callable[[str], dict]
) -> None:
    conversation = new_conversation_id("survey")
    invitation = closed_case(crm_url, conversation)
    survey = Survey(invitation["id"], conversation, "es")
    await survey.start()

    said = await survey.say("muy bien")

    assert said == ["¿Y la solución del problema? (del 1 al 5)"]
    stored = read_invitation(invitation["ticket_number"])
    assert [a["score"] for a in stored["answers"]] == [5]


async def test_an_unclear_reply_to_the_introduction_asks_briefly_again(
    crm: CrmClient, crm_url: str
) -> None:
    conversation = new_conversation_id("survey")
    survey = Survey(closed_case(crm_url, conversation)["id"], conversation, "es")
    await survey.start()

    assert await survey.say("quien es usted") == [
        "¿Empezamos la encuesta? Responda SÍ para empezar, o NO si prefiere no "
        "participar."
    ]


async def test_another_conversations_invitation_is_not_started(
    crm: CrmClient, crm_url: str
) -> None:
    invitation = closed_case(crm_url, new_conversation_id("survey"))
    survey = Survey(invitation["id"], new_conversation_id("stranger"), "es")

    assert await survey.start() == []
    assert survey.slots["survey"] is None


async def test_an_answer_the_crm_cannot_store_is_asked_again(
    crm: CrmClient, crm_url: str, crm_outage: Outage
) -> None:
    conversation = new_conversation_id("survey")
    survey = Survey(closed_case(crm_url, conversation)["id"], conversation, "es")
    await survey.start()
    await survey.say("si")

    with crm_outage():
        said = await survey.say("4")

    assert said[0].startswith("Perdone, no he podido guardar su respuesta")
    assert said[1].startswith("¿Cómo valora la puntualidad")
    assert survey.slots["survey_position"] == 0


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("4", 4),
        ("cuatro", 4),
        ("four", 4),
        ("un cuatro", 4),
        ("4/5", 4),
        ("un 4 de 5", 4),
        ("5, muy amable", 5),
        ("muy bien", 5),
        ("Very good!", 5),
        ("excelente", 5),
        ("bien", 4),
        ("regular", 3),
        ("no muy bien", 2),
        ("fatal", 1),
        ("1", 1),
    ],
)
def test_scores_as_people_write_them(text: str, score: int) -> None:
    assert read_score(text).value == score
    assert not is_decline(text)


@pytest.mark.parametrize(
    ("text", "out_of_range"),
    [
        ("7", "7"),
        ("0", "0"),
        ("10/10", "10"),
        ("-5", "-5"),
        ("- 1", "-1"),
        ("banana", None),
        ("entre 3 y 4", None),
        ("cuatro y medio", None),
        ("no estuvo bien", None),
        ("nada mal", None),
        ("nothing good about it", None),
    ],
)
def test_what_is_not_a_score(text: str, out_of_range: str | None) -> None:
    assert read_score(text).value is None
    assert read_score(text).out_of_range == out_of_range


@pytest.mark.parametrize(
    "text", ["no", "NO", "no gracias", "No, gracias.", "no thanks", "dejalo"]
)
def test_what_ends_the_survey(text: str) -> None:
    assert is_decline(text)
