"""The order forms against the real CRM: a shop's order status, divergences,
discounts and delivery problems, turn by turn as Rasa drives a form.

Demo data: Turia (PV-VLC-01, code TURIA-4471) has orders 4512, 48213 (10
CleanLine 45 ordered, 8 delivered), 4520 (on its way), 4540 (a 15 % discount
where 10 % was agreed); 4530 is Castellana's.
"""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import order_questions, order_reports, orders
from actions.crm_client import CrmClient
from actions.identity import check_registration_code
from tests.actions.factories import (
    new_conversation_id,
    next_timestamp,
    slot_events,
    texts,
)

pytestmark = pytest.mark.anyio

DOMAIN_FOLDER = Path(__file__).resolve().parents[2] / "bot" / "domain"
FORMS = {
    "order_status_form": orders.ValidateOrderStatusForm,
    "order_divergence_form": orders.ValidateOrderDivergenceForm,
    "order_discount_form": order_reports.ValidateOrderDiscountForm,
    "delivery_problem_form": order_reports.ValidateDeliveryProblemForm,
}
ASK = {
    action().slot: action
    for action in (
        order_questions.ActionAskOrderNumber,
        order_questions.ActionAskOrderLine,
        order_questions.ActionAskDivergenceProblem,
        order_questions.ActionAskOrderQuantity,
        order_questions.ActionAskOrderCaseConfirmed,
        order_questions.ActionAskDeliveryProblem,
        order_questions.ActionAskDeliveryDescription,
    )
}


