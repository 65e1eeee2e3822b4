"""Checks across rows and files: duplicate keys and references that go nowhere."""

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer.display import check_display_rows
from crm_bridge.importer.rows import (
    DiscountConditionRow,
    RowError,
    WarrantyTermRow,
)
from crm_bridge.models import Customer, Order, PointOfSale, Product, ProductCategory
from crm_bridge.models.surveys import Survey

Rows = dict[str, list[Any]]


@dataclass(frozen=True)
class KnownKeys:
    """Natural keys already in the database that imported rows may refer to."""

    categories: frozenset[str]
    skus: frozenset[str]
    points_of_sale: frozenset[str]
    customer_phones: frozenset[str]
    surveys: frozenset[str] = frozenset()
    orders: frozenset[str] = frozenset()

    @classmethod
    def load(cls, session: Session) -> "KnownKeys":
        return cls(
            categories=frozenset(session.scalars(select(ProductCategory.code))),
            skus=frozenset(session.scalars(select(Product.sku))),
            points_of_sale=frozenset(session.scalars(select(PointOfSale.code))),
            customer_phones=frozenset(session.scalars(select(Customer.phone))),
            surveys=frozenset(session.scalars(select(Survey.code))),
            orders=frozenset(session.scalars(select(Order.number))),
        )


def check_rows(rows: Rows, known: KnownKeys) -> list[RowError]:
    """Every duplicate and dangling reference in the parsed file set."""
    categories = known.categories | _keys(rows, "categories.csv", "code")
    skus = known.skus | _keys(rows, "products.csv", "sku")
    shops = known.points_of_sale | _keys(rows, "points_of_sale.csv", "code")
    phones = known.customer_phones | _keys(rows, "customers.csv", "phone")

    errors: list[RowError] = []
    errors += _duplicates(rows, "categories.csv", "code", lambda r: r.code)
    errors += _duplicates(
        rows,
        "warranty_terms.csv",
        "purchased_from",
        lambda r: (r.category_code, r.market, r.purchased_from),
    )
    errors += _overlapping_terms(rows.get("warranty_terms.csv", []))
    errors += _duplicates(rows, "products.csv", "sku", lambda r: r.sku)
    errors += _duplicates(rows, "points_of_sale.csv", "code", lambda r: r.code)
    errors += _duplicates(rows, "shop_contacts.csv", "phone", lambda r: r.phone)
    errors += _duplicates(rows, "service_centres.csv", "code", lambda r: r.code)
    errors += _duplicates(rows, "customers.csv", "phone", lambda r: r.phone)
    errors += _duplicates(rows, "units.csv", "serial_number", lambda r: r.serial_key)
    errors += _duplicates(
        rows,
        "guided_checks.csv",
        "position",
        lambda r: (r.category_code, r.language, r.position),
    )

    for term in rows.get("warranty_terms.csv", []):
        errors += _reference("warranty_terms.csv", term, "category_code", categories)
    for product in rows.get("products.csv", []):
        errors += _reference("products.csv", product, "category_code", categories)
    for centre in rows.get("service_centres.csv", []):
        for code in centre.categories:
            if code not in categories:
                errors.append(
                    _missing("service_centres.csv", centre, "categories", code)
                )
    for contact in rows.get("shop_contacts.csv", []):
        errors += _reference("shop_contacts.csv", contact, "point_of_sale_code", shops)
    for unit in rows.get("units.csv", []):
        errors += _reference("units.csv", unit, "sku", skus)
        errors += _reference("units.csv", unit, "point_of_sale_code", shops)
        errors += _reference("units.csv", unit, "customer_phone", phones)
    for check in rows.get("guided_checks.csv", []):
        errors += _reference("guided_checks.csv", check, "category_code", categories)
    errors += _survey_errors(rows, known)
    errors += _order_errors(rows, known, shops, skus, categories)
    errors += check_display_rows(rows, shops, skus, categories)
    return errors


_TARGETS = {
    "survey_code": "surveys.csv",
    "category_code": "categories.csv",
    "categories": "categories.csv",
    "sku": "products.csv",
    "point_of_sale_code": "points_of_sale.csv",
    "customer_phone": "customers.csv",
    "order_number": "orders.csv",
}


def _keys(rows: Rows, file: str, attribute: str) -> frozenset[str]:
    return frozenset(getattr(row, attribute) for row in rows.get(file, []))


def _missing(file: str, row: Any, column: str, value: str) -> RowError:
    return RowError(
        file,
        row.line,
        f"{value!r} is neither in {_TARGETS[column]} nor in the database",
        column,
    )


