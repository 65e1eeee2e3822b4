"""Display units: the request form and the status, against the running CRM."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.display import (
    REQUEST_FORM,
    ActionAskDisplayConfirmed,
    ActionAskDisplayMore,
    ActionAskDisplayProduct,
    ActionAskDisplayQuantity,
    ActionFinishDisplayRequest,
    ActionShowDisplayRequests,
    ValidateDisplayRequestForm,
    ValidateDisplayStatusForm,
    match_products,
    parse_quantity,
    quantity_besides,
    request_number,
)
from tests.actions.factories import (
    conversation_from_phone,
    form_activated,
    initial_slots,
    new_conversation_id,
    slot_events,
    texts,
    user_event,
)

# The domain's forms, as Rasa sends them to the action server.
DOMAIN = {
    "forms": yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "bot/domain/display.yml").read_text()
    )["forms"],
    "slots": {},
}

pytestmark = pytest.mark.anyio

TURIA_STAFF = "+34611000111"
CASTELLANA_STAFF = "+34611000222"
CATALOGUE = [
    {
        "sku": "EW8-1400",
        "name": "EcoWash 8 kg",
        "category": "Lavadora",
        "max_quantity": 2,
    },
    {
        "sku": "EW9-1600",
        "name": "EcoWash 9 kg Inverter",
        "category": "Lavadora",
        "max_quantity": 1,
    },
    {
        "sku": "DW-CL45",
        "name": "CleanLine 45 cm",
        "category": "Lavavajillas",
        "max_quantity": 2,
    },
    {
        "sku": "FR-NF185",
        "name": "FreshCool No Frost 185",
        "category": "Frigorífico",
        "max_quantity": 1,
    },
]


# Slots Rasa fills from the text of the answer to the question asked.
FROM_TEXT = {"display_product", "display_quantity", "registration_code"}
ASK_ACTIONS = {
    "display_product": ActionAskDisplayProduct,
    "display_quantity": ActionAskDisplayQuantity,
    "display_more": ActionAskDisplayMore,
    "display_confirmed": ActionAskDisplayConfirmed,
}


class Request:
    """One display request, turn by turn as Rasa runs the form: the answer's
    slot candidates, the validation action's run(), then the next question."""

    def __init__(self, language: str = "es", phone: str | None = TURIA_STAFF) -> None:
        self.sender_id = (
            conversation_from_phone(phone, "telegram")
            if phone
            else new_conversation_id("web")
        )
        self.slots = {**initial_slots(), "language": language}
        self.form = ValidateDisplayRequestForm()

    def tracker(
        self, text: str = "", intent: str | None = None, extra: list | None = None
    ) -> Tracker:
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "entities": [],
        }
        events = [
            form_activated(),
            {"event": "action", "name": "action_listen"},
            {**user_event(text, channel="telegram"), "parse_data": message},
            {"event": "action", "name": REQUEST_FORM},
            *(extra or []),
        ]
        events[0]["name"] = REQUEST_FORM
        return Tracker(
            self.sender_id,
            dict(self.slots),
            message,
            events,
            False,
            None,
            {"name": REQUEST_FORM},
            "action_listen",
        )

    async def say(self, text: str, intent: str = "inform") -> list[str]:
        """The person answers; returns the assistant's messages of the turn."""
        asked = self.slots.get("requested_slot")
        candidates = []
        if asked in FROM_TEXT and intent not in ("cancel", "request_human"):
            candidates = [{"event": "slot", "name": asked, "value": text}]
            self.slots[asked] = text
        dispatcher = CollectingDispatcher()
        events = await self.form.run(
            dispatcher, self.tracker(text, intent, candidates), DOMAIN
        )
        self.slots.update(slot_events(events))
        said = texts(dispatcher)
        if self.slots.get("requested_slot") in ASK_ACTIONS:
            said += await self.run(ASK_ACTIONS[self.slots["requested_slot"]]())
        return said

    async def start(self) -> list[str]:
        """The form's first run, right after "queremos pedir expositores"."""
        dispatcher = CollectingDispatcher()
        events = await self.form.run(dispatcher, self.tracker("hola"), DOMAIN)
        self.slots.update(slot_events(events))
        said = texts(dispatcher)
        if self.slots.get("requested_slot") in ASK_ACTIONS:
            said += await self.run(ASK_ACTIONS[self.slots["requested_slot"]]())
        return said

    async def run(self, action: Any) -> list[str]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), {})
        self.slots.update(slot_events(events))
        return texts(dispatcher)


