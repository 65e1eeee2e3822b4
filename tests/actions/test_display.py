"""Display units: the request form and the status, against the running CRM."""

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.display import (
    ActionAskDisplayConfirmed,
    ActionAskDisplayMore,
    ActionAskDisplayProduct,
    ActionFinishDisplayRequest,
    ActionShowDisplayRequests,
    ValidateDisplayRequestForm,
    match_products,
    parse_quantity,
    request_number,
)
from tests.actions.factories import (
    conversation_from_phone,
    initial_slots,
    make_tracker,
    new_conversation_id,
    slot_events,
    texts,
    user_event,
)

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


class Request:
    """One display request, driven answer by answer as the form does it."""

    def __init__(self, language: str = "es", phone: str | None = TURIA_STAFF) -> None:
        self.sender_id = (
            conversation_from_phone(phone, "telegram")
            if phone
            else new_conversation_id("web")
        )
        self.slots = {**initial_slots(), "language": language}
        self.form = ValidateDisplayRequestForm()

    def tracker(self, text: str = "", intent: str | None = None) -> Any:
        tracker = make_tracker(
            self.slots,
            language=self.slots["language"],
            sender_id=self.sender_id,
            events=[user_event(text, channel="telegram")],
        )
        tracker.latest_message = {
            "text": text,
            "intent": {"name": intent} if intent else {},
            "entities": [],
        }
        return tracker

    async def required(self) -> list[str]:
        return await self.form.required_slots(
            [], CollectingDispatcher(), self.tracker(), {}
        )

    async def next_slot(self) -> str | None:
        return next(
            (s for s in await self.required() if self.slots.get(s) is None), None
        )

    async def identify(self) -> None:
        """The shop is recognised by its staff phone, as the form does it."""
        slots = await self.form.extract_registration_code(
            CollectingDispatcher(), self.tracker(), {}
        )
        self.slots.update(slots)

    async def answer(
        self, slot: str, value: Any, intent: str | None = None
    ) -> list[str]:
        dispatcher = CollectingDispatcher()
        tracker = self.tracker(str(value), intent)
        if slot in ("display_more", "display_confirmed"):
            self.slots["requested_slot"] = slot
            tracker = self.tracker(str(value), intent)
            extract = getattr(self.form, f"extract_{slot}")
            value = (await extract(dispatcher, tracker, {})).get(slot)
        self.slots[slot] = value
        validate = getattr(self.form, f"validate_{slot}")
        self.slots.update(await validate(value, dispatcher, self.tracker(), {}))
        return texts(dispatcher)

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
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.identify()
        assert request.slots["shop"]["name"] == "Electrodomésticos Turia"
        assert await request.next_slot() == "display_product"

        shown = await request.run(ActionAskDisplayProduct())
        assert "CleanLine 45 cm (DW-CL45, máx. 2)" in shown[0]

        assert await request.answer("display_product", "el lavavajillas") == []
        assert await request.next_slot() == "display_quantity"
        assert await request.answer("display_quantity", "dos") == []
        assert request.slots["display_lines"] == [
            {"sku": "DW-CL45", "name": "CleanLine 45 cm", "quantity": 2}
        ]
        assert await request.next_slot() == "display_more"
        asked = await request.run(ActionAskDisplayMore())
        assert asked == ["Apuntado: 2 CleanLine 45 cm. ¿Quiere añadir otro expositor?"]

        await request.answer("display_more", None, intent="affirm")
        assert await request.next_slot() == "display_product"
        await request.answer("display_product", "1 frigo")
        assert await request.next_slot() == "display_more"
        await request.answer("display_more", None, intent="deny")
        assert await request.next_slot() == "display_confirmed"
        summary = await request.run(ActionAskDisplayConfirmed())
        assert "2 CleanLine 45 cm, 1 FreshCool No Frost 185" in summary[0]
        assert "Electrodomésticos Turia" in summary[0]

        await request.answer("display_confirmed", None, intent="affirm")
        done = await request.run(ActionFinishDisplayRequest())

        number = request.slots.get("display_request") or done
        assert done[0].startswith("Hecho: solicitud DSP-")
        assert "almacén" in done[0]
        assert number
        assert request.slots["display_lines"] is None

    async def test_an_impossible_quantity_is_asked_again_with_the_maximum(
        self, crm: CrmClient
    ) -> None:
        request = Request("en")
        await request.identify()
        await request.answer("display_product", "FR-NF185")

        said = await request.answer("display_quantity", "10 units")

        assert said == [
            "For the FreshCool No Frost 185 you can request 1 to 1 units. "
            "How many would you like?"
        ]
        assert request.slots["display_quantity"] is None
        assert await request.next_slot() == "display_quantity"

    async def test_an_unknown_or_ambiguous_product_offers_the_choices(
        self, crm: CrmClient
    ) -> None:
        request = Request("es")
        await request.identify()

        unknown = await request.answer("display_product", "una tele")
        ambiguous = await request.answer("display_product", "lavadora")

        assert unknown[0].startswith('"una tele" no está entre los expositores')
        assert ambiguous == ['Hay varios modelos de "lavadora". ¿Cuál de ellos quiere?']
        assert request.slots["display_product"] is None

    async def test_declining_sends_nothing(self, crm: CrmClient) -> None:
        request = Request("es")
        await request.identify()
        await request.answer("display_product", "2 DW-CL45")
        await request.answer("display_more", None, intent="deny")

        await request.answer("display_confirmed", None, intent="deny")
        said = await request.run(ActionFinishDisplayRequest())

        assert said == [
            "De acuerdo, no envío la solicitud. Si necesita expositores más "
            "adelante, escríbame."
        ]

    async def test_a_web_chat_must_give_the_registration_code_first(
        self, crm: CrmClient
    ) -> None:
        request = Request("es", phone=None)

        assert await request.required() == ["registration_code", "display_product"]


class TestStatus:
    async def run_status(
        self, phone: str, number: str | None, language: str = "es"
    ) -> list[str]:
        request = Request(language, phone=phone)
        await request.identify()
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
