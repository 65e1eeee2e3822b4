"""Display units through /api/v1/conversations/{id}/display, as shops see them."""

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import DisplayRequest, Ticket, TicketKind, TicketStatus
from tests.crm_bridge.factories import make_conversation

TURIA_STAFF = "+34611000111"
CASTELLANA_STAFF = "+34611000222"


def _url(conversation_id: str, path: str) -> str:
    return f"/api/v1/conversations/{conversation_id}/display{path}"


@pytest.fixture
def turia(demo_data: Session) -> str:
    """A Telegram conversation of Electrodomésticos Turia's staff."""
    return make_conversation(demo_data, channel="telegram", phone=TURIA_STAFF).id


def _request(**values: Any) -> dict[str, Any]:
    return {
        "idempotency_key": "display-test-0001",
        "channel": "telegram",
        "language": "es",
        "lines": [{"sku": "DW-CL45", "quantity": 2}, {"sku": "ov-py65", "quantity": 1}],
        **values,
    }


def test_the_catalogue_lists_eligible_products_with_their_maximum(
    client: TestClient, turia: str
) -> None:
    response = client.get(_url(turia, "/catalogue"), params={"language": "en"})

    assert response.status_code == 200, response.text
    items = {item["sku"]: item for item in response.json()}
    assert items["DW-CL45"] == {
        "sku": "DW-CL45",
        "name": "CleanLine 45 cm",
        "category": "Dishwasher",
        "max_quantity": 2,
    }
    assert "HP-24" not in items


def test_a_request_opens_a_dsp_case_for_the_warehouse(
    client: TestClient, turia: str, demo_data: Session
) -> None:
    response = client.post(_url(turia, "/requests"), json=_request())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["number"] == f"DSP-{dt.date.today().year}-" + (
        "000003" if dt.date.today().year == 2026 else "000001"
    )
    assert body["status"] == "requested"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("DW-CL45", 2),
        ("OV-PY65", 1),
    ]
    ticket = demo_data.scalar(select(Ticket).where(Ticket.number == body["number"]))
    assert ticket.kind is TicketKind.DISPLAY_REQUEST
    assert ticket.status is TicketStatus.OPEN
    assert ticket.service_centre_id is None
    assert ticket.point_of_sale.code == "PV-VLC-01"
    assert ticket.conversation_id == turia
    assert ticket.display_request_id is not None
    assert ticket.events[0].detail["routed_to"] == "warehouse"


def test_the_same_key_returns_the_same_request(client: TestClient, turia: str) -> None:
    first = client.post(_url(turia, "/requests"), json=_request())
    again = client.post(_url(turia, "/requests"), json=_request())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    listed = client.get(_url(turia, "/requests")).json()
    assert [r["number"] for r in listed].count(first.json()["number"]) == 1


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"sku": "DW-CL45", "quantity": 3}], "between 1 and 2"),
        ([{"sku": "DW-CL45", "quantity": 0}], "between 1 and 2"),
        ([{"sku": "HP-24", "quantity": 1}], "not in the display catalogue"),
        ([{"sku": "NOPE", "quantity": 1}], "not in the display catalogue"),
        (
            [{"sku": "DW-CL45", "quantity": 1}, {"sku": "dw-cl45", "quantity": 1}],
            "listed twice",
        ),
    ],
)
def test_impossible_requests_are_refused_and_open_nothing(
    client: TestClient,
    turia: str,
    demo_data: Session,
    lines: list[dict[str, Any]],
    message: str,
) -> None:
    response = client.post(_url(turia, "/requests"), json=_request(lines=lines))

    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert len(demo_data.scalars(select(DisplayRequest)).all()) == 2


def test_a_request_without_lines_is_invalid(client: TestClient, turia: str) -> None:
    response = client.post(_url(turia, "/requests"), json=_request(lines=[]))

    assert response.status_code == 422


def test_the_shop_sees_its_requests_with_the_installation(
    client: TestClient, turia: str
) -> None:
    listed = client.get(_url(turia, "/requests")).json()
    assert [r["number"] for r in listed] == ["DSP-2026-000001"]

    one = client.get(_url(turia, "/requests/dsp 2026 1"))
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "shipped"
    assert one.json()["installation_date"] == "2026-12-10"
    assert one.json()["installer"] == "Montajes Levante"


@pytest.mark.parametrize("number", ["DSP-2026-000002", "DSP-2026-000999", "banana"])
def test_another_shops_request_is_as_absent_as_a_missing_one(
    client: TestClient, turia: str, number: str
) -> None:
    response = client.get(_url(turia, f"/requests/{number}"))

    assert response.status_code == 404
    assert response.json() == {"detail": "no such display request"}


def test_the_other_shop_sees_only_its_own(
    client: TestClient, demo_data: Session
) -> None:
    castellana = make_conversation(demo_data, channel="sms", phone=CASTELLANA_STAFF)

    listed = client.get(_url(castellana.id, "/requests")).json()

    assert [r["number"] for r in listed] == ["DSP-2026-000002"]
    assert client.get(_url(castellana.id, "/requests/DSP-2026-000001")).status_code == (
        404
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/catalogue"),
        ("get", "/requests"),
        ("get", "/requests/DSP-2026-000001"),
        ("post", "/requests"),
    ],
)
def test_a_customer_or_stranger_must_identify_as_a_shop(
    client: TestClient, demo_data: Session, method: str, path: str
) -> None:
    customer = make_conversation(demo_data, channel="sms", phone="+34612345222")
    for conversation_id in (customer.id, "web-nobody"):
        kwargs = {"json": _request()} if method == "post" else {}
        response = getattr(client, method)(_url(conversation_id, path), **kwargs)
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "identify as a shop first"}


def test_a_shop_identified_by_its_code_in_web_chat_may_request(
    client: TestClient, demo_data: Session
) -> None:
    verified = client.post(
        "/api/v1/conversations/web-shop-1/identity/shop",
        json={"registration_code": "llob 8832"},
    )
    assert verified.status_code == 200, verified.text

    response = client.post(
        _url("web-shop-1", "/requests"),
        json=_request(channel="web", lines=[{"sku": "FR-NF185", "quantity": 1}]),
    )

    assert response.status_code == 201, response.text
    ticket = demo_data.scalar(
        select(Ticket).where(Ticket.number == response.json()["number"])
    )
    assert ticket.point_of_sale.code == "PV-BCN-01"