@functools.cache
def domain() -> dict[str, Any]:
    """The slots and forms of every domain file, as the action server gets them."""
    merged: dict[str, Any] = {"slots": {}, "forms": {}}
    for path in sorted(DOMAIN_FOLDER.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["slots"].update(content.get("slots") or {})
        merged["forms"].update(content.get("forms") or {})
    return merged


class OrderChat:
    """One shop conversation with an order form, driven the way Rasa does:
    each message runs the form's validation, then the question it asks next,
    and the finishing action when the form is done."""

    def __init__(self, form: str, language: str = "es", channel: str = "web") -> None:
        self.form = form
        self.channel = channel
        self.sender_id = new_conversation_id("orders")
        self.slots: dict[str, Any] = {
            name: definition.get("initial_value")
            for name, definition in domain()["slots"].items()
        }
        self.slots["language"] = language
        self.active = False
        self.started = next_timestamp()

    def tracker(self, text: str, intent: str | None) -> Tracker:
        events: list[dict[str, Any]] = []
        if self.active:
            events.append(
                {"event": "active_loop", "name": self.form, "timestamp": self.started}
            )
        events.append(
            {
                "event": "user",
                "timestamp": next_timestamp(),
                "text": text,
                "parse_data": {"text": text, "intent": {"name": intent}},
                "metadata": {"channel": self.channel},
            }
        )
        if self.slots.get("requested_slot") == "registration_code":
            # Rasa fills this one from the text itself (bot/domain/identity.yml).
            self.slots["registration_code"] = text
            events.append({"event": "slot", "name": "registration_code", "value": text})
        return Tracker(
            self.sender_id,
            dict(self.slots),
            {"text": text, "intent": {"name": intent}, "entities": []},
            events,
            False,
            None,
            {"name": self.form} if self.active else {},
            "action_listen",
        )

    async def say(self, text: str, intent: str | None = "inform") -> list[str]:
        """The person writes; returns what the assistant answers."""
        dispatcher = CollectingDispatcher()
        tracker = self.tracker(text, intent)
        self.active = True
        events = await FORMS[self.form]().run(dispatcher, tracker, domain())
        self.slots.update(slot_events(events))
        requested = self.slots.get("requested_slot")
        after = self.tracker(text, intent) if requested else tracker
        if requested is None:
            events = await order_questions.ActionFinishOrderRequest().run(
                dispatcher, after, domain()
            )
            self.slots.update(slot_events(events))
            self.active = False
        elif requested == "registration_code":
            dispatcher.utter_message(text="[registration code asked]")
        else:
            await ASK[requested]().run(dispatcher, after, domain())
        return texts(dispatcher)

    async def identify(self, code: str = "TURIA-4471") -> None:
        """The shop proves who it is, as the identification form would."""
        tracker = self.tracker(code, "inform")
        slots = await check_registration_code(code, CollectingDispatcher(), tracker)
        self.slots.update(slots)


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


# --- order status ----------------------------------------------------------------


async def test_a_shop_asks_for_its_order_and_opens_the_divergence_case(
    crm: CrmClient, read_ticket: Callable[[str], dict[str, Any]]
) -> None:
    chat = OrderChat("order_status_form")
    await chat.identify()

    status = joined(await chat.say("estado del pedido 48213", "check_order_status"))

    assert "Pedido 48213 de Electrodomésticos Turia" in status
    assert "entregado el 03/12/2026 por TransNorte" in status
    assert "pidió 10 de lavavajillas CleanLine 45 cm (DW-CL45)" in status
    assert "el albarán indica 8" in status
    assert status.endswith(
        "¿Quiere abrir una reclamación por las 2 unidades que faltan?"
    )

    done = joined(await chat.say("si", "affirm"))

    assert "Abierta la reclamación ORD-" in done
    assert (
        "por 2 unidades de lavavajillas CleanLine 45 cm (DW-CL45) del pedido 48213"
        in done
    )
    number = done.split("reclamación ")[1].split()[0]
    ticket = read_ticket(number)
    assert ticket["kind"] == "divergence"
    assert chat.slots["order_number"] is None, "the request is cleared"
    assert chat.slots["shop"]["code"] == "PV-VLC-01", "the shop stays known"


async def test_an_order_on_its_way_says_when_it_arrives_in_english(
    crm: CrmClient,
) -> None:
    chat = OrderChat("order_status_form", language="en")
    await chat.identify()

    asked = await chat.say("when does my order arrive", "check_order_status")
    status = joined(await chat.say("its 4520"))

    assert asked == [
        "What is the order number? It has 4 to 6 digits, for example 48213."
    ]
    assert "is on its way with LogiLevante (tracking LL-778210)" in status
    assert "Expected on 09/12/2026" in status
    assert chat.active is False


async def test_another_shops_order_is_not_found_like_a_missing_one(
    crm: CrmClient,
) -> None:
    chat = OrderChat("order_status_form")
    await chat.identify()

    other = await chat.say("estado del pedido 4530", "check_order_status")
    missing = await chat.say("el 99999")
    not_a_number = await chat.say("banana")

    assert other[0] == (
        "No encuentro el pedido 4530 entre los pedidos de su tienda. "
        "Revise el número, por favor."
    )
    assert missing[0] == other[0].replace("4530", "99999")
    assert other[1] == missing[1] == not_a_number[1]
    assert "No veo un número de pedido" in not_a_number[0]
    assert chat.slots["requested_slot"] == "order_number"


async def test_a_stranger_is_asked_for_the_shop_code_first_and_the_number_is_kept(
    crm: CrmClient,
) -> None:
    chat = OrderChat("order_status_form")

    first = await chat.say("estado del pedido 4512", "check_order_status")
    second = joined(await chat.say("TURIA-4471"))

    assert first == ["[registration code asked]"]
    assert "le atiendo como Electrodomésticos Turia" in second
    assert "Pedido 4512 de Electrodomésticos Turia, entregado el 27/11/2026" in second
    assert chat.active is False


async def test_declining_the_offer_opens_nothing(crm: CrmClient) -> None:
    chat = OrderChat("order_status_form", language="en")
    await chat.identify()
    await chat.say("status of order 48213", "check_order_status")

    done = await chat.say("no thanks", "deny")

    assert done == [
        "All right, I won't open anything. Write to me if you need it later."
    ]


# --- divergences -----------------------------------------------------------------


async def test_a_divergence_told_in_one_message_is_confirmed_and_opened(
    crm: CrmClient, read_ticket: Callable[[str], dict[str, Any]]
) -> None:
    chat = OrderChat("order_divergence_form")
    await chat.identify()

    confirm = await chat.say(
        "me faltan 2 lavadoras del pedido 4512", "report_divergence"
    )
    done = joined(await chat.say("si", "affirm"))

    assert confirm == [
        "Abro una reclamación por 2 unidades que faltan de lavadora EcoWash 8 kg "
        "(EW8-1400) del pedido 4512. ¿Es correcto?"
    ]
    number = done.split("reclamación ")[1].split()[0]
    ticket = read_ticket(number)
    assert ticket["kind"] == "divergence"
    assert ticket["events"][0]["detail"]["quantity"] == 2


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("0", "Necesito al menos una unidad"),
        ("-3", "Necesito al menos una unidad"),
        ("ninguna", "Necesito al menos una unidad"),
        ("12", "del lavavajillas CleanLine 45 cm (DW-CL45) se pidieron 10 unidades"),
        ("banana", '"banana" no es un número de unidades'),
    ],
)
async def test_impossible_quantities_are_refused_with_the_reason(
    crm: CrmClient, answer: str, reply: str
) -> None:
    chat = OrderChat("order_divergence_form")
    await chat.identify()
    await chat.say("el pedido 48213 ha llegado incompleto", "report_divergence")
    asked = await chat.say("faltan unidades")
    assert asked == [
        "Pidió 10 de lavavajillas CleanLine 45 cm (DW-CL45) y el albarán indica 8. "
        "¿Cuántas unidades faltan?"
    ]

    refused = await chat.say(answer)

    assert reply in refused[0]
    assert chat.slots["requested_slot"] == "order_quantity"
    assert "¿Cuántas unidades faltan?" in refused[-1]


