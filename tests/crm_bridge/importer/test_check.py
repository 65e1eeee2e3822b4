import datetime as dt

from sqlalchemy.orm import Session

from crm_bridge.importer.check import KnownKeys, check_rows
from crm_bridge.importer.rows import (
    CategoryRow,
    ProductRow,
    ServiceCentreRow,
    UnitRow,
    WarrantyTermRow,
)
from tests.crm_bridge.factories import make_category, make_customer

NOTHING = KnownKeys(frozenset(), frozenset(), frozenset(), frozenset())


def _unit(line: int, serial: str, **values: str | None) -> UnitRow:
    fields = {
        "sku": "EW8",
        "point_of_sale_code": None,
        "customer_phone": None,
        **values,
    }
    key = "".join(c for c in serial.upper() if c.isalnum())
    return UnitRow(line, serial, key, purchase_date=None, market="ES", **fields)


def _messages(rows: dict, known: KnownKeys = NOTHING) -> list[str]:
    return [str(error) for error in check_rows(rows, known)]


def test_references_must_exist_in_the_files_or_the_database() -> None:
    rows = {
        "categories.csv": [CategoryRow(2, "boiler", "Caldera", "Boiler")],
        "products.csv": [
            ProductRow(2, "EW8", "EcoWash 8", "EcoWash", "washing_machine"),
            ProductRow(3, "HP24", "HeatPro 24", "HeatPro", "boiler"),
        ],
        "units.csv": [
            _unit(2, "A-1", point_of_sale_code="PV-9", customer_phone="+34600000009"),
            _unit(3, "A-2", sku="NOPE"),
        ],
    }

    assert _messages(rows) == [
        "products.csv:2: category_code: 'washing_machine' is neither in "
        "categories.csv nor in the database",
        "units.csv:2: point_of_sale_code: 'PV-9' is neither in points_of_sale.csv "
        "nor in the database",
        "units.csv:2: customer_phone: '+34600000009' is neither in customers.csv "
        "nor in the database",
        "units.csv:3: sku: 'NOPE' is neither in products.csv nor in the database",
    ]


def test_references_to_rows_already_in_the_database_are_fine(db: Session) -> None:
    make_category(db, "washing_machine")
    make_customer(db, phone="+34600000009")
    rows = {
        "products.csv": [ProductRow(2, "EW8", "EcoWash", "EcoWash", "washing_machine")],
        "units.csv": [_unit(2, "A-1", customer_phone="+34600000009")],
    }

    assert _messages(rows, KnownKeys.load(db)) == []


def test_duplicates_point_at_the_first_line() -> None:
    rows = {
        "categories.csv": [CategoryRow(2, "boiler", "Caldera", "Boiler")],
        "products.csv": [ProductRow(2, "EW8", "EcoWash", "EcoWash", "boiler")],
        "units.csv": [_unit(2, "WM 4821 7730"), _unit(5, "wm-4821-7730")],
    }

    assert _messages(rows) == ["units.csv:5: serial_number: repeats line 2"]


def test_service_centre_categories_must_exist() -> None:
    rows = {
        "categories.csv": [CategoryRow(2, "boiler", "Caldera", "Boiler")],
        "service_centres.csv": [
            ServiceCentreRow(2, "C", "C", "+34961", "c@x.es", ("46",), ("boiler", "tv"))
        ],
    }

    assert _messages(rows) == [
        "service_centres.csv:2: categories: 'tv' is neither in categories.csv "
        "nor in the database"
    ]


def test_overlapping_warranty_terms_are_refused() -> None:
    def term(line: int, start: str, end: str | None) -> WarrantyTermRow:
        until = dt.date.fromisoformat(end) if end else None
        return WarrantyTermRow(
            line, "boiler", "ES", dt.date.fromisoformat(start), until, 24
        )

    rows = {
        "categories.csv": [CategoryRow(2, "boiler", "Caldera", "Boiler")],
        "warranty_terms.csv": [
            term(2, "2000-01-01", "2022-01-01"),
            term(3, "2022-01-01", None),
        ],
    }

    assert _messages(rows) == [
        "warranty_terms.csv:3: purchased_from: '2022-01-01' falls in the term on line 2"
    ]
