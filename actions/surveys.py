"""The satisfaction survey (iQS) after a closed case.

The services app starts it with the intent ``EXTERNAL_survey_invitation``
(entity ``survey_invitation``: the invitation's id). ``action_start_survey``
reads the invitation from the CRM; ``survey_form`` then asks whether the
person will answer, and the questions one by one. Each answer is stored in the
CRM as soon as it is given, so a survey left half way keeps what was said;
"no", "no gracias", "no thanks"… end it at any point, and the CRM marks it
declined so it is never asked again. How answers are read:
actions/survey_answers.py.
"""

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.crm_client import CrmError, CrmUnavailableError, conversation_path
from actions.general import FlowSwitchMixin
from actions.messages import say
from actions.survey_answers import (
    is_agreement,
    is_decline,
    is_nothing,
    read_score,
)
from actions.warranty_form import crm

logger = logging.getLogger(__name__)

ENTITY = "survey_invitation"
MAX_TEXT = 2000
COMPLETED = "completed"
DECLINED = "declined"
UNAVAILABLE = "unavailable"
SURVEY_SLOTS = {
    "survey": None,
    "survey_position": 0,
    "survey_outcome": None,
    "survey_intro_said": False,
    "survey_consent": None,
    "survey_answer": None,
}


def _path(tracker: Tracker, survey: dict[str, Any], action: str = "") -> str:
    conversation = conversation_path(tracker.sender_id)
    path = f"{conversation}/survey-invitations/{survey['id']}"
    return f"{path}/{action}" if action else path