async def test_a_wrong_model_on_an_order_of_several_lines_asks_which_product(
    crm: CrmClient,
) -> None:
    chat = OrderChat("order_divergence_form", language="en")
    await chat.identify()

    which = await chat.say("order 4512: you sent the wrong model", "report_divergence")
    unknown = await chat.say("the boilers")
    many = await chat.say("the fridge")
    confirm = await chat.say("2")
    done = await chat.say("yes", "affirm")

    assert which == [
        "Which product of order 4512? 1) FreshCool No Frost 185 fridge (FR-NF185); "
        "2) EcoWash 8 kg washing machine (EW8-1400)"
    ]
    assert unknown[0].startswith("I can't find that product in order 4512")
    assert many == [
        "How many units of FreshCool No Frost 185 fridge (FR-NF185) came as a "
        "wrong model?"
    ]
    assert confirm == [
        "I'll open a claim for 2 units of FreshCool No Frost 185 fridge (FR-NF185) "
        "from order 4512 that came as a wrong model. Is that right?"
    ]
    assert done[0].startswith("Claim ORD-")


async def test_no_divergence_before_the_goods_arrive(crm: CrmClient) -> None:
    chat = OrderChat("order_divergence_form")
    await chat.identify()

    said = joined(
        await chat.say("me faltan cosas del pedido 4520", "report_divergence")
    )

    assert "aún no se ha entregado" in said
    assert chat.active is False


# --- discounts -------------------------------------------------------------------


async def test_a_discount_above_the_agreement_is_flagged_and_one_case_opened(
    crm: CrmClient,
) -> None:
    chat = OrderChat("order_discount_form")
    await chat.identify()

    said = await chat.say(
        "el descuento del pedido 4540 no es el pactado", "check_discount"
    )
    again = OrderChat("order_discount_form")
    again.sender_id = chat.sender_id + "-b"
    await again.identify()
    repeated = await again.say("revise el descuento del pedido 4540", "check_discount")

    assert said[0] == (
        "El lavavajillas CleanLine 60 cm (DW-CL60) lleva un 15 % de descuento y lo "
        "pactado es un máximo del 10 %."
    )
    assert said[1].startswith("He abierto el caso ORD-")
    number = said[1].split("caso ")[1].split()[0]
    assert repeated[-1] == (
        f"Ya hay un caso abierto sobre el pedido 4540, el {number}; seguimos con él."
    )


async def test_discounts_within_the_agreement_open_nothing(crm: CrmClient) -> None:
    chat = OrderChat("order_discount_form", language="en")
    await chat.identify()

    said = await chat.say("check the discount on order 4512", "check_discount")

    assert said == [
        "I've checked order 4512 and every discount is within what was agreed with "
        "your shop."
    ]


# --- delivery problems -----------------------------------------------------------


async def test_damage_told_at_once_becomes_a_case_with_the_carrier(
    crm: CrmClient, read_ticket: Callable[[str], dict[str, Any]]
) -> None:
    chat = OrderChat("delivery_problem_form", channel="telegram")
    await chat.identify()

    said = await chat.say(
        "el pedido 4512 ha llegado con el frigo golpeado en la puerta",
        "report_delivery_problem",
    )

    assert said[0].startswith("Abierto el caso DMG-")
    assert "sobre el pedido 4512 con TransNorte" in said[0]
    assert said[1] == "Si tiene una foto del daño, envíela ahora y la añado al caso."
    ticket = read_ticket(said[0].split("caso ")[1].split()[0])
    assert ticket["kind"] == "delivery_damage"
    assert ticket["fault_description"].startswith("el pedido 4512 ha llegado")


