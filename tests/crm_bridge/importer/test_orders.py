"""Importing orders, their lines and shipments, and the shops' discount terms."""

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer import import_directory
from crm_bridge.models import DiscountCondition, Order, OrderStatus
from tests.crm_bridge.conftest import DEMO_DATA

ORDER_FILES = ("orders.csv", "order_lines.csv", "shipments.csv")


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_DATA, tmp_path / "data"))


def _append(folder: Path, file: str, *lines: str) -> None:
    with (folder / file).open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def _errors(db: Session, folder: Path) -> list[str]:
    result = import_directory(db, folder)
    assert not result.ok
    assert db.scalar(select(Order).limit(1)) is None, "nothing may be written"
    return [str(error) for error in result.errors]


def _order(db: Session, number: str) -> Order:
    return db.scalars(select(Order).where(Order.number == number)).one()


def test_demo_orders_have_their_lines_shipments_and_shops(
    demo_data: Session,
) -> None:
    short = _order(demo_data, "48213")
    assert short.point_of_sale.code == "PV-VLC-01"
    assert short.status is OrderStatus.DELIVERED
    first = short.lines[0]
    assert (first.product.sku, first.quantity_ordered, first.quantity_delivered) == (
        "DW-CL45",
        10,
        8,
    )
    assert short.shipments[0].carrier == "TransNorte"
    assert short.shipments[0].delivered_on == dt.date(2026, 12, 3)

    on_the_way = _order(demo_data, "4520")
    assert on_the_way.status is OrderStatus.IN_TRANSIT
    assert on_the_way.shipments[0].delivered_on is None
    assert _order(demo_data, "4530").point_of_sale.code == "PV-MAD-01"
    assert _order(demo_data, "4540").lines[0].discount_percent == Decimal("15.00")

    in_force = demo_data.scalars(
        select(DiscountCondition).where(
            DiscountCondition.point_of_sale_id == short.point_of_sale_id,
            DiscountCondition.valid_until.is_(None),
        )
    )
    assert {(c.category_code, c.max_discount_percent) for c in in_force} == {
        (None, Decimal("10.00")),
        ("oven", Decimal("12.00")),
    }


def test_over_delivery_is_possible_and_a_missing_delivered_count_is_zero(
    db: Session, demo_copy: Path
) -> None:
    _append(demo_copy, "orders.csv", "7001,PV-VLC-01,2026-11-02,delivered,")
    _append(
        demo_copy,
        "order_lines.csv",
        "7001,1,EW8-1400,2,3,429.00,",
        "7001,2,HP-24,1,,1190.5,",
    )

    result = import_directory(db, demo_copy)

    assert result.ok, [str(e) for e in result.errors]
    extra, nothing = _order(db, "7001").lines
    assert (extra.quantity_delivered, extra.missing) == (3, -1)
    assert (nothing.quantity_delivered, nothing.discount_percent) == (0, Decimal(0))
    assert nothing.unit_price == Decimal("1190.50")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "48213,3,DW-CL60,2,-1,100,",
            "order_lines.csv:6: quantity_delivered: '-1' is not a whole number >= 0",
        ),
        (
            "48213,3,DW-CL60,0,0,100,",
            "order_lines.csv:6: quantity_ordered: '0' is not a whole number >= 1",
        ),
        (
            "48213,3,DW-CL60,2,2,100,120",
            "order_lines.csv:6: discount_percent: '120' is more than 100",
        ),
        (
            "48213,3,DW-CL60,2,2,12;50,",
            "order_lines.csv:6: unit_price: '12;50' is not an amount >= 0 like 12.50",
        ),
        (
            "48213,3,DW-CL60,banana,2,100,",
            "order_lines.csv:6: quantity_ordered: 'banana' is not a whole number >= 1",
        ),
    ],
)
def test_impossible_line_values_are_refused(
    db: Session, demo_copy: Path, line: str, expected: str
) -> None:
    # order_lines.csv has a header and 9 demo lines: the next one is line 11,
    # so the demo file is replaced by a short one.
    (demo_copy / "order_lines.csv").write_text(
        "order_number,position,sku,quantity_ordered,quantity_delivered,"
        "unit_price,discount_percent\n"
        "4512,1,FR-NF185,4,4,689.00,8\n"
        "48213,1,DW-CL45,10,8,389.00,10\n"
        "48213,2,OV-PY65,2,2,549.00,5\n"
        "4540,1,DW-CL60,6,0,449.00,15\n"
        f"{line}\n",
        encoding="utf-8",
    )

    assert expected in _errors(db, demo_copy)


