"""ValidateWarrantyClaimForm and the ask actions against the running CRM."""

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.claim import CONTACT_SLOTS
from actions.claim_questions import (
    ActionAskCheckAnswer,
    ActionAskClaimConfirmed,
    ActionAskClaimOption,
    ActionAskContactConfirmed,
    ActionAskCustomerName,
    ActionAskPostalCode,
    ActionAskProductCategory,
    ActionAskSerialNumber,
)
from actions.crm_client import CrmClient
from actions.warranty_actions import ActionFinishWarrantyClaim
from actions.warranty_form import ValidateWarrantyClaimForm
from tests.actions.factories import (
    Claim,
    form_activated,
    load_domain,
    make_tracker,
    next_slot,
    slot_events,
    user_event,
)

pytestmark = pytest.mark.anyio

TicketReader = Callable[[str], dict[str, Any]]
Outage = Callable[[], AbstractContextManager[None]]

CRM_UNAVAILABLE = {
    "es": "Ahora mismo no puedo guardar su caso en nuestro sistema. Inténtelo de "
    "nuevo en unos minutos; no se ha perdido nada de lo que me ha dicho.",
    "en": "I can't save your case in our system right now. Please try again in a "
    "few minutes; nothing you told me has been lost.",
}
LUCIA = {
    "customer_name": "Lucía Martín",
    "phone_number": "+34612345222",
    "postal_code": "46001",
}


# The demo units' owners: their own phone is how the CRM knows them.
OWNER_PHONES = {
    "WM48217730": "+34612345222",
    "BX202455812": "+34655123222",
    "WM201900417": "+34622987001",
    "DW4588812": "+34633456789",
    "FR77001234": "+34699334455",
}


def owner_phone(serial: str) -> str | None:
    return OWNER_PHONES.get(re.sub(r"[^0-9A-Z]", "", serial.upper()))


async def found(
    serial: str, language: str = "es", *, checks: bool = True, owner: bool = True
) -> Claim:
    """A claim whose serial was just found in the CRM.

    Args:
        serial: the serial the person typed.
        language: the conversation's language.
        checks: False to skip the guided checks, as if all were answered no.
        owner: True when the unit's owner writes from their own phone (SMS),
            so their details on file are read back; False for a web chat.
    """
    phone = owner_phone(serial) if owner else None
    claim = Claim(language, {"fault_description": "No centrifuga"}, phone=phone)
    await claim.answer("serial_number", serial)
    assert claim.slots["serial_number"] is not None, serial
    if not checks:
        claim.slots["check_phase"] = "done"
    return claim


def ticket_number(text: str) -> str:
    """The ticket number a message tells the person."""
    match = re.search(r"\b[A-Z]{3}-\d{4}-\d{6}\b", text)
    assert match is not None, text
    return match.group()