class TestWords:
    @pytest.mark.parametrize(
        ("said", "skus"),
        [
            ("DW-CL45", ["DW-CL45"]),
            ("el dw cl45 por favor", ["DW-CL45"]),
            ("la cleanline 45", ["DW-CL45"]),
            ("lavavajillas", ["DW-CL45"]),
            ("un frigo", ["FR-NF185"]),
            ("lavadoras", ["EW8-1400", "EW9-1600"]),
            ("ecowash 9", ["EW9-1600"]),
            ("a television", []),
        ],
    )
    def test_products_are_found_by_sku_model_or_kind(
        self, said: str, skus: list[str]
    ) -> None:
        assert [item["sku"] for item in match_products(said, CATALOGUE)] == skus

    @pytest.mark.parametrize(
        ("said", "quantity"),
        [
            ("2", 2),
            ("dos", 2),
            ("two please", 2),
            ("10 unidades", 10),
            ("ninguna", None),
        ],
    )
    def test_quantities_in_digits_or_words(
        self, said: str, quantity: int | None
    ) -> None:
        assert parse_quantity(said) == quantity

    @pytest.mark.parametrize(
        ("said", "quantity"),
        [
            ("2 lavavajillas cleanline 45", 2),
            ("la cleanline 45", None),
            ("dos DW-CL45", 2),
            ("dw-cl45", None),
        ],
    )
    def test_a_quantity_beside_the_model_is_not_its_number(
        self, said: str, quantity: int | None
    ) -> None:
        assert quantity_besides(said, CATALOGUE[2]) == quantity

    @pytest.mark.parametrize(
        ("said", "number"),
        [
            ("como va la DSP-2026-000001", "DSP-2026-000001"),
            ("dsp 2026 1", "DSP-2026-000001"),
            ("mis solicitudes", None),
        ],
    )
    def test_request_numbers(self, said: str, number: str | None) -> None:
        assert request_number(said) == number


