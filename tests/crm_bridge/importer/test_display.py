"""Import of the display catalogue, existing display requests and replacement
rules (display_products.csv, display_requests.csv, replacement_rules.csv)."""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer import import_directory
from crm_bridge.models import (
    Channel,
    DisplayProduct,
    DisplayRequest,
    DisplayRequestStatus,
    Language,
    PointOfSale,
    ReplacementRule,
    Ticket,
    TicketKind,
    TicketStatus,
)
from crm_bridge.services import display
from tests.crm_bridge.conftest import DEMO_DATA


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_DATA, tmp_path / "data"))


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def _errors(db: Session, folder: Path) -> list[str]:
    result = import_directory(db, folder)
    return [str(error) for error in result.errors]


def test_demo_display_requests_become_tickets_with_their_numbers(
    demo_data: Session,
) -> None:
    requests = {
        request.ticket.number: request
        for request in demo_data.scalars(select(DisplayRequest))
    }

    turia = requests["DSP-2026-000001"]
    assert turia.point_of_sale.code == "PV-VLC-01"
    assert turia.status is DisplayRequestStatus.SHIPPED
    assert turia.installation_date == dt.date(2026, 12, 10)
    assert turia.installer == "Montajes Levante"
    assert [(line.product.sku, line.quantity) for line in turia.lines] == [
        ("EW8-1400", 2),
        ("DW-CL45", 1),
    ]
    ticket = turia.ticket
    assert ticket.kind is TicketKind.DISPLAY_REQUEST
    assert ticket.status is TicketStatus.OPEN
    assert ticket.point_of_sale_id == turia.point_of_sale_id
    assert ticket.display_request_id == turia.id
    assert ticket.service_centre_id is None
    assert requests["DSP-2026-000002"].point_of_sale.code == "PV-MAD-01"


def test_a_new_request_takes_the_number_after_the_imported_ones(
    demo_data: Session,
) -> None:
    shop = demo_data.scalar(select(PointOfSale).where(PointOfSale.code == "PV-BCN-01"))

    request, _ = display.create_request(
        demo_data,
        shop,
        [display.RequestedLine("OV-PY65", 1)],
        idempotency_key="import-test-0001",
        conversation_id="import-test",
        channel=Channel.WEB,
        language=Language.ES,
        today=dt.date(2026, 12, 4),
    )

    assert request.ticket.number == "DSP-2026-000003"


def test_demo_catalogue_and_replacement_rules(demo_data: Session) -> None:
    catalogue = {
        item.product.sku: item.max_quantity
        for item in demo_data.scalars(select(DisplayProduct))
    }
    assert catalogue["DW-CL45"] == 2 and catalogue["FR-NF185"] == 1

    rules = demo_data.scalars(select(ReplacementRule)).all()
    assert {(r.max_days_since_purchase, r.min_previous_repairs) for r in rules} == {
        (15, None),
        (None, 2),
    }
    assert all(rule.note_es and rule.note_en for rule in rules)


def test_a_changed_request_is_updated_and_an_installed_one_closes_its_ticket(
    db: Session, demo_copy: Path
) -> None:
    assert import_directory(db, demo_copy).ok
    _write(
        demo_copy,
        "display_requests.csv",
        "number,point_of_sale_code,status,installation_date,installer,lines\n"
        "DSP-2026-000001,PV-VLC-01,installed,2026-12-10,Montajes Levante,"
        "EW8-1400:1\n"
        "DSP-2026-000002,PV-MAD-01,approved,,,FR-NF185:1\n",
    )

    result = import_directory(db, demo_copy)

    report = next(r for r in result.files if r.file == "display_requests.csv")
    assert (report.created, report.updated) == (0, 1)
    ticket = db.scalar(select(Ticket).where(Ticket.number == "DSP-2026-000001"))
    db.refresh(ticket)
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.resolution == "installed"
    assert ticket.closed_at is not None
    request = db.scalar(
        select(DisplayRequest).where(DisplayRequest.ticket_id == ticket.id)
    )
    assert [(line.product.sku, line.quantity) for line in request.lines] == [
        ("EW8-1400", 1)
    ]


def test_bad_display_rows_are_reported_and_nothing_is_imported(
    db: Session, demo_copy: Path
) -> None:
    _write(demo_copy, "display_products.csv", "sku,max_quantity\nNOPE-1,2\nDW-CL45,0\n")
    _write(
        demo_copy,
        "display_requests.csv",
        "number,point_of_sale_code,status,lines\n"
        "DSP-26-1,PV-VLC-01,requested,DW-CL45:1\n"
        "DSP-2026-000009,PV-XXX,lost,DW-CL45:two;GHOST:1\n",
    )
    _write(
        demo_copy,
        "replacement_rules.csv",
        "category_code,max_days_since_purchase,min_previous_repairs,note_es,note_en\n"
        "toaster,15,,a,b\n"
        ",,,a,b\n",
    )

    errors = _errors(db, demo_copy)

    assert (
        "display_products.csv:2: sku: 'NOPE-1' is neither in products.csv nor "
        "in the database" in errors
    )
    assert (
        "display_products.csv:3: max_quantity: '0' is not a whole number >= 1" in errors
    )
    assert any(
        e.startswith("display_requests.csv:2: number: 'DSP-26-1'") for e in errors
    )
    assert any(e.startswith("display_requests.csv:3: status: 'lost'") for e in errors)
    assert any("'DW-CL45:two' is not SKU:quantity" in e for e in errors)
    assert any(
        e.startswith("replacement_rules.csv:2: category_code: 'toaster'")
        for e in errors
    )
    assert any(
        e.startswith("replacement_rules.csv:3:") and "needs max_days" in e
        for e in errors
    )
    assert db.scalar(select(DisplayProduct)) is None


def test_a_request_of_an_unknown_shop_or_product_is_refused(
    db: Session, demo_copy: Path
) -> None:
    _write(
        demo_copy,
        "display_requests.csv",
        "number,point_of_sale_code,status,lines\n"
        "DSP-2026-000009,PV-XXX,requested,GHOST:1\n"
        "DSP-2026-000009,PV-VLC-01,requested,DW-CL45:1\n",
    )

    errors = _errors(db, demo_copy)

    assert any("'PV-XXX' is neither in points_of_sale.csv" in e for e in errors)
    assert any("'GHOST' is neither in products.csv" in e for e in errors)
    assert "display_requests.csv:3: number: repeats line 2" in errors
