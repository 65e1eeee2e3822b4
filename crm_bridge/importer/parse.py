"""Reading the CSV files of an import into typed rows, collecting row errors.

Every problem becomes a ``RowError`` pointing at the file, line and column, so
a whole file set can be checked before anything is written.
"""

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crm_bridge.importer.display import (
    parse_display_product,
    parse_display_request,
    parse_replacement_rule,
)
from crm_bridge.importer.rows import (
    CategoryRow,
    CustomerRow,
    DiscountConditionRow,
    GuidedCheckRow,
    OrderLineRow,
    OrderRow,
    PointOfSaleRow,
    ProductRow,
    RowError,
    ServiceCentreRow,
    ShipmentRow,
    ShopContactRow,
    SurveyQuestionRow,
    SurveyRow,
    UnitRow,
    WarrantyTermRow,
)
from crm_bridge.services.errors import InvalidValueError
from crm_bridge.services.normalize import (
    normalize_phone,
    normalize_postal_code,
    registration_code_hash,
    serial_key,
)

LANGUAGES = ("es", "en")
_CODE = re.compile(r"[a-z0-9_]+")
_NATURAL_CODE = re.compile(r"[A-Za-z0-9_\-]+")
_MARKET = re.compile(r"[A-Z]{2}")
_POSTAL_PREFIX = re.compile(r"\d{1,5}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ORDER_NUMBER = re.compile(r"[A-Za-z0-9]{1,20}")
_DECIMAL = re.compile(r"\d{1,8}(\.\d{1,2})?")
ORDER_STATUSES = ("placed", "shipped", "in_transit", "delivered", "cancelled")


class RowReader:
    """Typed access to one CSV row; bad values are recorded, not raised."""

    def __init__(self, file: str, line: int, values: dict[str, str]) -> None:
        self.file = file
        self.line = line
        self.values = values
        self.errors: list[RowError] = []

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.file, self.line, message, column))

    def text(
        self, column: str, *, required: bool = True, max_length: int = 200
    ) -> str | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if len(value) > max_length:
            self.error(column, f"is longer than {max_length} characters")
            return None
        return value

    def matching(
        self, column: str, pattern: re.Pattern[str], expected: str, **kwargs: Any
    ) -> str | None:
        value = self.text(column, **kwargs)
        if value is not None and not pattern.fullmatch(value):
            self.error(column, f"{value!r} is not {expected}")
            return None
        return value

    def date(self, column: str, *, required: bool = True) -> dt.date | None:
        value = self.text(column, required=required, max_length=10)
        if value is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            self.error(column, f"{value!r} is not a date (yyyy-mm-dd)")
            return None

    def integer(self, column: str, *, minimum: int = 1) -> int | None:
        value = self.text(column, max_length=9)
        if value is None:
            return None
        if not value.isdigit() or int(value) < minimum:
            self.error(column, f"{value!r} is not a whole number >= {minimum}")
            return None
        return int(value)

    def decimal(
        self, column: str, *, maximum: Decimal | None = None, required: bool = True
    ) -> Decimal | None:
        """A non-negative amount with at most 2 decimals, ``.`` as the point."""
        value = self.text(column, required=required, max_length=12)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            self.error(column, f"{value!r} is not an amount >= 0 like 12.50")
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            self.error(column, f"{value!r} is not an amount >= 0 like 12.50")
            return None
        if maximum is not None and amount > maximum:
            self.error(column, f"{value!r} is more than {maximum}")
            return None
        return amount

    def choice(self, column: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(column, required=False) or default
        if value not in choices:
            self.error(column, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def normalized(
        self, column: str, normalize: Callable[[str], str], *, required: bool = True
    ) -> str | None:
        value = self.text(column, required=required, max_length=40)
        if value is None:
            return None
        try:
            return normalize(value)
        except InvalidValueError as exc:
            self.error(column, f"{value!r} {exc.reason}")
            return None

    def listing(
        self, column: str, pattern: re.Pattern[str], expected: str
    ) -> tuple[str, ...]:
        """A ``;``-separated list, e.g. ``46;03;12``; at least one item."""
        value = self.text(column, max_length=2000) or ""
        items = tuple(item.strip() for item in value.split(";") if item.strip())
        if value and not items:
            self.error(column, "lists nothing")
        for item in items:
            if not pattern.fullmatch(item):
                self.error(column, f"{item!r} is not {expected}")
        return items


def _category(r: RowReader) -> CategoryRow | None:
    code = r.matching("code", _CODE, "a code (a-z, 0-9, _)", max_length=50)
    name_es = r.text("name_es", max_length=100)
    name_en = r.text("name_en", max_length=100)
    if r.errors:
        return None
    assert code and name_es and name_en
    return CategoryRow(r.line, code, name_es, name_en)


def _warranty_term(r: RowReader) -> WarrantyTermRow | None:
    category_code = r.text("category_code", max_length=50)
    market = r.matching("market", _MARKET, "a 2-letter market code like ES")
    purchased_from = r.date("purchased_from")
    purchased_until = r.date("purchased_until", required=False)
    months = r.integer("months")
    if purchased_from and purchased_until and purchased_until < purchased_from:
        r.error(
            "purchased_until",
            f"'{purchased_until}' is before purchased_from '{purchased_from}'",
        )
    if r.errors:
        return None
    assert category_code and market and purchased_from and months
    return WarrantyTermRow(
        r.line, category_code, market, purchased_from, purchased_until, months
    )


def _product(r: RowReader) -> ProductRow | None:
    sku = r.matching("sku", _NATURAL_CODE, "a SKU (letters, digits, - and _)")
    name = r.text("name")
    brand = r.text("brand", max_length=100)
    category_code = r.text("category_code", max_length=50)
    if r.errors:
        return None
    assert sku and name and brand and category_code
    return ProductRow(r.line, sku, name, brand, category_code)


def _point_of_sale(r: RowReader) -> PointOfSaleRow | None:
    code = r.matching("code", _NATURAL_CODE, "a code (letters, digits, - and _)")
    name = r.text("name")
    city = r.text("city", max_length=100)
    postal_code = r.normalized("postal_code", normalize_postal_code)
    phone = r.normalized("phone", normalize_phone)
    registration_code = r.text("registration_code", required=False, max_length=40)
    code_hash = None
    if registration_code is not None:
        code_hash = registration_code_hash(registration_code)
        if code_hash is None:
            r.error("registration_code", "needs at least 6 letters or digits")
    if r.errors:
        return None
    assert code and name and city and postal_code and phone
    return PointOfSaleRow(r.line, code, name, city, postal_code, phone, code_hash)


def _shop_contact(r: RowReader) -> ShopContactRow | None:
    phone = r.normalized("phone", normalize_phone)
    point_of_sale_code = r.text("point_of_sale_code", max_length=50)
    name = r.text("name", required=False)
    if r.errors:
        return None
    assert phone and point_of_sale_code
    return ShopContactRow(r.line, phone, point_of_sale_code, name)


def _service_centre(r: RowReader) -> ServiceCentreRow | None:
    code = r.matching("code", _NATURAL_CODE, "a code (letters, digits, - and _)")
    name = r.text("name")
    phone = r.normalized("phone", normalize_phone)
    email = r.matching("email", _EMAIL, "an email address", max_length=254)
    prefixes = r.listing(
        "postal_prefixes", _POSTAL_PREFIX, "a postal prefix (1-5 digits)"
    )
    categories = r.listing("categories", _CODE, "a category code")
    if r.errors:
        return None
    assert code and name and phone and email
    return ServiceCentreRow(r.line, code, name, phone, email, prefixes, categories)


def _customer(r: RowReader) -> CustomerRow | None:
    phone = r.normalized("phone", normalize_phone)
    name = r.text("name")
    email = r.matching(
        "email", _EMAIL, "an email address", required=False, max_length=254
    )
    postal_code = r.normalized("postal_code", normalize_postal_code)
    language = r.choice("language", LANGUAGES, default="es")
    if r.errors:
        return None
    assert phone and name and postal_code
    return CustomerRow(r.line, phone, name, email, postal_code, language)


def _unit(r: RowReader) -> UnitRow | None:
    serial_number = r.text("serial_number", max_length=100)
    if serial_number is not None and not serial_key(serial_number):
        r.error("serial_number", f"{serial_number!r} has no letters or digits")
    sku = r.text("sku", max_length=50)
    purchase_date = r.date("purchase_date", required=False)
    market = r.matching(
        "market", _MARKET, "a 2-letter market code like ES", required=False
    )
    point_of_sale_code = r.text("point_of_sale_code", required=False, max_length=50)
    customer_phone = r.normalized("customer_phone", normalize_phone, required=False)
    if r.errors:
        return None
    assert serial_number and sku
    return UnitRow(
        r.line,
        serial_number,
        serial_key(serial_number),
        sku,
        purchase_date,
        market or "ES",
        point_of_sale_code,
        customer_phone,
    )


def _guided_check(r: RowReader) -> GuidedCheckRow | None:
    category_code = r.text("category_code", max_length=50)
    language = r.choice("language", LANGUAGES, default="")
    position = r.integer("position")
    question = r.text("question", max_length=1000)
    advice = r.text("advice", max_length=2000)
    if r.errors:
        return None
    assert category_code and position and question and advice
    return GuidedCheckRow(r.line, category_code, language, position, question, advice)


_YES_NO = ("yes", "no")
QUESTION_KINDS = ("scale", "text")


def _survey(r: RowReader) -> SurveyRow | None:
    code = r.matching("code", _CODE, "a code (a-z, 0-9, _)", max_length=50)
    name = r.text("name")
    active = r.choice("active", _YES_NO, default="yes")
    if r.errors:
        return None
    assert code and name
    return SurveyRow(r.line, code, name, active == "yes")


def _survey_question(r: RowReader) -> SurveyQuestionRow | None:
    survey_code = r.text("survey_code", max_length=50)
    position = r.integer("position")
    kind = r.choice("kind", QUESTION_KINDS, default="")
    text_es = r.text("text_es", max_length=500)
    text_en = r.text("text_en", max_length=500)
    if r.errors:
        return None
    assert survey_code and position and text_es and text_en
    return SurveyQuestionRow(r.line, survey_code, position, kind, text_es, text_en)


def _order(r: RowReader) -> OrderRow | None:
    number = r.matching("number", _ORDER_NUMBER, "an order number (letters, digits)")
    point_of_sale_code = r.text("point_of_sale_code", max_length=50)
    ordered_on = r.date("ordered_on")
    status = r.choice("status", ORDER_STATUSES, default="")
    expected_on = r.date("expected_on", required=False)
    if ordered_on and expected_on and expected_on < ordered_on:
        r.error("expected_on", f"'{expected_on}' is before ordered_on '{ordered_on}'")
    if r.errors:
        return None
    assert number and point_of_sale_code and ordered_on
    return OrderRow(
        r.line, number.upper(), point_of_sale_code, ordered_on, status, expected_on
    )


def _order_line(r: RowReader) -> OrderLineRow | None:
    order_number = r.matching(
        "order_number", _ORDER_NUMBER, "an order number (letters, digits)"
    )
    position = r.integer("position")
    sku = r.text("sku", max_length=50)
    quantity_ordered = r.integer("quantity_ordered")
    # Empty: nothing delivered yet. More than ordered is possible, negative not.
    quantity_delivered: int | None = 0
    if r.values.get("quantity_delivered"):
        quantity_delivered = r.integer("quantity_delivered", minimum=0)
    unit_price = r.decimal("unit_price")
    discount = r.decimal("discount_percent", maximum=Decimal(100), required=False)
    if r.errors:
        return None
    assert order_number and position and sku and quantity_ordered
    assert quantity_delivered is not None and unit_price is not None
    return OrderLineRow(
        r.line,
        order_number.upper(),
        position,
        sku,
        quantity_ordered,
        quantity_delivered,
        unit_price,
        discount if discount is not None else Decimal(0),
    )


def _shipment(r: RowReader) -> ShipmentRow | None:
    order_number = r.matching(
        "order_number", _ORDER_NUMBER, "an order number (letters, digits)"
    )
    carrier = r.text("carrier", max_length=100)
    tracking_number = r.text("tracking_number", required=False, max_length=100)
    status = r.choice("status", ORDER_STATUSES, default="")
    shipped_on = r.date("shipped_on", required=False)
    expected_on = r.date("expected_on", required=False)
    delivered_on = r.date("delivered_on", required=False)
    for column, later in (("expected_on", expected_on), ("delivered_on", delivered_on)):
        if shipped_on and later and later < shipped_on:
            r.error(column, f"'{later}' is before shipped_on '{shipped_on}'")
    if status == "delivered" and delivered_on is None:
        r.error("delivered_on", "is required when the status is delivered")
    if delivered_on is not None and status != "delivered":
        r.error("status", f"{status!r} but delivered_on is set")
    if r.errors:
        return None
    assert order_number and carrier
    return ShipmentRow(
        r.line,
        order_number.upper(),
        carrier,
        tracking_number,
        status,
        shipped_on,
        expected_on,
        delivered_on,
    )


def _discount_condition(r: RowReader) -> DiscountConditionRow | None:
    point_of_sale_code = r.text("point_of_sale_code", max_length=50)
    category_code = r.text("category_code", required=False, max_length=50)
    maximum = r.decimal("max_discount_percent", maximum=Decimal(100))
    valid_from = r.date("valid_from")
    valid_until = r.date("valid_until", required=False)
    if valid_from and valid_until and valid_until < valid_from:
        r.error("valid_until", f"'{valid_until}' is before valid_from '{valid_from}'")
    if r.errors:
        return None
    assert point_of_sale_code and maximum is not None and valid_from
    return DiscountConditionRow(
        r.line, point_of_sale_code, category_code, maximum, valid_from, valid_until
    )


@dataclass(frozen=True)
class FileSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    parse_row: Callable[[RowReader], Any]


# In dependency order: a file may only refer to the files before it.
FILE_SPECS = (
    FileSpec("categories.csv", ("code", "name_es", "name_en"), (), _category),
    FileSpec(
        "warranty_terms.csv",
        ("category_code", "market", "purchased_from", "months"),
        ("purchased_until",),
        _warranty_term,
    ),
    FileSpec("products.csv", ("sku", "name", "brand", "category_code"), (), _product),
    FileSpec(
        "points_of_sale.csv",
        ("code", "name", "city", "postal_code", "phone"),
        ("registration_code",),
        _point_of_sale,
    ),
    FileSpec(
        "shop_contacts.csv", ("phone", "point_of_sale_code"), ("name",), _shop_contact
    ),
    FileSpec(
        "service_centres.csv",
        ("code", "name", "phone", "email", "postal_prefixes", "categories"),
        (),
        _service_centre,
    ),
    FileSpec(
        "customers.csv",
        ("phone", "name", "postal_code"),
        ("email", "language"),
        _customer,
    ),
    FileSpec(
        "units.csv",
        ("serial_number", "sku"),
        ("purchase_date", "market", "point_of_sale_code", "customer_phone"),
        _unit,
    ),
    FileSpec(
        "guided_checks.csv",
        ("category_code", "language", "position", "question", "advice"),
        (),
        _guided_check,
    ),
    FileSpec("surveys.csv", ("code", "name"), ("active",), _survey),
    FileSpec(
        "survey_questions.csv",
        ("survey_code", "position", "kind", "text_es", "text_en"),
        (),
        _survey_question,
    ),
    FileSpec(
        "orders.csv",
        ("number", "point_of_sale_code", "ordered_on", "status"),
        ("expected_on",),
        _order,
    ),
    FileSpec(
        "order_lines.csv",
        ("order_number", "position", "sku", "quantity_ordered", "unit_price"),
        ("quantity_delivered", "discount_percent"),
        _order_line,
    ),
    FileSpec(
        "shipments.csv",
        ("order_number", "carrier", "status"),
        ("tracking_number", "shipped_on", "expected_on", "delivered_on"),
        _shipment,
    ),
    FileSpec(
        "discount_conditions.csv",
        ("point_of_sale_code", "max_discount_percent", "valid_from"),
        ("category_code", "valid_until"),
        _discount_condition,
    ),
    FileSpec(
        "display_products.csv", ("sku", "max_quantity"), (), parse_display_product
    ),
    FileSpec(
        "display_requests.csv",
        ("number", "point_of_sale_code", "status", "lines"),
        ("installation_date", "installer"),
        parse_display_request,
    ),
    FileSpec(
        "replacement_rules.csv",
        ("note_es", "note_en"),
        ("category_code", "market", "max_days_since_purchase", "min_previous_repairs"),
        parse_replacement_rule,
    ),
)


def read_file(path: Path, spec: FileSpec) -> tuple[list[Any], list[RowError]]:
    """Parse one CSV file; returns the good rows and every error found."""
    errors: list[RowError] = []
    rows: list[Any] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for reader in _row_readers(path.name, handle, spec, errors):
                row = spec.parse_row(reader)
                errors.extend(reader.errors)
                if row is not None:
                    rows.append(row)
    except UnicodeDecodeError as exc:
        errors.append(RowError(path.name, 1, f"is not UTF-8 text ({exc.reason})"))
    except csv.Error as exc:
        errors.append(RowError(path.name, 1, f"is not valid CSV ({exc})"))
    return rows, errors


def _row_readers(
    name: str, handle: Any, spec: FileSpec, errors: list[RowError]
) -> Iterator[RowReader]:
    reader = csv.reader(handle)
    header = [column.strip() for column in next(reader, [])]
    known = set(spec.required) | set(spec.optional)
    problems = [
        f"missing column {column!r}" for column in spec.required if column not in header
    ]
    problems += [
        f"unknown column {column!r} (known: {', '.join(sorted(known))})"
        for column in header
        if column not in known
    ]
    if len(set(header)) != len(header):
        problems.append("a column appears twice")
    if problems:
        errors.extend(RowError(name, 1, problem) for problem in problems)
        return

    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            errors.append(
                RowError(
                    name,
                    reader.line_num,
                    f"has {len(values)} values for {len(header)} columns",
                )
            )
            continue
        cleaned = {
            column: value.strip() for column, value in zip(header, values, strict=True)
        }
        yield RowReader(name, reader.line_num, cleaned)