class TestRequestForm:
    async def test_a_shop_requests_two_products_and_gets_a_dsp_number(
        self, crm: CrmClient, read_ticket: Any
    ) -> None:
        request = Request("es")

        shown = await request.start()
        assert request.slots["shop"]["name"] == "Electrodomésticos Turia"
        assert "CleanLine 45 cm (DW-CL45, máx. 2)" in shown[0]

        assert await request.say("el lavavajillas") == [
            "¿Cuántas unidades de CleanLine 45 cm necesita? Puede pedir hasta 2."
        ]
        assert await request.say("dos") == [
            "Apuntado: 2 CleanLine 45 cm. ¿Quiere añadir otro expositor?"
        ]
        again = await request.say("si", intent="affirm")
        assert again[0].startswith("¿Qué otro expositor quiere? Quedan: ")
        assert "DW-CL45" not in again[0]
        more = await request.say("1 frigo")
        assert more == [
            "Apuntado: 2 CleanLine 45 cm, 1 FreshCool No Frost 185. "
            "¿Quiere añadir otro expositor?"
        ]
        summary = await request.say("no, eso es todo", intent="deny")
        assert summary == [
            "Resumen de la solicitud de expositores para Electrodomésticos Turia: "
            "2 CleanLine 45 cm, 1 FreshCool No Frost 185. ¿La envío al almacén?"
        ]

        await request.say("si, enviela", intent="affirm")
        assert request.slots["requested_slot"] is None
        done = await request.run(ActionFinishDisplayRequest())

        assert done[0].startswith("Hecho: solicitud DSP-")
        assert "almacén" in done[0]
        number = done[0].split()[2]
        ticket = read_ticket(number)
        assert ticket["kind"] == "display_request"
        assert ticket["service_centre"] is None
        assert request.slots["display_lines"] is None

    async def test_a_product_word_read_as_a_fault_still_answers(
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.start()

        said = await request.say("el lavavajillas", intent="report_fault")

        assert said == [
            "¿Cuántas unidades de CleanLine 45 cm necesita? Puede pedir hasta 2."
        ]

    async def test_an_impossible_quantity_is_refused_and_asked_again(
        self, crm: CrmClient
    ) -> None:
        request = Request("en")
        await request.start()
        await request.say("FR-NF185")

        said = await request.say("10 units")

        assert said == [
            "For the FreshCool No Frost 185 you can request 1 to 1 units.",
            "How many FreshCool No Frost 185 units do you need? You can request up "
            "to 1.",
        ]
        assert request.slots["requested_slot"] == "display_quantity"

    async def test_an_unknown_or_ambiguous_product_offers_the_choices(
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.start()

        unknown = await request.say("una tele")
        ambiguous = await request.say("lavadora")

        assert unknown[0] == '"una tele" no está entre los expositores disponibles.'
        assert (
            ambiguous[0] == 'Hay varios modelos de "lavadora"; dígame cuál, por favor.'
        )
        assert request.slots["requested_slot"] == "display_product"

    async def test_a_neither_yes_nor_no_is_asked_again(self, crm: CrmClient) -> None:
        request = Request("es")
        await request.start()
        await request.say("2 DW-CL45")

        said = await request.say("que tal", intent="greet")

        assert said[-1] == "Apuntado: 2 CleanLine 45 cm. ¿Quiere añadir otro expositor?"
        assert request.slots["display_more"] is None

    async def test_declining_sends_nothing(self, crm: CrmClient) -> None:
        request = Request("es")
        await request.start()
        await request.say("2 DW-CL45")
        await request.say("no", intent="deny")

        await request.say("no, mejor no", intent="deny")
        said = await request.run(ActionFinishDisplayRequest())

        assert said == [
            "De acuerdo, no envío la solicitud. Si necesita expositores más "
            "adelante, escríbame."
        ]

    async def test_a_second_request_does_not_ask_for_the_code_again(
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.start()
        await request.say("2 DW-CL45")
        await request.say("no", intent="deny")
        await request.say("si", intent="affirm")
        await request.run(ActionFinishDisplayRequest())

        again = await request.start()

        assert request.slots["shop"]["name"] == "Electrodomésticos Turia"
        assert request.slots["requested_slot"] == "display_product"
        assert again[0].startswith("Estos son los expositores")

    async def test_a_web_chat_must_give_the_registration_code_first(
        self, crm: CrmClient
    ) -> None:
        request = Request("es", phone=None)
        await request.start()
        assert request.slots["requested_slot"] == "registration_code"

        said = await request.say("LLOB-8832")

        assert said[0] == "Gracias, le atiendo como ElectroLlobregat."
        assert request.slots["requested_slot"] == "display_product"


class TestStatus:
    async def test_a_known_shop_is_not_asked_for_its_code_again(
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.start()
        request.slots["registration_code"] = None  # a request was finished
        tracker = request.tracker()

        required = await ValidateDisplayStatusForm().required_slots(
            [], CollectingDispatcher(), tracker, {}
        )

        assert required == []

    async def run_status(
        self, phone: str, number: str | None, language: str = "es"
    ) -> list[str]:
        request = Request(language, phone=phone)
        await request.start()
        request.slots["display_number"] = number
        return await request.run(ActionShowDisplayRequests())

    async def test_the_shipped_request_tells_the_installation(
        self, crm: CrmClient
    ) -> None:
        said = await self.run_status(TURIA_STAFF, "dsp 2026 1")

        assert said == [
            "Solicitud DSP-2026-000001 (2 EcoWash 8 kg, 1 CleanLine 45 cm): "
            "enviada. La instalación es el 10/12/2026 con Montajes Levante."
        ]

    async def test_my_requests_lists_the_shops_own(self, crm: CrmClient) -> None:
        said = await self.run_status(CASTELLANA_STAFF, None, "en")

        assert said == [
            "Request DSP-2026-000002 (1 FreshCool No Frost 185): approved; we "
            "will give you an installation date when it ships."
        ]

    async def test_another_shops_request_reads_like_a_missing_one(
        self, crm: CrmClient
    ) -> None:
        theirs = await self.run_status(CASTELLANA_STAFF, "DSP-2026-000001")
        missing = await self.run_status(CASTELLANA_STAFF, "DSP-2026-009999")

        assert theirs[0].replace("000001", "N") == missing[0].replace("009999", "N")
        assert theirs[0].startswith("No encuentro ninguna solicitud")
