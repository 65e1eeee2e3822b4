"""Writing checked rows to the database, upserting by natural key.

Loading the same files twice changes nothing the second time: a row only
counts as updated when one of its values differs from the database.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.importer.display import (
    load_display_products,
    load_display_requests,
    load_replacement_rules,
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
    ServiceCentreRow,
    ShipmentRow,
    ShopContactRow,
    SurveyQuestionRow,
    SurveyRow,
    UnitRow,
    WarrantyTermRow,
)
from crm_bridge.models import (
    Base,
    Customer,
    DiscountCondition,
    GuidedCheck,
    Language,
    Order,
    OrderLine,
    OrderStatus,
    PointOfSale,
    Product,
    ProductCategory,
    ServiceCentre,
    ServiceCentreArea,
    ServiceCentreCategory,
    Shipment,
    ShopContact,
    Unit,
    WarrantyTerm,
)
from crm_bridge.models.surveys import QuestionKind, Survey, SurveyQuestion

ModelT = TypeVar("ModelT", bound=Base)


@dataclass(frozen=True)
class FileReport:
    file: str
    rows: int
    created: int
    updated: int

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.rows} rows "
            f"({self.created} created, {self.updated} updated)"
        )


class _Upserter:
    """Counts what an upsert of one file creates and changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.created = 0
        self.updated = 0

    def upsert(
        self,
        existing: dict[Hashable, ModelT],
        key: Hashable,
        model: type[ModelT],
        values: dict[str, Any],
    ) -> ModelT:
        instance = existing.get(key)
        if instance is None:
            instance = model(**values)
            self.session.add(instance)
            existing[key] = instance
            self.created += 1
            return instance
        if self.assign(instance, values):
            self.updated += 1
        return instance

    @staticmethod
    def assign(instance: Any, values: dict[str, Any]) -> bool:
        changed = False
        for name, value in values.items():
            if getattr(instance, name) != value:
                setattr(instance, name, value)
                changed = True
        return changed


def _by(session: Session, model: type[ModelT], key: Callable[[ModelT], Any]) -> Any:
    return {key(instance): instance for instance in session.scalars(select(model))}


def load_categories(session: Session, rows: list[CategoryRow], up: _Upserter) -> None:
    existing = _by(session, ProductCategory, lambda c: c.code)
    for row in rows:
        up.upsert(
            existing,
            row.code,
            ProductCategory,
            {"code": row.code, "name_es": row.name_es, "name_en": row.name_en},
        )


def load_warranty_terms(
    session: Session, rows: list[WarrantyTermRow], up: _Upserter
) -> None:
    existing = _by(
        session, WarrantyTerm, lambda t: (t.category_code, t.market, t.purchased_from)
    )
    for row in rows:
        up.upsert(
            existing,
            (row.category_code, row.market, row.purchased_from),
            WarrantyTerm,
            {
                "category_code": row.category_code,
                "market": row.market,
                "purchased_from": row.purchased_from,
                "purchased_until": row.purchased_until,
                "months": row.months,
            },
        )


def load_products(session: Session, rows: list[ProductRow], up: _Upserter) -> None:
    existing = _by(session, Product, lambda p: p.sku)
    for row in rows:
        up.upsert(
            existing,
            row.sku,
            Product,
            {
                "sku": row.sku,
                "name": row.name,
                "brand": row.brand,
                "category_code": row.category_code,
            },
        )


def load_points_of_sale(
    session: Session, rows: list[PointOfSaleRow], up: _Upserter
) -> None:
    existing = _by(session, PointOfSale, lambda p: p.code)
    for row in rows:
        values = {
            "code": row.code,
            "name": row.name,
            "city": row.city,
            "postal_code": row.postal_code,
            "phone": row.phone,
        }
        if row.registration_code_hash is not None:
            # A file without codes keeps the codes already given out.
            values["registration_code_hash"] = row.registration_code_hash
        up.upsert(existing, row.code, PointOfSale, values)


def load_shop_contacts(
    session: Session, rows: list[ShopContactRow], up: _Upserter
) -> None:
    existing = _by(session, ShopContact, lambda c: c.phone)
    shops = _by(session, PointOfSale, lambda p: p.code)
    for row in rows:
        up.upsert(
            existing,
            row.phone,
            ShopContact,
            {
                "phone": row.phone,
                "point_of_sale_id": shops[row.point_of_sale_code].id,
                "name": row.name,
            },
        )


