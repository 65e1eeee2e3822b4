import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.crm_bridge.factories import (
    make_category,
    make_product,
    make_unit,
    make_warranty_term,
)


@pytest.mark.parametrize(
    "typed", ["WM 4821 7730", "wm48217730", "wm-4821-7730", "WM%204821%2D7730"]
)
def test_a_unit_is_found_however_its_serial_is_typed(
    client: TestClient, demo_data: Session, typed: str
) -> None:
    response = client.get(f"/api/v1/units/{typed}")

    assert response.status_code == 200
    assert response.json() == {
        "serial_number": "WM 4821 7730",
        "product": {
            "sku": "EW8-1400",
            "name": "EcoWash 8 kg",
            "category": {
                "code": "washing_machine",
                "name_es": "Lavadora",
                "name_en": "Washing machine",
            },
        },
        "purchase_date": "2026-03-14",
        "market": "ES",
        "point_of_sale": {"code": "PV-VLC-01", "name": "Electrodomésticos Turia"},
        "customer": {
            "name": "Lucía Martín",
            "phone": "+34612345222",
            "postal_code": "46001",
        },
    }


def test_a_unit_without_shop_or_customer_has_nulls(
    client: TestClient, db: Session
) -> None:
    make_unit(db, serial_number="DISPLAY-1", purchase_date=None)

    body = client.get("/api/v1/units/display-1").json()

    assert body["point_of_sale"] is None
    assert body["customer"] is None
    assert body["purchase_date"] is None


@pytest.mark.parametrize("serial", ["XX 0000", "---"])
def test_an_unknown_serial_is_404_naming_it(
    client: TestClient, demo_data: Session, serial: str
) -> None:
    response = client.get(f"/api/v1/units/{serial}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"unit '{serial}' not found"}


@pytest.mark.parametrize(
    ("serial", "status", "reason", "end_date", "months"),
    [
        ("BX-2024-55812", "valid", "within_term", "2027-09-02", 36),
        ("wm 2019 00417", "expired", "term_ended", "2022-05-10", 24),
        ("FR-7700-1234", "unknown", "no_purchase_date", None, None),
    ],
)
def test_warranty_decisions_of_the_demo_units(
    client: TestClient,
    demo_data: Session,
    serial: str,
    status: str,
    reason: str,
    end_date: str | None,
    months: int | None,
) -> None:
    response = client.get(f"/api/v1/units/{serial}/warranty?as_of=2026-12-04")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reason"]) == (status, reason)
    assert (body["end_date"], body["term_months"]) == (end_date, months)


def test_warranty_on_its_last_day_and_the_day_after(
    client: TestClient, demo_data: Session
) -> None:
    url = "/api/v1/units/BX-2024-55812/warranty"

    assert client.get(url, params={"as_of": "2027-09-02"}).json()["status"] == "valid"
    assert client.get(url, params={"as_of": "2027-09-03"}).json()["status"] == "expired"


def test_warranty_defaults_to_today(client: TestClient, db: Session) -> None:
    category = make_category(db)
    make_warranty_term(db, category, purchased_from=dt.date(2000, 1, 1), months=12)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    make_unit(
        db, make_product(db, category), serial_number="T-1", purchase_date=yesterday
    )

    body = client.get("/api/v1/units/T-1/warranty").json()

    assert body["status"] == "valid"
    assert body["purchase_date"] == yesterday.isoformat()


def test_warranty_of_an_unknown_serial_is_unknown_not_an_error(
    client: TestClient, demo_data: Session
) -> None:
    response = client.get("/api/v1/units/NOPE-1/warranty")

    assert response.status_code == 200
    assert response.json() == {
        "serial_number": "NOPE-1",
        "status": "unknown",
        "reason": "unit_not_found",
        "purchase_date": None,
        "end_date": None,
        "term_months": None,
        "category": None,
    }


def test_warranty_without_terms_for_the_category_is_unknown(
    client: TestClient, db: Session
) -> None:
    make_unit(db, serial_number="TV-1", purchase_date=dt.date(2025, 1, 1))

    body = client.get("/api/v1/units/TV-1/warranty").json()

    assert (body["status"], body["reason"]) == ("unknown", "no_term_for_category")
    assert body["purchase_date"] == "2025-01-01"


def test_a_bad_as_of_date_is_422(client: TestClient, demo_data: Session) -> None:
    response = client.get("/api/v1/units/BX-2024-55812/warranty?as_of=2024-13-01")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "as_of"]
