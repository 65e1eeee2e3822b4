"""Repair status and direct replacement in the actions, against the running CRM."""

import itertools
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.repairs import (
    ActionShowRepairStatus,
    ValidateRepairStatusForm,
    case_number,
    say_repair,
)
from actions.warranty_actions import ActionFinishWarrantyClaim
from tests.actions.factories import (
    conversation_from_phone,
    initial_slots,
    make_tracker,
    new_conversation_id,
    slot_events,
    texts,
)

pytestmark = pytest.mark.anyio

LUCIA = "+34612345222"
JAMES = "+34655123222"
_keys = itertools.count()


async def open_repair(crm: CrmClient, serial: str = "WM 4821 7730") -> dict[str, Any]:
    """A warranty case for the unit's owner, as a finished claim opens it."""
    return await crm.request(
        "POST",
        "/tickets",
        json={
            "idempotency_key": f"repairs-test-{next(_keys)}-{new_conversation_id()}",
            "kind": "warranty",
            "channel": "sms",
            "conversation_id": new_conversation_id("sms"),
            "language": "es",
            "serial_number": serial,
        },
    )


def asking(sender_id: str, text: str, slots: dict[str, Any] | None = None) -> Any:
    """A tracker whose person just asked ``text`` about a repair."""
    event = {
        "event": "user",
        "timestamp": 1.0,
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": "check_repair_status"},
            "entities": [],
        },
        "metadata": {"channel": "sms"},
    }
    values = {**initial_slots(), **(slots or {})}
    language = values.get("language") or "es"
    return make_tracker(values, language=language, sender_id=sender_id, events=[event])


async def show(tracker: Any) -> list[str]:
    dispatcher = CollectingDispatcher()
    await ActionShowRepairStatus().run(dispatcher, tracker, {})
    return texts(dispatcher)


@pytest.mark.parametrize(
    ("said", "number"),
    [
        ("estado del caso WAR-2026-000123", "WAR-2026-000123"),
        ("war 2026 872", "WAR-2026-000872"),
        ("caso 872", "872"),
        ("como va mi reparacion", None),
    ],
)
def test_case_numbers_as_people_write_them(said: str, number: str | None) -> None:
    assert case_number(said) == number


class TestKnownCustomer:
    async def test_my_own_repair_in_plain_words(self, crm: CrmClient) -> None:
        ticket = await open_repair(crm)
        sms = conversation_from_phone(LUCIA)

        said = await show(asking(sms, f"como va el caso {ticket['number']}"))

        assert said[0].startswith(f"Caso {ticket['number']} (EcoWash 8 kg): está con ")
        assert "Servicio Técnico Levante (tel. +34961234500)" in said[0]
        assert "48 horas" in said[0] and "comprobaremos la reparación" in said[0]

    async def test_my_repairs_lists_them(self, crm: CrmClient) -> None:
        ticket = await open_repair(crm)
        sms = conversation_from_phone(LUCIA)

        said = await show(asking(sms, "how is my repair going", {"language": "en"}))

        assert any(line.startswith(f"Case {ticket['number']}") for line in said)

    async def test_someone_elses_case_reads_like_a_missing_one(
        self, crm: CrmClient
    ) -> None:
        ticket = await open_repair(crm)
        james = conversation_from_phone(JAMES)

        theirs = await show(asking(james, f"estado del caso {ticket['number']}"))
        missing = await show(asking(james, "estado del caso WAR-2026-999999"))

        assert theirs == missing
        assert theirs[0].startswith("No encuentro ningún caso con esos datos")