class TestSerialNumber:
    @pytest.mark.parametrize(
        "typed", ["WM 4821 7730", "wm-4821-7730", "  wm48217730 ", "WM.4821.7730"]
    )
    async def test_a_valid_unit_fills_the_claim_however_typed(
        self, crm: CrmClient, typed: str
    ) -> None:
        claim = Claim("es", phone=owner_phone(typed))

        said = await claim.answer("serial_number", typed)

        assert said == [
            "Gracias. Su lavadora EcoWash 8 kg se compró el 14/03/2026: está en "
            "garantía hasta el 14/03/2029."
        ]
        slots = claim.slots
        assert slots["serial_number"] == "WM 4821 7730"
        assert slots["serial_attempts"] == 1
        assert slots["product_category"] == "washing_machine"
        assert slots["warranty_status"] == "valid"
        assert slots["warranty_end_date"] == "2029-03-14"
        assert slots["unit"]["name"] == "EcoWash 8 kg"
        assert slots["unit"]["term_months"] == 36
        assert (slots["check_step"], slots["check_phase"]) == (0, "question")
        assert slots["contact_known"] is True
        assert {slot: slots[slot] for slot in CONTACT_SLOTS} == LUCIA
        assert next_slot(claim.slots) == "check_answer"

    async def test_the_warranty_is_told_in_english(self, crm: CrmClient) -> None:
        claim = Claim("en")

        said = await claim.answer("serial_number", "wm 4821 7730")

        assert said == [
            "Thanks. Your EcoWash 8 kg washing machine was bought on 14/03/2026: "
            "it is under warranty until 14/03/2029."
        ]

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            ("es", "No encuentro el número XX-0000-0000 en nuestro registro."),
            ("en", "I can't find XX-0000-0000 in our records."),
        ],
    )
    async def test_an_unknown_serial_spends_an_attempt(
        self, crm: CrmClient, language: str, expected: str
    ) -> None:
        claim = Claim(language, {"serial_attempts": 1})

        said = await claim.answer("serial_number", "xx-0000-0000")

        assert said == [expected]
        assert claim.slots["serial_number"] is None
        assert claim.slots["serial_attempts"] == 2
        assert next_slot(claim.slots) == "serial_number"

    async def test_a_serial_tagged_in_part_is_read_whole_from_the_message(
        self, crm: CrmClient
    ) -> None:
        tracker = make_tracker({"serial_attempts": 0}, text="es el XX99 1234")
        dispatcher = CollectingDispatcher()

        slots = await ValidateWarrantyClaimForm().validate_serial_number(
            "1234", dispatcher, tracker, {}
        )

        assert [m["text"] for m in dispatcher.messages] == [
            "No encuentro el número XX99 1234 en nuestro registro."
        ]
        assert slots["serial_attempts"] == 1

    async def test_three_unknown_serials_lead_to_the_ways_forward(
        self, crm: CrmClient
    ) -> None:
        claim = Claim("es")

        for typed in ("XX-1111-1111", "XX-2222-2222", "XX-3333-3333"):
            await claim.answer("serial_number", typed)

        assert claim.slots["serial_attempts"] == 3
        assert next_slot(claim.slots) == "claim_option"
        said = await claim.run(ActionAskClaimOption())
        assert said[0].startswith("Sigo sin encontrar ese número.")

    @pytest.mark.parametrize("typed", ["no lo encuentro", "hola", "12"])
    async def test_text_that_is_no_serial_is_asked_again_for_free(
        self, crm: CrmClient, typed: str
    ) -> None:
        claim = Claim("es", {"serial_attempts": 2})

        said = await claim.answer("serial_number", typed)

        assert said[0].startswith("Eso no parece un número de serie.")
        assert claim.slots["serial_attempts"] == 2
        assert next_slot(claim.slots) == "serial_number"

    async def test_an_expired_unit_offers_a_paid_repair(self, crm: CrmClient) -> None:
        claim = Claim("en")

        said = await claim.answer("serial_number", "WM-2019-00417")

        assert said == [
            "Thanks. Your EcoWash 7 kg washing machine was bought on 10/05/2020. "
            "The warranty ended on 10/05/2022, so the repair would no longer be free."
        ]
        assert claim.slots["warranty_status"] == "expired"
        assert claim.slots["check_phase"] == "done"
        assert next_slot(claim.slots) == "claim_option"
        offer = CollectingDispatcher()
        await ActionAskClaimOption().run(offer, claim.tracker(), {})
        assert [button["payload"] for button in offer.messages[0]["buttons"]] == [
            "/request_paid_repair",
            "/request_human",
        ]

    async def test_a_unit_without_purchase_date_goes_on_to_the_checks(
        self, crm: CrmClient
    ) -> None:
        claim = Claim("en", phone=owner_phone("FR-7700-1234"))

        said = await claim.answer("serial_number", "FR-7700-1234")

        assert said[0].startswith(
            "Thanks. It is your FreshCool No Frost 185 fridge, but I don't have "
            "its purchase date"
        )
        assert claim.slots["warranty_status"] == "unknown"
        assert claim.slots["customer_name"] == "Sarah Thompson"
        assert next_slot(claim.slots) == "check_answer"

    async def test_a_unit_without_customer_asks_for_the_contact(
        self, crm: CrmClient
    ) -> None:
        claim = await found("DW-60-10001", checks=False)

        assert claim.slots.get("contact_known") is None
        assert next_slot(claim.slots) == "customer_name"

    async def test_the_serial_question_gives_a_hint_after_a_miss(self) -> None:
        first = await Claim("es").run(ActionAskSerialNumber())
        again = await Claim("es", {"serial_attempts": 1}).run(ActionAskSerialNumber())

        assert "etiqueta del aparato" in first[0]
        assert "WM o BX" in again[0]