def _reference(
    file: str, row: Any, column: str, existing: frozenset[str]
) -> list[RowError]:
    value = getattr(row, column)
    if value is None or value in existing:
        return []
    return [_missing(file, row, column, value)]


def _duplicates(
    rows: Rows, file: str, column: str, key: Callable[[Any], Hashable]
) -> list[RowError]:
    first_line: dict[Hashable, int] = {}
    errors = []
    for row in rows.get(file, []):
        line = first_line.setdefault(key(row), row.line)
        if line != row.line:
            errors.append(RowError(file, row.line, f"repeats line {line}", column))
    return errors


def _overlapping_terms(terms: Iterable[WarrantyTermRow]) -> list[RowError]:
    """Two terms of one category and market must not cover the same day."""
    errors = []
    ordered = sorted(terms, key=lambda t: (t.category_code, t.market, t.purchased_from))
    for previous, term in zip(ordered, ordered[1:], strict=False):
        same_scope = (previous.category_code, previous.market) == (
            term.category_code,
            term.market,
        )
        if not same_scope or previous.purchased_from == term.purchased_from:
            continue
        if previous.purchased_until is None or (
            previous.purchased_until >= term.purchased_from
        ):
            errors.append(
                RowError(
                    "warranty_terms.csv",
                    term.line,
                    f"'{term.purchased_from}' falls in the term on line "
                    f"{previous.line}",
                    "purchased_from",
                )
            )
    return errors


def _survey_errors(rows: Rows, known: KnownKeys) -> list[RowError]:
    """Duplicate surveys and questions, and questions of unknown surveys."""
    surveys = known.surveys | _keys(rows, "surveys.csv", "code")
    errors = _duplicates(rows, "surveys.csv", "code", lambda r: r.code)
    errors += _duplicates(
        rows,
        "survey_questions.csv",
        "position",
        lambda r: (r.survey_code, r.position),
    )
    for question in rows.get("survey_questions.csv", []):
        errors += _reference("survey_questions.csv", question, "survey_code", surveys)
    return errors


def _order_errors(
    rows: Rows,
    known: KnownKeys,
    shops: frozenset[str],
    skus: frozenset[str],
    categories: frozenset[str],
) -> list[RowError]:
    """Orders, their lines and shipments, and the shops' discount conditions."""
    orders = known.orders | _keys(rows, "orders.csv", "number")
    errors = _duplicates(rows, "orders.csv", "number", lambda r: r.number)
    errors += _duplicates(
        rows, "order_lines.csv", "position", lambda r: (r.order_number, r.position)
    )
    errors += _duplicates(
        rows,
        "shipments.csv",
        "tracking_number",
        lambda r: (r.order_number, r.carrier, r.tracking_number),
    )
    errors += _duplicates(
        rows,
        "discount_conditions.csv",
        "valid_from",
        lambda r: (r.point_of_sale_code, r.category_code, r.valid_from),
    )
    errors += _overlapping_conditions(rows.get("discount_conditions.csv", []))
    for order in rows.get("orders.csv", []):
        errors += _reference("orders.csv", order, "point_of_sale_code", shops)
    for line in rows.get("order_lines.csv", []):
        errors += _reference("order_lines.csv", line, "order_number", orders)
        errors += _reference("order_lines.csv", line, "sku", skus)
    for shipment in rows.get("shipments.csv", []):
        errors += _reference("shipments.csv", shipment, "order_number", orders)
    for condition in rows.get("discount_conditions.csv", []):
        errors += _reference(
            "discount_conditions.csv", condition, "point_of_sale_code", shops
        )
        errors += _reference(
            "discount_conditions.csv", condition, "category_code", categories
        )
    return errors


def _overlapping_conditions(
    conditions: Iterable[DiscountConditionRow],
) -> list[RowError]:
    """Two conditions of one shop and scope must not be in force the same day."""
    errors = []
    ordered = sorted(
        conditions,
        key=lambda c: (c.point_of_sale_code, c.category_code or "", c.valid_from),
    )
    for previous, condition in zip(ordered, ordered[1:], strict=False):
        same_scope = (previous.point_of_sale_code, previous.category_code) == (
            condition.point_of_sale_code,
            condition.category_code,
        )
        if not same_scope or previous.valid_from == condition.valid_from:
            continue
        if previous.valid_until is None or previous.valid_until >= condition.valid_from:
            errors.append(
                RowError(
                    "discount_conditions.csv",
                    condition.line,
                    f"'{condition.valid_from}' falls in the condition on line "
                    f"{previous.line}",
                    "valid_from",
                )
            )
    return errors
