"""Import files of display units (iDC) and replacement rules (iGI).

``display_products.csv`` (sku, max_quantity) is the eligible display
catalogue. ``display_requests.csv`` loads requests that already exist (number
``DSP-YYYY-NNNNNN``, shop, status, installation, lines ``SKU:qty;SKU:qty``):
each becomes its ticket with that number, and the number counter moves past
it so new requests never reuse one. ``replacement_rules.csv`` lists when a
unit is replaced instead of repaired.

The parse functions receive the importer's ``RowReader``; registered in
``parse.FILE_SPECS``, ``check.check_rows`` and ``load.LOADERS``.
"""

import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer.rows import RowError
from crm_bridge.models import (
    Channel,
    DisplayProduct,
    DisplayRequest,
    DisplayRequestLine,
    DisplayRequestStatus,
    Language,
    PointOfSale,
    Product,
    ReplacementRule,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketNumberCounter,
    TicketStatus,
    WarrantyStatus,
)

if TYPE_CHECKING:
    from crm_bridge.importer.parse import RowReader

DISPLAY_STATUSES = tuple(status.value for status in DisplayRequestStatus)
_DSP_NUMBER = re.compile(r"DSP-(\d{4})-(\d{6})")
_LINE = re.compile(r"([A-Za-z0-9_\-]+):(\d{1,4})")
_MARKET = re.compile(r"[A-Z]{2}")
_CLOSED = {
    DisplayRequestStatus.INSTALLED: "installed",
    DisplayRequestStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class DisplayProductRow:
    line: int
    sku: str
    max_quantity: int


@dataclass(frozen=True)
class DisplayRequestRow:
    line: int
    number: str
    point_of_sale_code: str
    status: str
    installation_date: dt.date | None
    installer: str | None
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ReplacementRuleRow:
    line: int
    category_code: str | None
    market: str
    max_days_since_purchase: int | None
    min_previous_repairs: int | None
    note_es: str
    note_en: str


def parse_display_product(r: "RowReader") -> DisplayProductRow | None:
    sku = r.text("sku", max_length=50)
    max_quantity = r.integer("max_quantity")
    if r.errors:
        return None
    assert sku and max_quantity
    return DisplayProductRow(r.line, sku, max_quantity)


def parse_display_request(r: "RowReader") -> DisplayRequestRow | None:
    number = r.text("number", max_length=20)
    if number is not None and not _DSP_NUMBER.fullmatch(number):
        r.error("number", f"{number!r} is not a number like DSP-2026-000001")
    point_of_sale_code = r.text("point_of_sale_code", max_length=50)
    status = r.choice("status", DISPLAY_STATUSES, default="requested")
    installation_date = r.date("installation_date", required=False)
    installer = r.text("installer", required=False)
    lines = _request_lines(r)
    if r.errors:
        return None
    assert number and point_of_sale_code
    return DisplayRequestRow(
        r.line,
        number,
        point_of_sale_code,
        status,
        installation_date,
        installer,
        lines,
    )


def _request_lines(r: "RowReader") -> tuple[tuple[str, int], ...]:
    value = r.text("lines", max_length=2000) or ""
    lines = []
    for item in (item.strip() for item in value.split(";")):
        if not item:
            continue
        match = _LINE.fullmatch(item.replace(" ", ""))
        if match is None or int(match.group(2)) < 1:
            r.error("lines", f"{item!r} is not SKU:quantity (e.g. DW-CL45:2)")
            continue
        lines.append((match.group(1), int(match.group(2))))
    if value and not lines and not r.errors:
        r.error("lines", "lists nothing")
    return tuple(lines)


def parse_replacement_rule(r: "RowReader") -> ReplacementRuleRow | None:
    category_code = r.text("category_code", required=False, max_length=50)
    market = r.text("market", required=False, max_length=2) or "ES"
    if not _MARKET.fullmatch(market):
        r.error("market", f"{market!r} is not a 2-letter market code like ES")
    max_days = _optional_integer(r, "max_days_since_purchase", minimum=0)
    min_repairs = _optional_integer(r, "min_previous_repairs", minimum=1)
    note_es = r.text("note_es", max_length=500)
    note_en = r.text("note_en", max_length=500)
    if max_days is None and min_repairs is None and not r.errors:
        r.error(
            "max_days_since_purchase",
            "a rule needs max_days_since_purchase or min_previous_repairs",
        )
    if r.errors:
        return None
    assert note_es and note_en
    return ReplacementRuleRow(
        r.line, category_code, market, max_days, min_repairs, note_es, note_en
    )


def _optional_integer(r: "RowReader", column: str, minimum: int) -> int | None:
    if not r.values.get(column):
        return None
    return r.integer(column, minimum=minimum)


def check_display_rows(
    rows: dict[str, list[Any]],
    shops: frozenset[str],
    skus: frozenset[str],
    categories: frozenset[str],
) -> list[RowError]:
    """Duplicates and references to shops, products and categories."""
    errors: list[RowError] = []
    errors += _duplicates(rows, "display_products.csv", "sku", lambda r: r.sku)
    errors += _duplicates(rows, "display_requests.csv", "number", lambda r: r.number)
    errors += _duplicates(
        rows,
        "replacement_rules.csv",
        "category_code",
        lambda r: _rule_key(r),
    )
    for item in rows.get("display_products.csv", []):
        errors += _missing("display_products.csv", item, "sku", [item.sku], skus)
    for request in rows.get("display_requests.csv", []):
        errors += _missing(
            "display_requests.csv",
            request,
            "point_of_sale_code",
            [request.point_of_sale_code],
            shops,
        )
        errors += _missing(
            "display_requests.csv",
            request,
            "lines",
            [sku for sku, _ in request.lines],
            skus,
        )
    for rule in rows.get("replacement_rules.csv", []):
        if rule.category_code is not None:
            errors += _missing(
                "replacement_rules.csv",
                rule,
                "category_code",
                [rule.category_code],
                categories,
            )
    return errors


_TARGETS = {
    "sku": "products.csv",
    "lines": "products.csv",
    "point_of_sale_code": "points_of_sale.csv",
    "category_code": "categories.csv",
}


def _missing(
    file: str, row: Any, column: str, values: Iterable[str], existing: frozenset[str]
) -> list[RowError]:
    return [
        RowError(
            file,
            row.line,
            f"{value!r} is neither in {_TARGETS[column]} nor in the database",
            column,
        )
        for value in values
        if value not in existing
    ]


def _duplicates(
    rows: dict[str, list[Any]],
    file: str,
    column: str,
    key: Callable[[Any], Hashable],
) -> list[RowError]:
    first_line: dict[Hashable, int] = {}
    errors = []
    for row in rows.get(file, []):
        line = first_line.setdefault(key(row), row.line)
        if line != row.line:
            errors.append(RowError(file, row.line, f"repeats line {line}", column))
    return errors


def _rule_key(rule: Any) -> Hashable:
    return (
        rule.category_code,
        rule.market,
        rule.max_days_since_purchase,
        rule.min_previous_repairs,
    )


def _product_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Product.sku, Product.id)).tuples().all())


