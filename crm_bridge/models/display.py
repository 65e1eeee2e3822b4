"""iDC: display units a shop may request, its requests and their installation."""

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.models.core import Base, PointOfSale, Product, Ticket, enum_column


class DisplayProduct(Base):
    """A product of the eligible display catalogue, with the most one shop gets."""

    __tablename__ = "display_products"
    __table_args__ = (CheckConstraint("max_quantity > 0", name="max_quantity"),)

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    max_quantity: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship()


class DisplayRequestStatus(str, enum.Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    SHIPPED = "shipped"
    INSTALLED = "installed"
    CANCELLED = "cancelled"


class DisplayRequest(Base):
    """A shop's request for display units; its number is its ticket's (DSP-…)."""

    __tablename__ = "display_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    point_of_sale_id: Mapped[int] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    status: Mapped[DisplayRequestStatus] = mapped_column(
        enum_column(DisplayRequestStatus, "display_status")
    )
    installation_date: Mapped[dt.date | None] = mapped_column(Date)
    installer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    ticket: Mapped[Ticket] = relationship(foreign_keys=[ticket_id])
    point_of_sale: Mapped[PointOfSale] = relationship()
    lines: Mapped[list["DisplayRequestLine"]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="DisplayRequestLine.id",
    )


class DisplayRequestLine(Base):
    __tablename__ = "display_request_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("display_requests.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    request: Mapped[DisplayRequest] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
