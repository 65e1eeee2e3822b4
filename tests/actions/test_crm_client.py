"""CrmClient against the running CRM with the demo data: real HTTP, no mocks."""

import re
import uuid
from typing import Any

import pytest

from actions.crm_client import CrmClient, CrmError, CrmUnavailableError

pytestmark = pytest.mark.anyio


def ticket_request(**fields: Any) -> dict[str, Any]:
    return {
        "idempotency_key": f"crm-client-test:{uuid.uuid4().hex}",
        "kind": "warranty",
        "channel": "web",
        "conversation_id": f"crm-client-test-{uuid.uuid4().hex[:8]}",
        "language": "es",
        "serial_number": "WM 4821 7730",
        "product_category": None,
        "fault_description": "No centrifuga",
        "customer": None,
        "resolved_first_contact": False,
        **fields,
    }


@pytest.mark.parametrize(
    "serial", ["WM 4821 7730", "wm-4821-7730", "  WM48217730 ", "WM.4821.7730"]
)
async def test_a_unit_is_found_however_its_serial_is_typed(
    crm: CrmClient, serial: str
) -> None:
    unit = await crm.get_unit(serial)

    assert unit is not None
    assert unit["serial_number"] == "WM 4821 7730"
    assert unit["product"]["name"] == "EcoWash 8 kg"
    assert unit["product"]["category"]["code"] == "washing_machine"
    assert unit["customer"] == {
        "name": "Lucía Martín",
        "phone": "+34612345222",
        "postal_code": "46001",
    }


async def test_an_unknown_serial_is_none(crm: CrmClient) -> None:
    assert await crm.get_unit("XX-0000-0000") is None


async def test_a_unit_under_warranty(crm: CrmClient) -> None:
    decision = await crm.get_warranty("wm 4821 7730")

    assert decision["status"] == "valid"
    assert decision["purchase_date"] == "2026-03-14"
    assert decision["end_date"] == "2029-03-14"
    assert decision["term_months"] == 36


async def test_a_unit_whose_warranty_ended(crm: CrmClient) -> None:
    decision = await crm.get_warranty("WM-2019-00417")

    assert decision["status"] == "expired"
    assert decision["end_date"] == "2022-05-10"


async def test_a_unit_without_purchase_date(crm: CrmClient) -> None:
    decision = await crm.get_warranty("FR-7700-1234")

    assert (decision["status"], decision["reason"]) == ("unknown", "no_purchase_date")


async def test_the_warranty_of_an_unknown_serial_is_not_an_error(
    crm: CrmClient,
) -> None:
    decision = await crm.get_warranty("XX-0000-0000")

    assert (decision["status"], decision["reason"]) == ("unknown", "unit_not_found")


async def test_guided_checks_come_in_order_in_the_language_asked(
    crm: CrmClient,
) -> None:
    english = await crm.list_checks("boiler", "en")
    spanish = await crm.list_checks("boiler", "es")

    assert [check["position"] for check in english] == [1, 2]
    assert english[0]["question"] == "Is the pressure gauge below 1 bar?"
    assert spanish[0]["question"] == "¿El manómetro marca menos de 1 bar?"


async def test_the_checks_of_an_unknown_category_are_refused(crm: CrmClient) -> None:
    with pytest.raises(CrmError) as refused:
        await crm.list_checks("toaster", "es")

    assert refused.value.status == 404
    assert "/categories/toaster/checks" in str(refused.value)


async def test_categories_are_named_in_the_language_asked(crm: CrmClient) -> None:
    spanish = {item["code"]: item["name"] for item in await crm.list_categories("es")}
    english = {item["code"]: item["name"] for item in await crm.list_categories("en")}

    assert spanish["fridge"] == "Frigorífico"
    assert english["fridge"] == "Fridge"
    assert (
        set(spanish)
        == set(english)
        == {
            "washing_machine",
            "dishwasher",
            "fridge",
            "boiler",
            "oven",
        }
    )


async def test_a_ticket_is_opened_and_assigned(crm: CrmClient) -> None:
    ticket = await crm.open_ticket(ticket_request())

    assert re.fullmatch(r"WAR-\d{4}-\d{6}", ticket["number"])
    assert ticket["status"] == "assigned"
    assert ticket["service_centre"]["code"] == "CAT-LEV"


async def test_the_same_idempotency_key_gives_the_same_ticket(crm: CrmClient) -> None:
    request = ticket_request()

    first = await crm.open_ticket(request)
    again = await crm.open_ticket(request)
    other = await crm.open_ticket(ticket_request())

    assert again["number"] == first["number"]
    assert other["number"] != first["number"]


async def test_a_ticket_the_crm_cannot_open_is_refused_with_its_reason(
    crm: CrmClient,
) -> None:
    request = ticket_request(serial_number="XX-0000-0000")

    with pytest.raises(CrmError) as refused:
        await crm.open_ticket(request)

    assert refused.value.status == 422
    assert "XX-0000-0000" in str(refused.value.detail)


async def test_a_wrong_token_is_refused(crm_wrong_token: CrmClient) -> None:
    with pytest.raises(CrmError) as refused:
        await crm_wrong_token.list_categories("es")

    assert refused.value.status == 403


async def test_a_crm_that_does_not_answer_is_unavailable(crm_down: CrmClient) -> None:
    with pytest.raises(CrmUnavailableError, match="GET /categories"):
        await crm_down.list_categories("es")


async def test_a_serial_typed_with_slashes_is_found(crm: CrmClient) -> None:
    decision = await crm.get_warranty("WM/4821/7730")

    assert decision["status"] == "valid"