def _language(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "es"


def _position(tracker: Tracker) -> int:
    return int(tracker.get_slot("survey_position") or 0)


def _invitation_id(tracker: Tracker) -> int | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == ENTITY:
            value = str(entity.get("value", ""))
            return int(value) if value.isdigit() else None
    return None


def _when(closed_at: str | None, language: str) -> str:
    """ "ayer" / "yesterday", "hoy" / "today", or "el 03/12/2026"."""
    if not closed_at:
        return "hoy" if language == "es" else "today"
    day = dt.date.fromisoformat(closed_at[:10])
    days = (dt.date.today() - day).days
    if days <= 0:
        return "hoy" if language == "es" else "today"
    if days == 1:
        return "ayer" if language == "es" else "yesterday"
    return (
        f"el {day.strftime('%d/%m/%Y')}"
        if language == "es"
        else f"on {day.strftime('%d/%m/%Y')}"
    )


def _questions_label(count: int, language: str) -> str:
    if language == "en":
        return "one question" if count == 1 else f"{count} questions"
    return "una pregunta" if count == 1 else f"{count} preguntas"


class ActionStartSurvey(Action):
    """Reads the invitation the CRM sent and prepares the survey's slots."""

    def name(self) -> str:
        return "action_start_survey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        cleared = [SlotSet(name, value) for name, value in SURVEY_SLOTS.items()]
        invitation_id = _invitation_id(tracker)
        if invitation_id is None:
            # Typed by a person, not sent by the services app.
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [*cleared, SlotSet("survey_outcome", UNAVAILABLE)]
        invitation = None
        try:
            invitation = await crm.request("GET", _path(tracker, {"id": invitation_id}))
        except (CrmError, CrmUnavailableError) as error:
            logger.warning(
                "survey invitation %s not started in %s: %s",
                invitation_id,
                tracker.sender_id,
                error,
            )
        if not invitation or invitation["status"] in (COMPLETED, DECLINED):
            # Nothing is said: the services app marks the invitation failed.
            return [*cleared, SlotSet("survey_outcome", UNAVAILABLE)]

        answered = {answer["question_id"] for answer in invitation["answers"]}
        questions = [
            {key: q[key] for key in ("id", "kind", "text_es", "text_en")}
            for q in invitation["questions"]
        ]
        first_open = next(
            (i for i, q in enumerate(questions) if q["id"] not in answered),
            len(questions),
        )
        survey = {
            "id": invitation["id"],
            "ticket": invitation["ticket_number"],
            "closed_at": invitation["closed_at"],
            "questions": questions,
            "answered": len(answered),
        }
        logger.info(
            "survey invitation %s started for %s in %s",
            invitation["id"],
            invitation["ticket_number"],
            tracker.sender_id,
        )
        return [
            *cleared,
            SlotSet("survey", survey),
            SlotSet("survey_position", first_open),
            # The case's language: the person's, when the case was opened.
            SlotSet("language", invitation["language"]),
        ]


class ActionAskSurveyConsent(Action):
    """Introduces the survey once; asks again briefly after an unclear answer."""

    def name(self) -> str:
        return "action_ask_survey_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        survey = tracker.get_slot("survey") or {}
        if tracker.get_slot("survey_intro_said"):
            say(dispatcher, tracker, "survey_consent_again")
            return []
        language = _language(tracker)
        say(
            dispatcher,
            tracker,
            "survey_intro",
            ticket=survey.get("ticket", ""),
            when=_when(survey.get("closed_at"), language),
            questions=_questions_label(len(survey.get("questions", [])), language),
        )
        return [SlotSet("survey_intro_said", True)]


class ActionAskSurveyAnswer(Action):
    """Asks the question the survey is at, in the conversation's language."""

    def name(self) -> str:
        return "action_ask_survey_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        questions = (tracker.get_slot("survey") or {}).get("questions", [])
        position = _position(tracker)
        if position < len(questions):
            question = questions[position]
            text = question["text_en" if _language(tracker) == "en" else "text_es"]
            dispatcher.utter_message(text=text)
        return []


class ValidateSurveyForm(FlowSwitchMixin, FormValidationAction):
    """Reads each answer, stores it in the CRM and moves to the next question."""

    def name(self) -> str:
        return "validate_survey_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if not tracker.get_slot("survey") or tracker.get_slot("survey_outcome"):
            return []
        if tracker.get_slot("survey_consent") is not True:
            return ["survey_consent"]
        return ["survey_answer"]

    async def validate_survey_consent(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = str(value or "")
        if is_decline(text):
            return await self._decline(dispatcher, tracker)
        if is_agreement(text):
            return {"survey_consent": True}
        questions = (tracker.get_slot("survey") or {}).get("questions", [])
        first = questions[_position(tracker)] if questions else None
        if first and first["kind"] == "scale" and read_score(text).value:
            # "4" straight away: yes, and the first answer.
            answered = await self._answer(dispatcher, tracker, text)
            return {**answered, "survey_consent": True}
        return {"survey_consent": None}

    async def validate_survey_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return await self._answer(dispatcher, tracker, str(value or ""))

    async def _answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str
    ) -> dict[str, Any]:
        survey = tracker.get_slot("survey") or {}
        questions = survey.get("questions", [])
        position = _position(tracker)
        if position >= len(questions):
            return {"survey_answer": None, "survey_outcome": COMPLETED}
        question = questions[position]
        text = text.strip()

        if question["kind"] == "text" and is_nothing(text):
            return await self._next(dispatcher, tracker, position, store=None)
        if is_decline(text):
            return await self._decline(dispatcher, tracker)
        if question["kind"] == "text":
            if len(text) > MAX_TEXT:
                say(dispatcher, tracker, "survey_text_too_long", limit=MAX_TEXT)
                return {"survey_answer": None}
            body = {"question_id": question["id"], "text": text}
            return await self._next(dispatcher, tracker, position, store=body)

        score = read_score(text)
        if score.value is None:
            if score.out_of_range is not None:
                say(
                    dispatcher,
                    tracker,
                    "survey_score_out_of_range",
                    value=score.out_of_range,
                )
            else:
                say(dispatcher, tracker, "survey_score_refused")
            return {"survey_answer": None}
        body = {"question_id": question["id"], "score": score.value}
        return await self._next(dispatcher, tracker, position, store=body)

    async def _next(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        position: int,
        store: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Stores the answer (None: an optional question skipped) and moves on."""
        survey = tracker.get_slot("survey") or {}
        last = position + 1 >= len(survey.get("questions", []))
        try:
            if store is not None:
                await crm.request("POST", _path(tracker, survey, "answers"), json=store)
            elif last:
                await crm.request("POST", _path(tracker, survey, "complete"))
        except CrmUnavailableError as error:
            logger.error("survey answer not stored in %s: %s", tracker.sender_id, error)
            say(dispatcher, tracker, "survey_save_failed")
            return {"survey_answer": None}
        except CrmError as error:
            logger.warning(
                "survey closed in the CRM for %s: %s", tracker.sender_id, error
            )
            return {"survey_answer": None, "survey_outcome": UNAVAILABLE}

        answered = survey.get("answered", 0) + (store is not None)
        slots: dict[str, Any] = {
            "survey_answer": None,
            "survey_position": position + 1,
            "survey": {**survey, "answered": answered},
        }
        if last:
            slots["survey_outcome"] = COMPLETED
        return slots

    async def _decline(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        survey = tracker.get_slot("survey") or {}
        try:
            await crm.request("POST", _path(tracker, survey, "decline"))
        except (CrmError, CrmUnavailableError) as error:
            # The person said no: the survey ends here whatever the CRM says.
            logger.error(
                "survey decline not stored in %s: %s", tracker.sender_id, error
            )
        return {
            "survey_consent": False,
            "survey_answer": None,
            "survey_outcome": DECLINED,
        }


class ActionFinishSurvey(Action):
    """Thanks the person (or takes note of the no) and clears the survey."""

    def name(self) -> str:
        return "action_finish_survey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        outcome = tracker.get_slot("survey_outcome")
        survey = tracker.get_slot("survey") or {}
        if outcome == COMPLETED:
            say(dispatcher, tracker, "survey_thanks")
        elif outcome == DECLINED:
            key = (
                "survey_declined_after_answers"
                if survey.get("answered")
                else "survey_declined"
            )
            say(dispatcher, tracker, key)
        elif outcome == UNAVAILABLE and survey:
            say(dispatcher, tracker, "survey_unavailable")
        return [SlotSet(name, value) for name, value in SURVEY_SLOTS.items()]
