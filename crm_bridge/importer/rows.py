"""The typed rows an import is made of, and the error pointing at a bad one."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        if self.column:
            return f"{self.file}:{self.line}: {self.column}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class CategoryRow:
    line: int
    code: str
    name_es: str
    name_en: str


@dataclass(frozen=True)
class WarrantyTermRow:
    line: int
    category_code: str
    market: str
    purchased_from: dt.date
    purchased_until: dt.date | None
    months: int


@dataclass(frozen=True)
class ProductRow:
    line: int
    sku: str
    name: str
    brand: str
    category_code: str


@dataclass(frozen=True)
class PointOfSaleRow:
    line: int
    code: str
    name: str
    city: str
    postal_code: str
    phone: str
    # SHA-256 of the registration code's normal form; the code is not kept.
    registration_code_hash: str | None = None


@dataclass(frozen=True)
class ShopContactRow:
    line: int
    phone: str
    point_of_sale_code: str
    name: str | None


@dataclass(frozen=True)
class ServiceCentreRow:
    line: int
    code: str
    name: str
    phone: str
    email: str
    postal_prefixes: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class CustomerRow:
    line: int
    phone: str
    name: str
    email: str | None
    postal_code: str
    language: str


@dataclass(frozen=True)
class UnitRow:
    line: int
    serial_number: str
    serial_key: str
    sku: str
    purchase_date: dt.date | None
    market: str
    point_of_sale_code: str | None
    customer_phone: str | None


@dataclass(frozen=True)
class GuidedCheckRow:
    line: int
    category_code: str
    language: str
    position: int
    question: str
    advice: str


@dataclass(frozen=True)
class SurveyRow:
    line: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class SurveyQuestionRow:
    line: int
    survey_code: str
    position: int
    kind: str
    text_es: str
    text_en: str


@dataclass(frozen=True)
class OrderRow:
    line: int
    number: str
    point_of_sale_code: str
    ordered_on: dt.date
    status: str
    expected_on: dt.date | None


@dataclass(frozen=True)
class OrderLineRow:
    line: int
    order_number: str
    position: int
    sku: str
    quantity_ordered: int
    # More than ordered is possible (the warehouse sent extra); negative is not.
    quantity_delivered: int
    unit_price: Decimal
    discount_percent: Decimal


@dataclass(frozen=True)
class ShipmentRow:
    line: int
    order_number: str
    carrier: str
    tracking_number: str | None
    status: str
    shipped_on: dt.date | None
    expected_on: dt.date | None
    delivered_on: dt.date | None


@dataclass(frozen=True)
class DiscountConditionRow:
    line: int
    point_of_sale_code: str
    category_code: str | None
    max_discount_percent: Decimal
    valid_from: dt.date
    valid_until: dt.date | None
