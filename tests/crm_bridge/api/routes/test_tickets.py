import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm_bridge.models import Customer, Ticket
from tests.crm_bridge.factories import ticket_request

URL = "/api/v1/tickets"


def _open(client: TestClient, expected: int = 201, **values: Any) -> dict[str, Any]:
    response = client.post(URL, json=ticket_request(**values))
    assert response.status_code == expected, response.text
    return response.json()


def _count(db: Session, model: type) -> int:
    query = select(func.count()).select_from(model)
    if model is Ticket:
        # The demo data's own cases (display requests) were imported, not opened.
        query = query.where(Ticket.conversation_id.not_like("import:%"))
    return db.scalar(query)


def test_a_warranty_claim_is_assigned_to_the_centre_of_the_area(
    client: TestClient, demo_data: Session
) -> None:
    ticket = _open(
        client,
        serial_number="WM 4821 7730",
        product_category=None,
        conversation_id="web-42",
    )

    assert ticket["number"] == f"WAR-{dt.date.today().year}-000001"
    assert ticket["status"] == "assigned"
    assert ticket["service_centre"] == {
        "code": "CAT-LEV",
        "name": "Servicio Técnico Levante",
        "phone": "+34961234500",
    }
    assert ticket["warranty_status"] == "valid"
    assert ticket["warranty_end_date"] == "2029-03-14"
    assert ticket["serial_number"] == "WM 4821 7730"
    assert ticket["product_category"] == "washing_machine"
    assert ticket["customer"]["name"] == "Lucía Martín"
    due = dt.date.today() + dt.timedelta(days=5)
    assert ticket["verification_due"] == due.isoformat()
    assert [e["kind"] for e in ticket["events"]] == ["created", "assigned"]
    assert ticket["events"][1]["detail"]["service_centre"] == "CAT-LEV"
    assert all(e["actor"] == "assistant" for e in ticket["events"])


def test_the_unit_owner_is_used_when_no_contact_is_given(
    client: TestClient, demo_data: Session
) -> None:
    ticket = _open(
        client, serial_number="DW-45-88812", product_category=None, customer=None
    )

    assert ticket["customer"]["postal_code"] == "28013"
    assert ticket["service_centre"]["code"] == "CAT-CEN"


@pytest.mark.parametrize(
    ("category", "postal_code", "centre"),
    [
        ("fridge", "28013", "CAT-FRIO-MAD"),
        ("fridge", "28400", "CAT-CEN"),
        ("boiler", "48001", "CAT-NOR"),
        ("washing_machine", "08014", "CAT-BCN"),
        ("dishwasher", "03001", "CAT-LEV"),
    ],
)
def test_the_centre_follows_postal_code_and_category(
    client: TestClient,
    demo_data: Session,
    category: str,
    postal_code: str,
    centre: str,
) -> None:
    customer = {"name": "Ana Gil", "phone": "699112233", "postal_code": postal_code}

    ticket = _open(client, product_category=category, customer=customer)

    assert ticket["status"] == "assigned"
    assert ticket["service_centre"]["code"] == centre


def test_a_known_customer_who_moved_is_served_where_the_unit_is_now(
    client: TestClient, demo_data: Session
) -> None:
    # James Walker is on file in 46001; the boiler is now in Madrid.
    moved = {"name": "James Walker", "phone": "655 123 222", "postal_code": "28013"}

    ticket = _open(
        client, serial_number="BX-2024-55812", product_category=None, customer=moved
    )

    assert ticket["postal_code"] == "28013"
    assert ticket["service_centre"]["code"] == "CAT-CEN"
    assert ticket["customer"]["postal_code"] == "46001"
    differ = [e for e in ticket["events"] if e["kind"] == "customer_details_differ"]
    assert differ[0]["detail"]["given"]["postal_code"] == "28013"