async def test_damage_asked_step_by_step_with_a_photo_hint(crm: CrmClient) -> None:
    chat = OrderChat("delivery_problem_form", channel="sms")
    await chat.identify()

    first = await chat.say("ha llegado roto", "report_delivery_problem")
    which = await chat.say("4512")
    what = await chat.say("la lavadora")
    done = await chat.say("tiene la puerta abollada")

    assert first == [
        "Siento el problema. ¿Me indica el número de pedido? Si puede, envíe "
        "también una foto."
    ]
    assert which[0].startswith("¿Qué producto del pedido 4512 ha llegado mal?")
    assert what == [
        "Cuénteme brevemente qué ha pasado. Si puede, envíe también una foto del daño."
    ]
    assert done[0].startswith("Abierto el caso DMG-")


async def test_a_delay_needs_no_item_and_no_photo(crm: CrmClient) -> None:
    chat = OrderChat("delivery_problem_form", language="en", channel="telegram")
    await chat.identify()

    said = await chat.say(
        "order 4520 is a week late and still not here", "report_delivery_problem"
    )

    assert len(said) == 1
    assert said[0].startswith("Case DLY-")
    assert "on order 4520 with LogiLevante" in said[0]


async def test_a_mixed_message_takes_the_order_first_and_points_to_the_repair(
    crm: CrmClient,
) -> None:
    chat = OrderChat("delivery_problem_form")
    await chat.identify()

    said = await chat.say(
        "mi pedido 4512 llego roto y quiero saber de mi reparacion",
        "report_delivery_problem",
    )
    said += await chat.say("el frigorifico")

    assert said[0] == (
        "Veo dos consultas. Primero me ocupo del pedido 4512 y después le ayudo con "
        "su reparación."
    )
    assert any(reply.startswith("Abierto el caso DMG-") for reply in said)
    assert said[-1].startswith("Ahora, sobre su reparación")


async def test_the_crm_down_is_an_apology_and_the_question_again(
    crm_down: CrmClient,
) -> None:
    chat = OrderChat("order_status_form")
    chat.slots["shop"] = {"code": "PV-VLC-01", "name": "Electrodomésticos Turia"}

    said = await chat.say("estado del pedido 48213", "check_order_status")

    assert said[0].startswith("Ahora mismo no puedo")
    assert said[1].startswith("¿Me indica el número de pedido?")


async def test_damage_to_display_units_is_reported_on_the_request(
    crm: CrmClient, read_ticket: Callable[[str], dict[str, Any]]
) -> None:
    chat = OrderChat("delivery_problem_form", channel="telegram")
    await chat.identify()

    said = await chat.say(
        "el expositor de la solicitud dsp 2026 1 ha llegado con el cristal roto",
        "report_delivery_problem",
    )
    other = OrderChat("delivery_problem_form")
    await other.identify()
    refused = await other.say("ha llegado roto el expositor", "report_delivery_problem")
    refused = await other.say("DSP-2026-000002")

    assert said[0].startswith("Abierto el caso DMG-")
    assert "sobre la solicitud de expositores DSP-2026-000001" in said[0]
    ticket = read_ticket(said[0].split("caso ")[1].split()[0])
    assert ticket["kind"] == "delivery_damage"
    # The display module's own answer for a request not found.
    assert refused[0].startswith("No encuentro ninguna solicitud DSP-2026-000002")


async def test_a_customer_reports_a_damaged_delivery_without_any_shop_code(
    crm: CrmClient,
    read_ticket: Callable[[str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CRM knows the SMS sender as a customer (the route itself is tested
    # with a real customer conversation in tests/crm_bridge).
    async def a_customer(tracker: Tracker) -> dict[str, Any]:
        return {"kind": "customer", "point_of_sale": None, "customer": {}}

    monkeypatch.setattr(order_reports, "speaker", a_customer)
    chat = OrderChat("delivery_problem_form", channel="sms")

    asked = await chat.say(
        "ha llegado el frigo con un golpe en la puerta", "report_delivery_problem"
    )
    done = await chat.say("el albaran es 48213")

    assert asked == [
        "Siento el problema. ¿Me indica el número de pedido? Si puede, envíe "
        "también una foto."
    ]
    assert done[0].startswith("Abierto el caso DMG-")
    assert "sobre su entrega (referencia 48213)" in done[0]
    assert "TransNorte" not in " ".join(done)
    ticket = read_ticket(done[0].split("caso ")[1].split()[0])
    assert ticket["kind"] == "delivery_damage"
    assert (
        ticket["fault_description"] == "ha llegado el frigo con un golpe en la puerta"
    )