class TestStranger:
    async def test_a_web_chat_is_asked_for_number_and_phone(
        self, crm: CrmClient
    ) -> None:
        form = ValidateRepairStatusForm()
        tracker = asking(new_conversation_id("web"), "como va mi reparacion")

        required = await form.required_slots([], CollectingDispatcher(), tracker, {})

        assert required == ["repair_number", "repair_phone"]

    async def test_the_right_phone_shows_the_case(self, crm: CrmClient) -> None:
        ticket = await open_repair(crm)
        web = new_conversation_id("web")
        form = ValidateRepairStatusForm()
        dispatcher = CollectingDispatcher()

        number = await form.validate_repair_number(
            ticket["number"].lower().replace("-", " "),
            dispatcher,
            asking(web, "x"),
            {},
        )
        slots = await form.validate_repair_phone(
            "612 345 222", dispatcher, asking(web, "x", number), {}
        )
        said = await show(asking(web, "x", {**number, **slots}))

        assert number == {"repair_number": ticket["number"]}
        assert said[0].startswith(f"Caso {ticket['number']}")

    @pytest.mark.parametrize("phone", ["655 123 222", "699 000 000"])
    async def test_a_wrong_phone_reads_like_a_missing_case(
        self, crm: CrmClient, phone: str
    ) -> None:
        ticket = await open_repair(crm)
        web = new_conversation_id("web")
        form = ValidateRepairStatusForm()
        for number in (ticket["number"], "WAR-2026-999999"):
            slots = await form.validate_repair_phone(
                phone,
                CollectingDispatcher(),
                asking(web, "x", {"repair_number": number}),
                {},
            )
            said = await show(asking(web, "x", {"repair_number": number, **slots}))
            assert said == [
                "No encuentro ningún caso con esos datos. Revise el número y el "
                "teléfono, o pida hablar con una persona."
            ]

    async def test_guessing_stops_with_a_reason_and_a_person(
        self, crm: CrmClient
    ) -> None:
        ticket = await open_repair(crm)
        web = new_conversation_id("web")
        form = ValidateRepairStatusForm()
        for _ in range(6):
            slots = await form.validate_repair_phone(
                "699 000 000",
                CollectingDispatcher(),
                asking(web, "x", {"repair_number": ticket["number"]}),
                {},
            )

        said = await show(asking(web, "x", {"repair_number": "x", **slots}))

        assert slots["repair_found"] == {"locked": True}
        assert said[0].startswith("Por seguridad no puedo comprobar más casos")

    async def test_a_number_that_is_not_one_is_asked_again(self) -> None:
        dispatcher = CollectingDispatcher()

        slots = await ValidateRepairStatusForm().validate_repair_number(
            "no lo se", dispatcher, asking("web-x", "x"), {}
        )

        assert slots == {"repair_number": None}
        assert "WAR-2026-000123" in texts(dispatcher)[0]


class TestPlainWords:
    def test_a_closed_case_tells_its_outcome(self) -> None:
        dispatcher = CollectingDispatcher()
        repair = {
            "number": "WAR-2025-000311",
            "kind": "warranty",
            "status": "closed",
            "product": "EcoWash 8 kg",
            "closed_at": "2025-05-02T10:00:00Z",
            "resolution": "bomba de desagüe cambiada",
        }

        say_repair(dispatcher, make_tracker(language="es"), repair)

        assert texts(dispatcher) == [
            "Caso WAR-2025-000311 (EcoWash 8 kg): cerrado el 02/05/2025. "
            "Resultado: bomba de desagüe cambiada."
        ]

    def test_a_replacement_says_why_and_what_comes_next(self) -> None:
        dispatcher = CollectingDispatcher()
        repair = {
            "number": "RPL-2026-000001",
            "kind": "replacement",
            "status": "open",
            "product": "EcoWash 8 kg",
            "replacement": {
                "note_en": "it has already been repaired twice under warranty",
                "note_es": "ya se ha reparado dos veces en garantía",
            },
        }

        say_repair(dispatcher, make_tracker(language="en"), repair)

        said = texts(dispatcher)[0]
        assert "as it has already been repaired twice under warranty, you" in said
        assert "warehouse will call you" in said


async def test_a_replaced_unit_is_announced_with_what_happens_next() -> None:
    dispatcher = CollectingDispatcher()
    ticket = {
        "number": "RPL-2026-000001",
        "status": "open",
        "kind": "replacement",
        "centre": None,
        "postal_code": "46001",
        "reason": "ya se ha reparado dos veces en garantía",
    }
    tracker = make_tracker({"ticket": ticket}, language="es")

    events = await ActionFinishWarrantyClaim().run(dispatcher, tracker, {})

    said = texts(dispatcher)
    assert said[0].startswith(
        "Hecho: caso RPL-2026-000001. Como ya se ha reparado dos veces en garantía, "
        "no lo reparamos: le damos un aparato nuevo."
    )
    assert "almacén le llamará en 48 horas" in said[0]
    assert slot_events(events)["ticket"] is None