def test_no_centre_for_the_area_leaves_the_ticket_pending_with_the_reason(
    client: TestClient, demo_data: Session
) -> None:
    customer = {"name": "Miren Urrutia", "phone": "699112233", "postal_code": "48001"}

    ticket = _open(client, product_category="washing_machine", customer=customer)

    assert ticket["status"] == "pending_assignment"
    assert ticket["service_centre"] is None
    assert ticket["verification_due"] is None
    assert ticket["events"][-1] == {
        "kind": "pending_assignment",
        "detail": {
            "reason": "no_service_centre_covers",
            "postal_code": "48001",
            "category": "washing_machine",
        },
        "actor": "assistant",
        "created_at": ticket["events"][-1]["created_at"],
    }


def test_solved_at_first_contact_is_resolved_without_a_centre(
    client: TestClient, demo_data: Session
) -> None:
    ticket = _open(client, resolved_first_contact=True)

    assert ticket["status"] == "resolved"
    assert ticket["resolved_first_contact"] is True
    assert ticket["service_centre"] is None
    assert [e["kind"] for e in ticket["events"]] == [
        "created",
        "resolved_first_contact",
    ]


def test_kinds_have_their_own_prefix_and_handoffs_stay_open(
    client: TestClient, demo_data: Session
) -> None:
    year = dt.date.today().year
    repair = _open(
        client, kind="paid_repair", serial_number="WM-2019-00417", customer=None
    )
    handoff = _open(client, kind="handoff", product_category=None)

    assert repair["number"] == f"REP-{year}-000001"
    assert repair["warranty_status"] == "expired"
    assert repair["status"] == "assigned"
    assert handoff["number"] == f"GEN-{year}-000001"
    assert handoff["status"] == "open"
    assert handoff["service_centre"] is None


def test_asking_for_a_person_again_keeps_the_one_waiting_handoff(
    client: TestClient, demo_data: Session
) -> None:
    first = _open(client, kind="handoff", product_category=None)
    again = _open(client, 200, kind="handoff", product_category=None)
    elsewhere = _open(
        client, kind="handoff", product_category=None, conversation_id="conv-other"
    )

    assert again["number"] == first["number"]
    assert elsewhere["number"] != first["number"]