def test_references_and_duplicates_are_checked_across_the_order_files(
    db: Session, demo_copy: Path
) -> None:
    _append(demo_copy, "orders.csv", "4512,PV-VLC-01,2026-11-20,delivered,")
    _append(demo_copy, "orders.csv", "7002,PV-NOPE,2026-11-20,placed,")
    _append(demo_copy, "order_lines.csv", "99999,1,DW-CL45,1,0,10,")
    _append(demo_copy, "order_lines.csv", "48213,1,NO-SKU,1,0,10,")
    _append(demo_copy, "shipments.csv", "88888,TransNorte,,placed,,,")
    _append(demo_copy, "discount_conditions.csv", "PV-VLC-01,toaster,5,2026-01-01,")

    errors = _errors(db, demo_copy)

    assert "orders.csv:7: number: repeats line 2" in errors
    assert (
        "orders.csv:8: point_of_sale_code: 'PV-NOPE' is neither in "
        "points_of_sale.csv nor in the database" in errors
    )
    assert (
        "order_lines.csv:11: order_number: '99999' is neither in orders.csv "
        "nor in the database" in errors
    )
    assert "order_lines.csv:12: position: repeats line 4" in errors
    assert (
        "order_lines.csv:12: sku: 'NO-SKU' is neither in products.csv nor in "
        "the database" in errors
    )
    assert any(e.startswith("shipments.csv:6: order_number: '88888'") for e in errors)
    assert any(
        e.startswith("discount_conditions.csv:6: category_code: 'toaster'")
        for e in errors
    )


def test_inconsistent_dates_and_statuses_are_refused(
    db: Session, demo_copy: Path
) -> None:
    _append(demo_copy, "orders.csv", "7003,PV-VLC-01,2026-11-20,lost,2026-11-01")
    _append(
        demo_copy,
        "shipments.csv",
        "4540,TransNorte,TN-1,delivered,2026-12-02,,",
        "4540,TransNorte,TN-2,in_transit,2026-12-02,2026-12-01,2026-12-03",
    )
    _append(
        demo_copy,
        "discount_conditions.csv",
        "PV-VLC-01,,9,2026-06-01,",
        "PV-BCN-01,,9,2026-06-01,2026-05-01",
    )

    errors = _errors(db, demo_copy)

    assert (
        "orders.csv:7: status: 'lost' is not one of placed, shipped, in_transit, "
        "delivered, cancelled" in errors
    )
    assert (
        "orders.csv:7: expected_on: '2026-11-01' is before ordered_on '2026-11-20'"
        in errors
    )
    assert (
        "shipments.csv:6: delivered_on: is required when the status is delivered"
        in errors
    )
    assert (
        "shipments.csv:7: expected_on: '2026-12-01' is before shipped_on "
        "'2026-12-02'" in errors
    )
    assert "shipments.csv:7: status: 'in_transit' but delivered_on is set" in errors
    assert (
        "discount_conditions.csv:6: valid_from: '2026-06-01' falls in the "
        "condition on line 3" in errors
    )
    assert (
        "discount_conditions.csv:7: valid_until: '2026-05-01' is before "
        "valid_from '2026-06-01'" in errors
    )


def test_order_files_may_be_imported_on_their_own_and_update_in_place(
    demo_data: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "update"
    folder.mkdir()
    for file in ORDER_FILES:
        shutil.copy(DEMO_DATA / file, folder / file)
    lines = (folder / "order_lines.csv").read_text(encoding="utf-8")
    (folder / "order_lines.csv").write_text(
        lines.replace("48213,1,DW-CL45,10,8,", "48213,1,DW-CL45,10,10,"),
        encoding="utf-8",
    )

    result = import_directory(demo_data, folder)

    assert result.ok, [str(e) for e in result.errors]
    assert [(r.file, r.created, r.updated) for r in result.files] == [
        ("orders.csv", 0, 0),
        ("order_lines.csv", 0, 1),
        ("shipments.csv", 0, 0),
    ]
    demo_data.expire_all()
    assert _order(demo_data, "48213").lines[0].quantity_delivered == 10