class TestGuidedChecks:
    async def test_a_whole_sequence_of_checks_that_did_not_help(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", "en")
        conversation = []

        for answer in (False, True, False):
            conversation += await claim.run(ActionAskCheckAnswer())
            conversation += await claim.answer("check_answer", answer)

        assert conversation == [
            "Before sending a technician, let's try one thing: Is the load "
            "unbalanced, for example one large item such as a duvet?",
            "Let's try something else: Is the drain filter blocked?",
            "Clean the drain filter at the bottom front of the machine. Put a tray "
            "underneath first to catch the water. Has that fixed it?",
            "Then a technician should take a look at it.",
        ]
        assert claim.slots["check_answer"] is False
        assert claim.slots["check_phase"] == "done"
        assert claim.slots.get("problem_solved") is None
        assert next_slot(claim.slots) == "contact_confirmed"

    async def test_a_check_that_solves_it_closes_a_resolved_case(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = await found("WM 4821 7730", "es")

        await claim.answer("check_answer", True)
        advice = await claim.run(ActionAskCheckAnswer())
        await claim.answer("check_answer", True)
        finish = await claim.run(ActionFinishWarrantyClaim())

        assert advice == [
            "Añada unas toallas para repartir el peso. Después vuelva a poner el "
            "centrifugado. ¿Se ha solucionado?"
        ]
        number = ticket_number(finish[0])
        assert finish == [
            f"¡Estupendo! Lo dejo registrado como resuelto (caso {number}). Si "
            "vuelve a pasar, escríbame con ese número."
        ]
        ticket = read_ticket(number)
        assert ticket["status"] == "resolved"
        assert ticket["resolved_first_contact"] is True
        assert ticket["conversation_id"] == claim.sender_id

    async def test_a_no_to_the_last_question_ends_the_checks(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730")
        claim.slots["check_step"] = 1

        said = await claim.answer("check_answer", False)

        assert said == ["Entonces conviene que lo revise un técnico."]
        assert claim.slots["check_phase"] == "done"


class TestWhoHearsTheDetailsOnFile:
    async def test_a_web_chat_giving_a_serial_is_asked_for_the_contact(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", checks=False, owner=False)

        assert claim.slots["contact_known"] is None
        assert claim.slots["customer_name"] is None
        assert claim.slots["phone_number"] is None
        assert next_slot(claim.slots) == "customer_name"

    async def test_another_customers_phone_is_asked_too(self, crm: CrmClient) -> None:
        claim = Claim("es", phone="+34655123222")

        await claim.answer("serial_number", "WM 4821 7730")

        assert claim.slots["contact_known"] is None
        assert claim.slots["phone_number"] is None

    async def test_shop_staff_are_asked_for_their_customers_details(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = Claim(
            "es", {"fault_description": "No centrifuga"}, phone="+34611000111"
        )

        await claim.answer("serial_number", "WM 4821 7730")
        claim.slots["check_phase"] = "done"

        assert claim.slots["claim_for_shop"] == "Electrodomésticos Turia"
        assert claim.slots["customer_name"] is None
        assert next_slot(claim.slots) == "customer_name"
        asked = await claim.run(ActionAskCustomerName())
        assert "cliente" in asked[0]
        await claim.answer("customer_name", "Marta Soler")
        await claim.answer("phone_number", "699 111 333")
        await claim.answer("postal_code", "46010")
        claim.slots["claim_confirmed"] = True
        await claim.answer("claim_confirmed", True)
        said = await claim.run(ActionFinishWarrantyClaim())

        number = ticket_number(said[0])
        assert "en nombre del cliente" in said[1]
        assert "Electrodomésticos Turia" in said[1]
        ticket = read_ticket(number)
        assert ticket["customer"]["name"] == "Marta Soler"
        assert any(event["kind"] == "opened_by_shop" for event in ticket["events"])


class TestContact:
    async def test_the_known_contact_is_read_back_masked(self, crm: CrmClient) -> None:
        claim = await found("WM 4821 7730", "es")

        said = await claim.run(ActionAskContactConfirmed())

        assert said == [
            "Tengo estos datos de contacto: Lucía M., teléfono +34 6•• ••• 222 y "
            "código postal 46001. ¿Son correctos?"
        ]

    async def test_a_declined_contact_is_asked_again_field_by_field(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", checks=False)

        await claim.answer("contact_confirmed", False)

        assert claim.slots["contact_known"] is False
        assert all(claim.slots[slot] is None for slot in CONTACT_SLOTS)
        assert next_slot(claim.slots) == "customer_name"

    @pytest.mark.parametrize(
        ("slot", "typed", "stored"),
        [
            ("customer_name", "me llamo pedro gómez", "Pedro Gómez"),
            ("phone_number", "699 00 11 22", "+34699001122"),
            ("postal_code", "CP 28013", "28013"),
        ],
    )
    async def test_contact_answers_are_stored_normalized(
        self, slot: str, typed: str, stored: str
    ) -> None:
        claim = Claim("es")

        said = await claim.answer(slot, typed)

        assert said == []
        assert claim.slots[slot] == stored

    @pytest.mark.parametrize(
        ("slot", "typed", "language", "expected"),
        [
            (
                "phone_number",
                "12345",
                "es",
                "Ese teléfono no parece válido. Escríbalo con sus 9 cifras, por "
                "ejemplo 612 345 678.",
            ),
            (
                "phone_number",
                "+44 7700 900123",
                "en",
                "That phone number doesn't look valid. Please type all 9 digits, "
                "for example 612 345 678.",
            ),
            (
                "postal_code",
                "99999",
                "en",
                "That postcode isn't valid. It has 5 digits and starts with 01 to 52, "
                "for example 46001. Could you give it again?",
            ),
            (
                "customer_name",
                "123",
                "es",
                "No he podido leer un nombre ahí. ¿Me lo escribe de nuevo, por favor?",
            ),
        ],
    )
    async def test_a_bad_answer_is_explained_and_asked_again(
        self, slot: str, typed: str, language: str, expected: str
    ) -> None:
        claim = Claim(language)

        said = await claim.answer(slot, typed)

        assert said == [expected]
        assert claim.slots[slot] is None

    async def test_the_postal_code_question_in_english(self) -> None:
        said = await Claim("en").run(ActionAskPostalCode())

        assert said == ["What is the postcode of the address where the appliance is?"]


class TestConfirmation:
    async def test_a_confirmed_claim_is_assigned_to_the_centre_of_its_area(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = await found("WM 4821 7730", "es", checks=False)
        await claim.answer("contact_confirmed", True)

        summary = await claim.run(ActionAskClaimConfirmed())
        said = await claim.answer("claim_confirmed", True)
        form_ends = next_slot(claim.slots) is None
        finish = await claim.run(ActionFinishWarrantyClaim())

        assert summary == [
            "Resumen: lavadora EcoWash 8 kg (WM 4821 7730). Avería: «No centrifuga». "
            "Contacto: Lucía M., +34 6•• ••• 222, CP 46001. ¿Abro el caso?"
        ]
        assert said == []
        number = ticket_number(finish[0])
        assert number.startswith("WAR-")
        assert finish == [
            f"Hecho: el caso {number} está con Servicio Técnico Levante, que "
            "cubre el código postal 46001. Le llamarán en 48 horas y comprobaremos "
            "la reparación en 3 a 5 días."
        ]
        ticket = read_ticket(number)
        assert ticket["status"] == "assigned"
        assert ticket["service_centre"]["code"] == "CAT-LEV"
        assert ticket["serial_number"] == "WM 4821 7730"
        assert ticket["customer"]["phone"] == "+34612345222"
        assert ticket["fault_description"] == "No centrifuga"
        assert form_ends

    async def test_confirming_twice_opens_one_ticket(self, crm: CrmClient) -> None:
        claim = await found("WM 4821 7730", "en", checks=False)
        await claim.answer("contact_confirmed", True)

        await claim.answer("claim_confirmed", True)
        first = claim.slots["ticket"]
        await claim.answer("claim_confirmed", True)
        again = claim.slots["ticket"]

        assert again == first
        assert first["centre"] == "Servicio Técnico Levante"
        assert first["postal_code"] == "46001"

    async def test_a_second_claim_in_the_conversation_opens_a_second_ticket(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", checks=False)
        await claim.answer("contact_confirmed", True)
        await claim.answer("claim_confirmed", True)
        first = claim.slots["ticket"]["number"]

        claim.restart_form()
        await claim.answer("claim_confirmed", True)

        assert claim.slots["ticket"]["number"] != first

    async def test_a_new_contact_in_madrid_goes_to_the_centre_of_madrid(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = await found("WM 4821 7730", "en", checks=False)
        await claim.answer("contact_confirmed", False)
        await claim.answer("customer_name", "my name is Peter Jones")
        await claim.answer("phone_number", "699 11 22 33")
        await claim.answer("postal_code", "28013")

        await claim.answer("claim_confirmed", True)
        finish = await claim.run(ActionFinishWarrantyClaim())

        number = ticket_number(finish[0])
        assert finish[0].startswith(
            f"Done: case {number} is with Servicio Técnico Centro, who cover "
            "postcode 28013."
        )
        ticket = read_ticket(number)
        assert ticket["service_centre"]["code"] == "CAT-CEN"
        assert ticket["customer"]["name"] == "Peter Jones"
        assert ticket["language"] == "en"

    async def test_an_area_no_centre_covers_leaves_the_ticket_pending(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", "es", checks=False)
        await claim.answer("contact_confirmed", False)
        await claim.answer("customer_name", "Itziar Arana")
        await claim.answer("phone_number", "688 12 34 56")
        await claim.answer("postal_code", "48001")

        await claim.answer("claim_confirmed", True)
        status = claim.slots["ticket"]["status"]
        finish = await claim.run(ActionFinishWarrantyClaim())

        assert status == "pending_assignment"
        assert re.fullmatch(
            r"He abierto el caso WAR-\d{4}-\d{6}\. Ningún centro técnico cubre "
            r"ahora su zona para este aparato, así que nuestro equipo lo asignará "
            r"y le llamará en 48 horas\.",
            finish[0],
        )

    async def test_a_paid_repair_is_sent_to_the_centre_with_a_quote(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = await found("WM-2019-00417", "en")
        await claim.answer("claim_option", "paid_repair")
        assert next_slot(claim.slots) == "contact_confirmed"
        await claim.answer("contact_confirmed", True)

        await claim.answer("claim_confirmed", True)
        number = claim.slots["ticket"]["number"]
        finish = await claim.run(ActionFinishWarrantyClaim())

        assert re.fullmatch(r"REP-\d{4}-\d{6}", number)
        assert finish == [
            f"Done: repair request {number} is with Servicio Técnico Levante. They "
            "will call you within 48 hours with a quote, before doing any work."
        ]
        ticket = read_ticket(number)
        assert (ticket["kind"], ticket["warranty_status"]) == (
            "paid_repair",
            "expired",
        )

    async def test_no_to_the_summary_asks_the_contact_again(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", checks=False)
        await claim.answer("contact_confirmed", True)

        said = await claim.answer("claim_confirmed", False)

        assert said == []
        assert claim.slots["claim_confirmed"] is None
        assert claim.slots.get("ticket") is None
        assert next_slot(claim.slots) == "customer_name"


class TestWithoutSerial:
    async def test_a_claim_without_serial_is_opened_for_its_category(
        self, crm: CrmClient, read_ticket: TicketReader
    ) -> None:
        claim = Claim("es", {"serial_attempts": 3, "fault_description": "No enfría"})
        await claim.answer("claim_option", "without_serial")
        question = CollectingDispatcher()
        await ActionAskProductCategory().run(question, claim.tracker(), {})

        await claim.answer("product_category", "Frigorífico")
        await claim.answer("customer_name", "Carmen Ruiz")
        await claim.answer("phone_number", "633 22 11 00")
        await claim.answer("postal_code", "28013")
        summary = await claim.run(ActionAskClaimConfirmed())
        await claim.answer("claim_confirmed", True)
        number = claim.slots["ticket"]["number"]

        buttons = question.messages[0]["buttons"]
        assert question.messages[0]["text"] == "¿Qué tipo de aparato es?"
        assert {"title": "Frigorífico", "payload": "Frigorífico"} in buttons
        assert summary[0].startswith(
            "Resumen: frigorífico (sin número de serie). Avería: «No enfría»."
        )
        ticket = read_ticket(number)
        assert ticket["product_category"] == "fridge"
        assert ticket["serial_number"] is None
        # The longest postal prefix wins: 280 (fridges in Madrid) beats 28.
        assert ticket["service_centre"]["code"] == "CAT-FRIO-MAD"
        assert claim.slots["ticket"]["centre"] == "Frío Madrid Servicio Técnico"
        assert claim.slots["ticket"]["postal_code"] == "28013"

    @pytest.mark.parametrize(
        ("language", "typed", "code"),
        [
            ("es", "lavadora", "washing_machine"),
            ("es", "CALDERA", "boiler"),
            ("en", "Washing machine", "washing_machine"),
            ("en", "fridge", "fridge"),
            ("en", "oven", "oven"),
        ],
    )
    async def test_a_category_is_recognised_by_its_name(
        self, crm: CrmClient, language: str, typed: str, code: str
    ) -> None:
        claim = Claim(language)

        said = await claim.answer("product_category", typed)

        assert said == []
        assert claim.slots["product_category"] == code

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            (
                "es",
                "No reconozco «tostadora» como tipo de aparato. Elija uno de la "
                "lista, por favor.",
            ),
            (
                "en",
                'I don\'t recognise "tostadora" as a kind of appliance. Please '
                "pick one from the list.",
            ),
        ],
    )
    async def test_an_unknown_category_is_asked_again(
        self, crm: CrmClient, language: str, expected: str
    ) -> None:
        claim = Claim(language)

        said = await claim.answer("product_category", "tostadora")

        assert said == [expected]
        assert claim.slots["product_category"] is None

    async def test_a_category_typed_without_accents_is_recognised(
        self, crm: CrmClient
    ) -> None:
        claim = Claim("es")

        await claim.answer("product_category", "frigorifico")

        assert claim.slots["product_category"] == "fridge"


class TestCrmDown:
    @pytest.mark.parametrize("language", ["es", "en"])
    async def test_a_serial_cannot_be_checked_and_nothing_is_lost(
        self, crm_down: CrmClient, language: str
    ) -> None:
        claim = Claim(language, {"serial_attempts": 2, "fault_description": "x"})

        said = await claim.answer("serial_number", "WM 4821 7730")

        assert said == [CRM_UNAVAILABLE[language]]
        assert claim.slots["serial_number"] is None
        assert claim.slots["serial_attempts"] == 2  # not spent
        assert claim.slots["fault_description"] == "x"

    @pytest.mark.parametrize("language", ["es", "en"])
    async def test_a_confirmed_claim_is_kept_to_be_confirmed_again(
        self, crm: CrmClient, crm_outage: Outage, language: str
    ) -> None:
        claim = await found("WM 4821 7730", language, checks=False)
        await claim.answer("contact_confirmed", True)
        before = dict(claim.slots)

        with crm_outage():
            said = await claim.answer("claim_confirmed", True)

        assert said == [CRM_UNAVAILABLE[language]]
        assert claim.slots == {**before, "claim_confirmed": None}
        assert next_slot(claim.slots) == "claim_confirmed"

        # Back up: the same confirmation now opens the ticket.
        await claim.answer("claim_confirmed", True)
        assert claim.slots["ticket"]["centre"] == "Servicio Técnico Levante"

    async def test_a_check_that_solved_it_is_kept_when_the_case_cannot_be_saved(
        self, crm_down: CrmClient
    ) -> None:
        claim = Claim(
            "en",
            {
                "serial_number": "WM 4821 7730",
                "product_category": "washing_machine",
                "warranty_status": "valid",
                "check_phase": "advice",
            },
        )

        said = await claim.answer("check_answer", True)

        assert said == [CRM_UNAVAILABLE["en"]]
        assert claim.slots["check_answer"] is None
        assert claim.slots["check_phase"] == "advice"
        assert claim.slots.get("problem_solved") is None

    async def test_a_category_cannot_be_checked(self, crm_down: CrmClient) -> None:
        claim = Claim("es")

        said = await claim.answer("product_category", "lavadora")

        assert said == [CRM_UNAVAILABLE["es"]]
        assert claim.slots["product_category"] is None

    async def test_the_category_question_is_asked_without_buttons(
        self, crm_down: CrmClient
    ) -> None:
        dispatcher = CollectingDispatcher()

        await ActionAskProductCategory().run(dispatcher, make_tracker(), {})

        assert dispatcher.messages[0]["text"] == "¿Qué tipo de aparato es?"
        assert dispatcher.messages[0]["buttons"] == []

    async def test_the_person_is_told_something_when_checks_cannot_be_read(
        self, crm_down: CrmClient
    ) -> None:
        claim = Claim(
            "es",
            {
                "serial_number": "WM 4821 7730",
                "product_category": "washing_machine",
                "check_phase": "question",
            },
        )

        said = await claim.run(ActionAskCheckAnswer())

        assert said != []


async def test_a_crm_refusing_the_token_is_not_an_unknown_serial(
    crm_wrong_token: CrmClient,
) -> None:
    claim = Claim("es", {"serial_attempts": 0})

    said = await claim.answer("serial_number", "WM 4821 7730")

    assert said == [CRM_UNAVAILABLE["es"]]
    assert claim.slots["serial_attempts"] == 0


class TestFormRun:
    """The form's own run(): validation, then the next slot to ask."""

    async def run_form(self, slots: dict[str, Any], **candidates: Any) -> dict:
        events = [
            user_event("…"),
            *(
                {"event": "slot", "name": name, "value": value}
                for name, value in candidates.items()
            ),
        ]
        tracker = make_tracker({**slots, **candidates}, events=events)
        returned = await ValidateWarrantyClaimForm().run(
            CollectingDispatcher(), tracker, load_domain()
        )
        return slot_events(returned)

    async def test_a_found_serial_asks_the_first_check(self, crm: CrmClient) -> None:
        slots = await self.run_form({}, serial_number="wm 4821 7730")

        assert slots["serial_number"] == "WM 4821 7730"
        assert slots["requested_slot"] == "check_answer"

    async def test_a_third_unknown_serial_asks_for_a_way_forward(
        self, crm: CrmClient
    ) -> None:
        slots = await self.run_form(
            {"serial_attempts": 2}, serial_number="XX-9999-9999"
        )

        assert slots["serial_attempts"] == 3
        assert slots["requested_slot"] == "claim_option"

    async def test_a_solved_problem_ends_the_form(self, crm: CrmClient) -> None:
        claim = await found("WM 4821 7730")
        claim.slots["check_phase"] = "advice"

        slots = await self.run_form(claim.slots, check_answer=True)

        assert slots["problem_solved"] is True
        assert slots["requested_slot"] is None


class TestAnswersExtractedFromIntents:
    """Yes/no and choice answers come from the intent of the latest message,
    through the form's own run(), as Rasa calls it."""

    async def answer(self, slots: dict[str, Any], intent: str) -> tuple[dict, list]:
        event = user_event("…")
        event["parse_data"]["intent"] = {"name": intent, "confidence": 0.99}
        tracker = make_tracker(slots, events=[event])
        tracker.latest_message = event["parse_data"]
        dispatcher = CollectingDispatcher()
        returned = await ValidateWarrantyClaimForm().run(
            dispatcher, tracker, load_domain()
        )
        return slot_events(returned), [m["text"] for m in dispatcher.messages]

    async def test_yes_to_the_contact_on_file_moves_to_the_summary(
        self, crm: CrmClient
    ) -> None:
        claim = await found("WM 4821 7730", checks=False)
        claim.slots["requested_slot"] = "contact_confirmed"

        slots, said = await self.answer(claim.slots, "affirm")

        assert slots["contact_confirmed"] is True
        assert slots["requested_slot"] == "claim_confirmed"
        assert said == []

    @pytest.mark.parametrize("intent", ["inform", "greet", "out_of_scope"])
    async def test_neither_yes_nor_no_is_asked_again(
        self, crm: CrmClient, intent: str
    ) -> None:
        claim = await found("WM 4821 7730", "en", checks=False)
        claim.slots["requested_slot"] = "contact_confirmed"

        slots, said = await self.answer(claim.slots, intent)

        assert slots["contact_confirmed"] is None
        assert slots["requested_slot"] == "contact_confirmed"
        assert said == ["Sorry, I didn't get that. Could you answer yes or no, please?"]

    @pytest.mark.parametrize("intent", ["cancel", "request_human", "nlu_fallback"])
    async def test_an_interruption_is_left_to_the_rules(
        self, crm: CrmClient, intent: str
    ) -> None:
        claim = await found("WM 4821 7730", checks=False)
        claim.slots["requested_slot"] = "contact_confirmed"

        slots, said = await self.answer(claim.slots, intent)

        assert "contact_confirmed" not in slots
        assert said == []


class TestShortcutsAndReadBack:
    async def test_no_serial_at_hand_goes_straight_to_the_kind_of_appliance(
        self, crm: CrmClient
    ) -> None:
        slots, said = await TestAnswersExtractedFromIntents().answer(
            {"requested_slot": "serial_number", "language": "es"},
            "open_without_serial",
        )

        assert slots["claim_option"] == "without_serial"
        assert slots["requested_slot"] == "product_category"
        assert said == []

    async def test_a_phone_just_typed_is_read_back_whole(self, crm: CrmClient) -> None:
        claim = Claim("en", {"contact_confirmed": None})
        await claim.answer("phone_number", "611 22 33 44")

        summary = await claim.run(ActionAskClaimConfirmed())

        assert "+34611223344" in summary[0]

    async def test_a_phone_on_file_is_read_back_masked(self, crm: CrmClient) -> None:
        claim = await found("WM 4821 7730", "en", checks=False)
        await claim.answer("contact_confirmed", True)

        summary = await claim.run(ActionAskClaimConfirmed())

        assert "+34 6•• ••• 222" in summary[0] and "612345222" not in summary[0]


class TestSerialQuestionWording:
    async def ask(self, events: list[dict[str, Any]]) -> str:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker({"language": "en"}, events=events)
        await ActionAskSerialNumber().run(dispatcher, tracker, {})
        return dispatcher.messages[0]["text"]

    async def test_the_first_question_says_sorry_and_where_to_look(self) -> None:
        text = await self.ask([user_event("fridge broken"), form_activated()])

        assert text.startswith("Sorry about that.")

    async def test_after_an_answer_it_asks_again_without_apologising_twice(
        self,
    ) -> None:
        events = [user_event("fridge broken"), form_activated(), user_event("hmm")]

        text = await self.ask(events)

        assert text.startswith("What is the serial number? It usually starts")