def load_service_centres(
    session: Session, rows: list[ServiceCentreRow], up: _Upserter
) -> None:
    """Upsert centres; their areas and categories become exactly the listed ones."""
    existing = _by(session, ServiceCentre, lambda c: c.code)
    for row in rows:
        before = up.created + up.updated
        centre = up.upsert(
            existing,
            row.code,
            ServiceCentre,
            {
                "code": row.code,
                "name": row.name,
                "phone": row.phone,
                "email": row.email,
            },
        )
        coverage_changed = _sync_children(
            centre.areas,
            wanted=set(row.postal_prefixes),
            key=lambda area: area.postal_prefix,
            make=lambda prefix: ServiceCentreArea(postal_prefix=prefix),
        )
        coverage_changed |= _sync_children(
            centre.categories,
            wanted=set(row.categories),
            key=lambda link: link.category_code,
            make=lambda code: ServiceCentreCategory(category_code=code),
        )
        if coverage_changed and up.created + up.updated == before:
            up.updated += 1


def _sync_children(
    children: list[Any],
    wanted: set[str],
    key: Callable[[Any], str],
    make: Callable[[str], Any],
) -> bool:
    present = {key(child) for child in children}
    for child in [child for child in children if key(child) not in wanted]:
        children.remove(child)
    for value in sorted(wanted - present):
        children.append(make(value))
    return present != wanted


def load_customers(session: Session, rows: list[CustomerRow], up: _Upserter) -> None:
    existing = _by(session, Customer, lambda c: c.phone)
    for row in rows:
        up.upsert(
            existing,
            row.phone,
            Customer,
            {
                "phone": row.phone,
                "name": row.name,
                "email": row.email,
                "postal_code": row.postal_code,
                "language": Language(row.language),
            },
        )


def load_units(session: Session, rows: list[UnitRow], up: _Upserter) -> None:
    existing = _by(session, Unit, lambda u: u.serial_key)
    product_ids = dict(session.execute(select(Product.sku, Product.id)).tuples().all())
    shop_ids = dict(
        session.execute(select(PointOfSale.code, PointOfSale.id)).tuples().all()
    )
    customer_ids = dict(
        session.execute(select(Customer.phone, Customer.id)).tuples().all()
    )
    for row in rows:
        up.upsert(
            existing,
            row.serial_key,
            Unit,
            {
                "serial_number": row.serial_number,
                "serial_key": row.serial_key,
                "product_id": product_ids[row.sku],
                "purchase_date": row.purchase_date,
                "market": row.market,
                "point_of_sale_id": (
                    shop_ids[row.point_of_sale_code] if row.point_of_sale_code else None
                ),
                "customer_id": (
                    customer_ids[row.customer_phone] if row.customer_phone else None
                ),
            },
        )


def load_guided_checks(
    session: Session, rows: list[GuidedCheckRow], up: _Upserter
) -> None:
    existing = _by(
        session, GuidedCheck, lambda c: (c.category_code, c.language.value, c.position)
    )
    for row in rows:
        up.upsert(
            existing,
            (row.category_code, row.language, row.position),
            GuidedCheck,
            {
                "category_code": row.category_code,
                "language": Language(row.language),
                "position": row.position,
                "question": row.question,
                "advice": row.advice,
            },
        )


def load_surveys(session: Session, rows: list[SurveyRow], up: _Upserter) -> None:
    existing = _by(session, Survey, lambda s: s.code)
    for row in rows:
        up.upsert(
            existing,
            row.code,
            Survey,
            {"code": row.code, "name": row.name, "active": row.active},
        )


def load_survey_questions(
    session: Session, rows: list[SurveyQuestionRow], up: _Upserter
) -> None:
    """Upsert by survey and position: a question keeps its id (and answers)
    when its wording changes."""
    existing = _by(session, SurveyQuestion, lambda q: (q.survey_code, q.position))
    for row in rows:
        up.upsert(
            existing,
            (row.survey_code, row.position),
            SurveyQuestion,
            {
                "survey_code": row.survey_code,
                "position": row.position,
                "kind": QuestionKind(row.kind),
                "text_es": row.text_es,
                "text_en": row.text_en,
            },
        )