def test_the_same_idempotency_key_returns_the_same_ticket(
    client: TestClient, demo_data: Session
) -> None:
    body = ticket_request(idempotency_key="conv-9:warranty:1")

    first = client.post(URL, json=body)
    again = client.post(URL, json={**body, "fault_description": "changed my mind"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _count(demo_data, Ticket) == 1


def test_numbers_increase_and_are_never_reused(
    client: TestClient, demo_data: Session
) -> None:
    first = _open(client)["number"]
    second = _open(client)["number"]
    demo_data.execute(delete(Ticket).where(Ticket.number == second))
    demo_data.commit()

    third = _open(client)["number"]

    assert [n[-6:] for n in (first, second, third)] == ["000001", "000002", "000003"]
    assert client.get(f"{URL}/{second}").status_code == 404


def test_a_ticket_is_read_back_with_its_timeline(
    client: TestClient, demo_data: Session
) -> None:
    opened = _open(client)

    response = client.get(f"{URL}/{opened['number'].lower()}")

    assert response.status_code == 200
    assert response.json() == opened
    created_at = dt.datetime.fromisoformat(opened["created_at"])
    assert created_at.tzinfo is not None
    assert abs(dt.datetime.now(dt.timezone.utc) - created_at) < dt.timedelta(hours=1)


def test_an_unknown_ticket_is_404(client: TestClient, demo_data: Session) -> None:
    response = client.get(f"{URL}/WAR-2026-999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "ticket 'WAR-2026-999999' not found"}


def test_sql_looking_text_is_stored_verbatim(
    client: TestClient, demo_data: Session
) -> None:
    text = 'Robert\'); DROP TABLE tickets;-- "ñ" <b>ü</b>'
    customer = {"name": text, "phone": "699112233", "postal_code": "46001"}

    ticket = _open(client, fault_description=text, customer=customer)

    assert ticket["fault_description"] == text
    assert ticket["customer"]["name"] == text
    assert client.get(f"{URL}/{ticket['number']}").json()["fault_description"] == text
    assert _count(demo_data, Ticket) == 1


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (
            {"customer": {"name": "A", "phone": "699112233", "postal_code": "4600"}},
            ["body", "customer", "postal_code"],
        ),
        (
            {"customer": {"name": "A", "phone": "699112233", "postal_code": "99001"}},
            ["body", "customer", "postal_code"],
        ),
        (
            {"customer": {"name": "A", "phone": "12", "postal_code": "46001"}},
            ["body", "customer", "phone"],
        ),
        (
            {"customer": {"name": "", "phone": "699112233", "postal_code": "46001"}},
            ["body", "customer", "name"],
        ),
        ({"fault_description": "x" * 2001}, ["body", "fault_description"]),
        ({"idempotency_key": "short"}, ["body", "idempotency_key"]),
        ({"idempotency_key": "k" * 201}, ["body", "idempotency_key"]),
        ({"kind": "complaint"}, ["body", "kind"]),
        ({"channel": "fax"}, ["body", "channel"]),
        ({"language": "fr"}, ["body", "language"]),
        ({"conversation_id": ""}, ["body", "conversation_id"]),
        ({"unexpected": 1}, ["body", "unexpected"]),
    ],
)
def test_bad_fields_are_422_naming_the_field(
    client: TestClient, demo_data: Session, change: dict[str, Any], location: list[str]
) -> None:
    response = client.post(URL, json=ticket_request(**change))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == location
    assert _count(demo_data, Ticket) == 0


def test_a_bad_postal_code_is_explained(client: TestClient, demo_data: Session) -> None:
    customer = {"name": "Ana", "phone": "699112233", "postal_code": "4600"}

    response = client.post(URL, json=ticket_request(customer=customer))

    assert (
        "'4600' is not a postal code (5 digits)" in response.json()["detail"][0]["msg"]
    )


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"serial_number": "ZZ-404"}, "unit 'ZZ-404' not found"),
        ({"product_category": "tv"}, "product category 'tv' not found"),
        (
            {"product_category": None},
            "a 'warranty' ticket needs serial_number or product_category",
        ),
        (
            {"serial_number": "WM 4821 7730", "product_category": "boiler"},
            "product_category 'boiler' does not match unit 'WM 4821 7730', "
            "which is a 'washing_machine'",
        ),
    ],
)
def test_requests_the_crm_cannot_fulfil_are_422_with_the_reason(
    client: TestClient, demo_data: Session, change: dict[str, Any], detail: str
) -> None:
    response = client.post(URL, json=ticket_request(**change))

    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert _count(demo_data, Ticket) == 0


def test_malformed_json_is_400_and_creates_nothing(
    client: TestClient, demo_data: Session
) -> None:
    customers_before = _count(demo_data, Customer)

    response = client.post(
        URL,
        content=b'{"idempotency_key": "abc',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "the request body is not valid JSON"}
    assert _count(demo_data, Ticket) == 0
    assert _count(demo_data, Customer) == customers_before


def test_a_huge_body_is_refused_without_storing_it(
    client: TestClient, demo_data: Session
) -> None:
    # Two megabytes of text: refused by its declared size, before it is read.
    response = client.post(URL, json=ticket_request(fault_description="á" * 1_000_000))

    assert response.status_code == 413
    assert _count(demo_data, Ticket) == 0


def test_a_long_but_reasonable_body_is_refused_with_the_field_s_reason(
    client: TestClient, demo_data: Session
) -> None:
    response = client.post(URL, json=ticket_request(fault_description="a" * 200_000))

    assert response.status_code == 422
    assert "fault_description" in response.text
    assert len(response.text) < 300_000
    assert _count(demo_data, Ticket) == 0