def load_display_products(
    session: Session, rows: list[DisplayProductRow], up: Any
) -> None:
    existing = {
        item.product_id: item for item in session.scalars(select(DisplayProduct))
    }
    product_ids = _product_ids(session)
    for row in rows:
        product_id = product_ids[row.sku]
        up.upsert(
            existing,
            product_id,
            DisplayProduct,
            {"product_id": product_id, "max_quantity": row.max_quantity},
        )


def load_display_requests(
    session: Session, rows: list[DisplayRequestRow], up: Any
) -> None:
    """Each request with its ticket; its lines become exactly the listed ones."""
    product_ids = _product_ids(session)
    shop_ids = dict(
        session.execute(select(PointOfSale.code, PointOfSale.id)).tuples().all()
    )
    existing = {
        request.ticket.number: request
        for request in session.scalars(select(DisplayRequest))
    }
    for row in rows:
        status = DisplayRequestStatus(row.status)
        shop_id = shop_ids[row.point_of_sale_code]
        wanted = [(product_ids[sku], quantity) for sku, quantity in row.lines]
        request = existing.get(row.number)
        is_new = request is None
        if request is None:
            ticket = Ticket(
                number=row.number,
                kind=TicketKind.DISPLAY_REQUEST,
                status=TicketStatus.OPEN,
                channel=Channel.WEB,
                conversation_id=f"import:{row.number}",
                language=Language.ES,
                warranty_status=WarrantyStatus.UNKNOWN,
                events=[TicketEvent(kind="imported", actor="import", detail={})],
            )
            request = DisplayRequest(ticket=ticket)
            session.add(request)
            existing[row.number] = request
            up.created += 1
        changed = up.assign(
            request,
            {
                "point_of_sale_id": shop_id,
                "status": status,
                "installation_date": row.installation_date,
                "installer": row.installer,
            },
        )
        if [(line.product_id, line.quantity) for line in request.lines] != wanted:
            request.lines = [
                DisplayRequestLine(product_id=product_id, quantity=quantity)
                for product_id, quantity in wanted
            ]
            changed = True
        changed |= _sync_ticket(request.ticket, row, shop_id, status)
        if changed and not is_new:
            up.updated += 1
        session.flush()
        request.ticket.display_request_id = request.id
        _advance_counter(session, row.number)


def _sync_ticket(
    ticket: Ticket, row: DisplayRequestRow, shop_id: int, status: DisplayRequestStatus
) -> bool:
    closed = _CLOSED.get(status)
    values: dict[str, Any] = {
        "point_of_sale_id": shop_id,
        "status": TicketStatus.CLOSED if closed else TicketStatus.OPEN,
        "resolution": closed,
        "quantity": sum(quantity for _, quantity in row.lines),
    }
    changed = False
    for name, value in values.items():
        if getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed = True
    if closed and ticket.closed_at is None:
        day = row.installation_date or dt.date.today()
        ticket.closed_at = dt.datetime.combine(day, dt.time(12), dt.timezone.utc)
    if not closed:
        ticket.closed_at = None
    return changed


def _advance_counter(session: Session, number: str) -> None:
    """Moves the DSP counter of the year past an imported number."""
    match = _DSP_NUMBER.fullmatch(number)
    assert match is not None
    year, value = int(match.group(1)), int(match.group(2))
    counter = session.get(TicketNumberCounter, ("DSP", year))
    if counter is None:
        session.add(TicketNumberCounter(prefix="DSP", year=year, last_value=value))
    elif counter.last_value < value:
        counter.last_value = value
    session.flush()


def load_replacement_rules(
    session: Session, rows: list[ReplacementRuleRow], up: Any
) -> None:
    existing = {
        _rule_key(rule): rule for rule in session.scalars(select(ReplacementRule))
    }
    for row in rows:
        up.upsert(
            existing,
            _rule_key(row),
            ReplacementRule,
            {
                "category_code": row.category_code,
                "market": row.market,
                "max_days_since_purchase": row.max_days_since_purchase,
                "min_previous_repairs": row.min_previous_repairs,
                "note_es": row.note_es,
                "note_en": row.note_en,
            },
        )