def load_orders(session: Session, rows: list[OrderRow], up: _Upserter) -> None:
    existing = _by(session, Order, lambda o: o.number)
    shop_ids = _ids(session, PointOfSale.code, PointOfSale.id)
    for row in rows:
        up.upsert(
            existing,
            row.number,
            Order,
            {
                "number": row.number,
                "point_of_sale_id": shop_ids[row.point_of_sale_code],
                "ordered_on": row.ordered_on,
                "status": OrderStatus(row.status),
                "expected_on": row.expected_on,
            },
        )


def load_order_lines(session: Session, rows: list[OrderLineRow], up: _Upserter) -> None:
    existing = _by(session, OrderLine, lambda line: (line.order_id, line.position))
    order_ids = _ids(session, Order.number, Order.id)
    product_ids = _ids(session, Product.sku, Product.id)
    for row in rows:
        order_id = order_ids[row.order_number]
        up.upsert(
            existing,
            (order_id, row.position),
            OrderLine,
            {
                "order_id": order_id,
                "position": row.position,
                "product_id": product_ids[row.sku],
                "quantity_ordered": row.quantity_ordered,
                "quantity_delivered": row.quantity_delivered,
                "unit_price": row.unit_price,
                "discount_percent": row.discount_percent,
            },
        )


def load_shipments(session: Session, rows: list[ShipmentRow], up: _Upserter) -> None:
    existing = _by(
        session, Shipment, lambda s: (s.order_id, s.carrier, s.tracking_number)
    )
    order_ids = _ids(session, Order.number, Order.id)
    for row in rows:
        order_id = order_ids[row.order_number]
        up.upsert(
            existing,
            (order_id, row.carrier, row.tracking_number),
            Shipment,
            {
                "order_id": order_id,
                "carrier": row.carrier,
                "tracking_number": row.tracking_number,
                "status": OrderStatus(row.status),
                "shipped_on": row.shipped_on,
                "expected_on": row.expected_on,
                "delivered_on": row.delivered_on,
            },
        )


def load_discount_conditions(
    session: Session, rows: list[DiscountConditionRow], up: _Upserter
) -> None:
    existing = _by(
        session,
        DiscountCondition,
        lambda c: (c.point_of_sale_id, c.category_code, c.valid_from),
    )
    shop_ids = _ids(session, PointOfSale.code, PointOfSale.id)
    for row in rows:
        shop_id = shop_ids[row.point_of_sale_code]
        up.upsert(
            existing,
            (shop_id, row.category_code, row.valid_from),
            DiscountCondition,
            {
                "point_of_sale_id": shop_id,
                "category_code": row.category_code,
                "max_discount_percent": row.max_discount_percent,
                "valid_from": row.valid_from,
                "valid_until": row.valid_until,
            },
        )


def _ids(session: Session, key: Any, id_column: Any) -> dict[Any, int]:
    return dict(session.execute(select(key, id_column)).tuples().all())


LOADERS: dict[str, Callable[[Session, Any, _Upserter], None]] = {
    "categories.csv": load_categories,
    "warranty_terms.csv": load_warranty_terms,
    "products.csv": load_products,
    "points_of_sale.csv": load_points_of_sale,
    "service_centres.csv": load_service_centres,
    "customers.csv": load_customers,
    "units.csv": load_units,
    "shop_contacts.csv": load_shop_contacts,
    "guided_checks.csv": load_guided_checks,
    "surveys.csv": load_surveys,
    "survey_questions.csv": load_survey_questions,
    "orders.csv": load_orders,
    "order_lines.csv": load_order_lines,
    "shipments.csv": load_shipments,
    "discount_conditions.csv": load_discount_conditions,
    "display_products.csv": load_display_products,
    "display_requests.csv": load_display_requests,
    "replacement_rules.csv": load_replacement_rules,
}


def load_file(session: Session, file: str, rows: list[Any]) -> FileReport:
    """Upsert the rows of one file and flush them, so later files see them."""
    upserter = _Upserter(session)
    LOADERS[file](session, rows, upserter)
    session.flush()
    return FileReport(file, len(rows), upserter.created, upserter.updated)
