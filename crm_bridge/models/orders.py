"""iGO: a shop's orders, their lines and shipments, and the agreed discounts."""

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.models.core import Base, PointOfSale, Product, enum_column


class OrderStatus(str, enum.Enum):
    PLACED = "placed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Order(Base):
    """An order a shop placed with the manufacturer, known by its number."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    point_of_sale_id: Mapped[int] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    ordered_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "order_status")
    )
    expected_on: Mapped[dt.date | None] = mapped_column(Date)

    point_of_sale: Mapped[PointOfSale] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.position",
    )
    shipments: Mapped[list["Shipment"]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="Shipment.id",
    )


class OrderLine(Base):
    """One product of an order: how many were ordered and delivered, at what price."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        CheckConstraint("quantity_ordered > 0", name="quantity_ordered_positive"),
        CheckConstraint("quantity_delivered >= 0", name="quantity_delivered"),
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name="discount"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_delivered: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    discount_percent: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), default=Decimal("0")
    )

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def missing(self) -> int:
        """Units ordered but not delivered (negative: more were delivered)."""
        return self.quantity_ordered - self.quantity_delivered


class Shipment(Base):
    """A carrier's transport of (part of) an order."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    shipped_on: Mapped[dt.date | None] = mapped_column(Date)
    expected_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "shipment_status")
    )

    order: Mapped[Order] = relationship(back_populates="shipments")


class DiscountCondition(Base):
    """The most discount a shop may get, on one category or on everything.

    ``category_code`` None covers every category; a condition on the line's
    own category wins over it. ``valid_until`` None: still in force.
    """

    __tablename__ = "discount_conditions"
    __table_args__ = (
        UniqueConstraint("point_of_sale_id", "category_code", "valid_from"),
        CheckConstraint(
            "max_discount_percent >= 0 AND max_discount_percent <= 100",
            name="max_discount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    point_of_sale_id: Mapped[int] = mapped_column(
        ForeignKey("points_of_sale.id", ondelete="CASCADE"), index=True
    )
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("product_categories.code")
    )
    max_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
