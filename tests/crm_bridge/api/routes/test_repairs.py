"""Repair status, direct replacement and claims by shop staff, through the API."""

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_bridge.models import Conversation, Ticket, TicketStatus, Unit
from tests.crm_bridge.factories import make_conversation, ticket_request

LUCIA = "+34612345222"
JAMES = "+34655123222"
TURIA_STAFF = "+34611000111"


def _url(conversation_id: str, path: str = "") -> str:
    return f"/api/v1/conversations/{conversation_id}{path}"


def _claim(client: TestClient, **values: Any) -> dict[str, Any]:
    values = {
        "serial_number": "WM 4821 7730",
        "product_category": None,
        "customer": None,
        **values,
    }
    body = ticket_request(**values)
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _close(db: Session, number: str, resolution: str = "Bomba cambiada") -> None:
    db.execute(
        update(Ticket)
        .where(Ticket.number == number)
        .values(
            status=TicketStatus.CLOSED,
            resolution=resolution,
            closed_at=dt.datetime(2026, 5, 2, 10, tzinfo=dt.timezone.utc),
        )
    )
    db.commit()


@pytest.fixture
def lucias_repair(client: TestClient, demo_data: Session) -> str:
    return _claim(client)["number"]


def test_a_customer_on_sms_sees_their_own_repair_in_plain_terms(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    sms = make_conversation(demo_data, channel="sms", phone=LUCIA)

    response = client.get(_url(sms.id, f"/repairs/{lucias_repair.lower()}"))

    assert response.status_code == 200, response.text
    repair = response.json()
    assert repair["number"] == lucias_repair
    assert repair["status"] == "assigned"
    assert repair["service_centre"]["name"] == "Servicio Técnico Levante"
    assert repair["product"] == "EcoWash 8 kg"
    assert (
        repair["verification_due"]
        == (dt.date.today() + dt.timedelta(days=5)).isoformat()
    )
    assert repair["replacement"] is None
    listed = client.get(_url(sms.id, "/repairs")).json()
    assert [r["number"] for r in listed] == [lucias_repair]


def test_a_known_customer_may_give_only_the_last_digits(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    sms = make_conversation(demo_data, channel="sms", phone=LUCIA)
    digits = str(int(lucias_repair.rsplit("-", 1)[1]))

    response = client.get(_url(sms.id, f"/repairs/{digits}"))

    assert response.status_code == 200
    assert response.json()["number"] == lucias_repair


def test_someone_elses_case_is_answered_like_a_missing_one(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    james = make_conversation(demo_data, channel="sms", phone=JAMES)

    theirs = client.get(_url(james.id, f"/repairs/{lucias_repair}"))
    missing = client.get(_url(james.id, "/repairs/WAR-2026-999999"))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "no such case"}
    assert client.get(_url(james.id, "/repairs")).json() == []


def test_a_stranger_needs_the_phone_on_the_case(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    web = "web-stranger-1"

    without = client.get(_url(web, f"/repairs/{lucias_repair}"))
    nothing = client.get(_url(web, "/repairs/WAR-2026-999999"))
    wrong = client.get(_url(web, f"/repairs/{lucias_repair}"), params={"phone": JAMES})
    bad = client.get(_url(web, f"/repairs/{lucias_repair}"), params={"phone": "12"})
    missing = client.get(_url(web, "/repairs/WAR-2026-999999"), params={"phone": LUCIA})

    assert without.status_code == nothing.status_code == 403
    assert without.json() == nothing.json()
    assert wrong.status_code == bad.status_code == missing.status_code == 404
    assert wrong.json() == bad.json() == missing.json() == {"detail": "no such case"}
    assert client.get(_url(web, "/repairs")).status_code == 403


def test_guessing_case_details_stops_after_five_misses(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    web = "web-guesser"
    guesses = [
        client.get(_url(web, f"/repairs/WAR-2026-00000{n}"), params={"phone": JAMES})
        for n in range(5)
    ]

    right = client.get(_url(web, f"/repairs/{lucias_repair}"), params={"phone": LUCIA})

    assert [guess.status_code for guess in guesses] == [404] * 5
    assert right.status_code == 429


def test_the_right_phone_shows_the_case_and_links_the_conversation(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    demo_data.add(Conversation(id="web-lucia", channel="web"))
    demo_data.commit()

    response = client.get(
        _url("web-lucia", f"/repairs/{lucias_repair}"), params={"phone": "612 345 222"}
    )

    assert response.status_code == 200, response.text
    listed = client.get(_url("web-lucia", "/repairs"))
    assert [r["number"] for r in listed.json()] == [lucias_repair]


def test_a_closed_repair_carries_its_resolution(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    _close(demo_data, lucias_repair)
    sms = make_conversation(demo_data, channel="sms", phone=LUCIA)

    repair = client.get(_url(sms.id, f"/repairs/{lucias_repair}")).json()

    assert repair["status"] == "closed"
    assert repair["resolution"] == "Bomba cambiada"
    assert repair["closed_at"].startswith("2026-05-02")


def test_a_unit_repaired_twice_is_replaced_not_sent_to_a_centre(
    client: TestClient, demo_data: Session
) -> None:
    for _ in range(2):
        _close(demo_data, _claim(client)["number"])

    ticket = _claim(client)

    assert ticket["kind"] == "replacement"
    assert ticket["number"].startswith(f"RPL-{dt.date.today().year}-")
    assert ticket["status"] == "open"
    assert ticket["service_centre"] is None
    event = next(e for e in ticket["events"] if e["kind"] == "replacement")
    assert event["detail"]["reason"] == "previous_repairs"
    assert event["detail"]["previous_repairs"] == 2
    assert "dos veces" in event["detail"]["note_es"]
    sms = make_conversation(demo_data, channel="sms", phone=LUCIA)
    repair = client.get(_url(sms.id, f"/repairs/{ticket['number']}")).json()
    assert repair["replacement"]["reason"] == "previous_repairs"
    assert "twice" in repair["replacement"]["note_en"]


def test_a_unit_that_fails_in_its_first_days_is_replaced(
    client: TestClient, demo_data: Session
) -> None:
    demo_data.execute(
        update(Unit)
        .where(Unit.serial_number == "WM 4821 7730")
        .values(purchase_date=dt.date.today() - dt.timedelta(days=3))
    )
    demo_data.commit()

    ticket = _claim(client)

    assert ticket["kind"] == "replacement"
    event = next(e for e in ticket["events"] if e["kind"] == "replacement")
    assert event["detail"]["reason"] == "recent_purchase"
    assert event["detail"]["days_since_purchase"] == 3


def test_no_replacement_for_a_first_repair_an_open_case_or_a_paid_one(
    client: TestClient, demo_data: Session
) -> None:
    first = _claim(client)
    second = _claim(client)
    paid = _claim(client, serial_number="WM-2019-00417", kind="paid_repair")

    assert [first["kind"], second["kind"]] == ["warranty", "warranty"]
    assert paid["kind"] == "paid_repair"
    assert second["service_centre"]["code"] == "CAT-LEV"


def test_a_claim_by_shop_staff_records_the_shop_and_the_given_customer(
    client: TestClient, demo_data: Session
) -> None:
    shop = make_conversation(demo_data, channel="telegram", phone=TURIA_STAFF)

    ticket = _claim(
        client,
        conversation_id=shop.id,
        channel="telegram",
        customer={
            "name": "Marta Soler",
            "phone": "699 111 222",
            "postal_code": "46010",
        },
    )

    row = demo_data.scalar(select(Ticket).where(Ticket.number == ticket["number"]))
    assert row.point_of_sale.code == "PV-VLC-01"
    assert ticket["customer"]["name"] == "Marta Soler"
    assert any(e["kind"] == "opened_by_shop" for e in ticket["events"])
    listed = client.get(_url(shop.id, "/repairs")).json()
    assert [r["number"] for r in listed] == [ticket["number"]]
    assert listed[0]["opened_by_shop"] is True
    # The customer sees it too, from their own phone.
    marta = make_conversation(demo_data, channel="sms", phone="+34699111222")
    assert client.get(_url(marta.id, f"/repairs/{ticket['number']}")).status_code == 200


def test_a_shop_does_not_see_cases_it_did_not_open(
    client: TestClient, demo_data: Session, lucias_repair: str
) -> None:
    shop = make_conversation(demo_data, channel="telegram", phone=TURIA_STAFF)

    response = client.get(_url(shop.id, f"/repairs/{lucias_repair}"))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("phone", "serial", "expected"),
    [
        (LUCIA, "wm 4821 7730", {"speaker": "customer", "is_owner": True}),
        (JAMES, "WM 4821 7730", {"speaker": "customer", "is_owner": False}),
        (LUCIA, "NOPE-1", {"speaker": "customer", "is_owner": False}),
        (TURIA_STAFF, "WM 4821 7730", {"speaker": "shop", "is_owner": False}),
        (None, "WM 4821 7730", {"speaker": "unknown", "is_owner": False}),
    ],
)
def test_only_the_owner_may_hear_the_details_on_file(
    client: TestClient,
    demo_data: Session,
    phone: str | None,
    serial: str,
    expected: dict[str, Any],
) -> None:
    conversation = make_conversation(
        demo_data, channel="sms" if phone else "web", phone=phone
    )

    response = client.get(_url(conversation.id, f"/claimant/{serial}"))

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in expected} == expected
    shop = "Electrodomésticos Turia" if expected["speaker"] == "shop" else None
    assert body["point_of_sale"] == shop
