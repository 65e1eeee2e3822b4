"""Passing the conversation to a person: asked for, or not understood twice."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.handoff import ActionDefaultFallback, ActionRequestHuman, module_of
from tests.actions.factories import (
    assert_claim_cleared,
    initial_slots,
    new_conversation_id,
    run_action,
    texts,
    user_event,
)

pytestmark = pytest.mark.anyio

TicketReader = Callable[[str], dict[str, Any]]


def said_event(text: str, intent: str) -> dict[str, Any]:
    event = user_event(text)
    event["parse_data"] = {"intent": {"name": intent, "confidence": 0.9}}
    return event


def tracker_in(
    loop: str | None, events: list[dict[str, Any]], language: str = "es"
) -> Tracker:
    """A tracker whose active loop is ``loop`` (None: no form running)."""
    return Tracker(
        new_conversation_id("fallback"),
        {**initial_slots(), "language": language},
        {"text": events[-1]["text"], "intent": {}, "entities": []},
        events,
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


class TestModuleOf:
    @pytest.mark.parametrize(
        ("events", "module"),
        [
            (
                [said_event("el pedido 4512 llego roto", "report_delivery_problem")],
                "orders",
            ),
            ([said_event("quiero expositores", "request_display_units")], "display"),
            ([said_event("mi lavadora no centrifuga", "report_fault")], "warranty"),
            ([said_event("hola", "greet")], "general"),
            ([], "general"),
            # The latest form wins over an earlier request.
            (
                [
                    said_event("mi lavadora no va", "report_fault"),
                    {"event": "active_loop", "name": "order_status_form"},
                    said_event("una persona", "request_human"),
                ],
                "orders",
            ),
        ],
    )
    def test_the_latest_request_or_form_names_the_module(
        self, events: list[dict[str, Any]], module: str
    ) -> None:
        tracker = tracker_in(None, events or [user_event("")])
        if not events:
            tracker.events.clear()

        assert module_of(tracker) == module


class TestRequestHuman:
    async def test_a_handoff_ticket_is_opened_with_what_the_bot_knew(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        conversation = new_conversation_id("handoff")

        said, slots = await run_action(
            ActionRequestHuman(),
            slots={
                "serial_number": "WM 4821 7730",
                "product_category": "washing_machine",
                "fault_description": "Hace un ruido muy fuerte",
            },
            sender_id=conversation,
            channel="telegram",
        )

        number = re.search(r"GEN-\d{4}-\d{6}", said[0])
        assert number is not None, said
        assert said == [
            f"De acuerdo. He abierto el caso {number.group()} con nuestra "
            "conversación para que le atienda una persona del equipo."
        ]
        assert_claim_cleared(slots)
        ticket = read_ticket(number.group())
        assert ticket["kind"] == "handoff"
        assert ticket["status"] == "open"
        assert ticket["conversation_id"] == conversation
        assert ticket["channel"] == "telegram"
        assert ticket["serial_number"] == "WM 4821 7730"
        assert ticket["fault_description"] == "Hace un ruido muy fuerte"

    async def test_a_person_who_asks_at_once_gets_a_ticket_in_english(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        said, _ = await run_action(ActionRequestHuman(), language="en")

        number = re.search(r"GEN-\d{4}-\d{6}", said[0])
        assert number is not None, said
        assert said[0].startswith(f"Of course. I have opened case {number.group()}")
        assert read_ticket(number.group())["language"] == "en"

    async def test_an_unknown_product_still_reaches_a_person(
        self, crm: CrmClient
    ) -> None:
        said, _ = await run_action(
            ActionRequestHuman(),
            slots={"product_category": "toaster"},
            language="en",
        )

        assert re.search(r"GEN-\d{4}-\d{6}", said[0])

    async def test_asking_again_keeps_the_one_waiting_case(
        self, crm: CrmClient
    ) -> None:
        conversation = new_conversation_id("handoff")
        events = [user_event("quiero hablar con una persona")]

        first, _ = await run_action(
            ActionRequestHuman(), sender_id=conversation, events=events
        )
        again, _ = await run_action(
            ActionRequestHuman(), sender_id=conversation, events=events
        )
        later, _ = await run_action(
            ActionRequestHuman(),
            sender_id=conversation,
            events=[*events, user_event("sigo esperando, una persona por favor")],
        )

        assert again == first
        # Still waiting: the same case, not a second one in the queue.
        assert later == first

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            ("es", "Ahora mismo no puedo guardar su caso en nuestro sistema."),
            ("en", "I can't save your case in our system right now."),
        ],
    )
    async def test_a_crm_down_keeps_the_claim(
        self, crm_down: CrmClient, language: str, expected: str
    ) -> None:
        said, slots = await run_action(
            ActionRequestHuman(),
            slots={"serial_number": "WM 4821 7730"},
            language=language,
        )

        assert len(said) == 1
        assert said[0].startswith(expected)
        assert slots == {}


class TestDefaultFallback:
    async def test_not_understood_twice_opens_a_handoff_case(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        tracker = tracker_in(
            "action_two_stage_fallback",
            [
                said_event("y eso q", "nlu_fallback"),
                said_event("pues eso", "nlu_fallback"),
            ],
        )
        dispatcher = CollectingDispatcher()

        events = await ActionDefaultFallback().run(dispatcher, tracker, {})

        [said] = texts(dispatcher)
        number = re.search(r"GEN-\d{4}-\d{6}", said)
        assert number is not None, said
        assert said.startswith("Sigo sin entenderle, así que le paso con una persona")
        assert events[0] == {"event": "rewind", "timestamp": None}
        assert read_ticket(number.group())["kind"] == "handoff"

    async def test_in_english_too(self, crm: CrmClient) -> None:
        tracker = tracker_in(
            "action_two_stage_fallback",
            [said_event("wut", "nlu_fallback"), said_event("hm so", "nlu_fallback")],
            language="en",
        )
        dispatcher = CollectingDispatcher()

        await ActionDefaultFallback().run(dispatcher, tracker, {})

        assert texts(dispatcher)[0].startswith(
            "I still can't understand, so I'm passing you to a person"
        )

    async def test_any_other_fallback_apologises_and_offers_a_person(
        self, crm: CrmClient
    ) -> None:
        tracker = tracker_in(None, [said_event("bla", "greet")])
        dispatcher = CollectingDispatcher()

        events = await ActionDefaultFallback().run(dispatcher, tracker, {})

        assert dispatcher.messages[0]["response"] == "utter_default"
        assert events == [{"event": "rewind", "timestamp": None}]

    async def test_a_crm_down_still_answers(self, crm_down: CrmClient) -> None:
        tracker = tracker_in(
            "action_two_stage_fallback",
            [
                said_event("y eso q", "nlu_fallback"),
                said_event("pues eso", "nlu_fallback"),
            ],
        )
        dispatcher = CollectingDispatcher()

        await ActionDefaultFallback().run(dispatcher, tracker, {})

        assert texts(dispatcher)[0].startswith(
            "Ahora mismo no puedo guardar su caso en nuestro sistema."
        )
