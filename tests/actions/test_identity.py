"""Shop identification in the actions, against the real CRM."""

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.crm_client import CrmClient
from actions.identity import (
    KNOWN,
    ActionShopIdentified,
    ShopIdentityMixin,
    check_registration_code,
    registration_code_in,
    shop_slots,
    speaker,
)
from tests.actions.factories import make_tracker, texts

pytestmark = pytest.mark.anyio

TURIA = {"code": "PV-VLC-01", "name": "Electrodomésticos Turia", "city": "Valencia"}


async def test_a_new_web_conversation_is_nobody(crm: CrmClient) -> None:
    found = await speaker(make_tracker())

    assert found["kind"] == "unknown"


async def test_the_right_code_makes_the_conversation_the_shops(crm: CrmClient) -> None:
    tracker = make_tracker({"requested_slot": "registration_code"})
    dispatcher = CollectingDispatcher()

    slots = await check_registration_code("turia-4471", dispatcher, tracker)

    assert slots == {"registration_code": KNOWN, "shop": TURIA}
    assert texts(dispatcher) == ["Gracias, le atiendo como Electrodomésticos Turia."]
    assert (await speaker(tracker))["point_of_sale"] == TURIA


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("TURIA-4471", "TURIA-4471"),
        ("nuestro codigo es LLOB-8832", "LLOB-8832"),
        ("our code is llob 8832 thanks", "llob 8832"),
        ("pedido 48213, codigo CAST-2290", "CAST-2290"),
        ("pedido 48213", None),
        ("estado del pedido 4530", None),
        ("si", None),
        ("-3", None),
        ("X1", None),
    ],
)
def test_the_code_is_read_out_of_a_sentence(typed: str, code: str | None) -> None:
    assert registration_code_in(typed) == code


async def test_an_answer_that_is_no_code_is_asked_again_without_counting(
    crm: CrmClient,
) -> None:
    tracker = make_tracker({"requested_slot": "registration_code"})
    dispatcher = CollectingDispatcher()

    for typed in ("pedido 48213", "si", "4", "no, faltan 50", "2.5", "-3"):
        slots = await check_registration_code(typed, dispatcher, tracker)
        assert slots == {"registration_code": None}
    slots = await check_registration_code("TURIA-4471", dispatcher, tracker)

    assert slots["shop"] == TURIA
    assert "letras y cifras" in texts(dispatcher)[0]


async def test_a_code_in_a_sentence_identifies_the_shop(crm: CrmClient) -> None:
    slots = await check_registration_code(
        "nuestro codigo es turia-4471", CollectingDispatcher(), make_tracker()
    )

    assert slots["shop"] == TURIA


async def test_a_wrong_code_asks_again_then_stops_after_five(crm: CrmClient) -> None:
    tracker = make_tracker({"requested_slot": "registration_code"}, language="en")
    answers: list[dict[str, Any]] = []
    dispatcher = CollectingDispatcher()

    for attempt in range(6):
        answers.append(
            await check_registration_code(f"NOPE-{attempt}000", dispatcher, tracker)
        )

    assert answers[0] == {"registration_code": None}
    assert answers[4] == {"registration_code": None, "identity_locked": True}
    assert answers[5] == {"registration_code": None, "identity_locked": True}
    assert (
        texts(dispatcher)
        == [
            "That code isn't right. Please check it: you'll "
            "find it in the email you got when the shop joined the service."
        ]
        * 4
    )
    assert (await speaker(tracker))["kind"] == "unknown"
    # The form ends there, and its last action says why: never silence.
    locked = make_tracker({"identity_locked": True}, language="en")
    ending = CollectingDispatcher()
    await ActionShopIdentified().run(ending, locked, {})
    assert "can't try more codes" in texts(ending)[0]


async def test_a_code_in_the_first_message_is_taken(crm: CrmClient) -> None:
    tracker = make_tracker(text="hola, soy de turia, codigo TURIA-4471")

    extracted = await ShopIdentityMixin().extract_registration_code(
        CollectingDispatcher(), tracker, {}
    )

    assert extracted == {"registration_code": "TURIA-4471"}


async def test_a_known_shop_is_not_asked_for_its_code(crm: CrmClient) -> None:
    tracker = make_tracker({"requested_slot": "registration_code"})
    await check_registration_code("CAST-2290", CollectingDispatcher(), tracker)
    later = make_tracker(sender_id=tracker.sender_id)

    extracted = await ShopIdentityMixin().extract_registration_code(
        CollectingDispatcher(), later, {}
    )

    assert extracted["shop"]["code"] == "PV-MAD-01"
    validated = await ShopIdentityMixin().validate_registration_code(
        KNOWN, CollectingDispatcher(), make_tracker(extracted), {}
    )
    assert validated == extracted
    assert shop_slots(make_tracker({"shop": extracted["shop"]})) == []
    assert shop_slots(make_tracker()) == ["registration_code"]
    assert shop_slots(make_tracker({"identity_locked": True})) == []


async def test_the_crm_down_means_a_stranger_and_an_apology(
    crm_down: CrmClient,
) -> None:
    tracker = make_tracker()
    dispatcher = CollectingDispatcher()

    found = await speaker(tracker)
    slots = await check_registration_code("TURIA-4471", dispatcher, tracker)

    assert found["kind"] == "unknown"
    assert slots == {"registration_code": None}
    assert len(texts(dispatcher)) == 1


async def test_the_identified_shop_is_told_what_it_can_do(crm: CrmClient) -> None:
    dispatcher = CollectingDispatcher()

    await ActionShopIdentified().run(
        dispatcher, make_tracker({"shop": TURIA}, language="en"), {}
    )

    assert "check an order" in texts(dispatcher)[0]
