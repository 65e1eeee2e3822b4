"""Request and response bodies of the CRM API (``XCreate`` in, ``XPublic`` out)."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from crm_bridge.models import (
    Channel,
    Language,
    OrderLine,
    Ticket,
    TicketKind,
    TicketStatus,
    WarrantyStatus,
)
from crm_bridge.services.normalize import normalize_phone, normalize_postal_code
from crm_bridge.services.warranty import WarrantyDecision, WarrantyReason


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive timestamps; the server wrote them in UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(normalize_phone)]
PostalCode = Annotated[str, Field(max_length=10), AfterValidator(normalize_postal_code)]


class ProductCategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_es: str
    name_en: str


class CategoryPublic(BaseModel):
    """A product category named in the language asked for."""

    code: str
    name: str


class ProductPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    category: ProductCategoryPublic


class PointOfSalePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class CustomerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    phone: str
    postal_code: str


class UnitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    serial_number: str
    product: ProductPublic
    purchase_date: dt.date | None
    market: str
    point_of_sale: PointOfSalePublic | None
    customer: CustomerPublic | None


class WarrantyPublic(BaseModel):
    serial_number: str
    status: WarrantyStatus
    reason: WarrantyReason
    purchase_date: dt.date | None
    end_date: dt.date | None
    term_months: int | None
    category: str | None

    @classmethod
    def from_decision(
        cls, serial_number: str, decision: WarrantyDecision, category: str | None
    ) -> "WarrantyPublic":
        return cls(
            serial_number=serial_number,
            status=decision.status,
            reason=decision.reason,
            purchase_date=decision.purchase_date,
            end_date=decision.end_date,
            term_months=decision.term_months,
            category=category,
        )


class GuidedCheckPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    question: str
    advice: str


class CustomerCreate(BaseModel):
    """The person the ticket is for; matched to a known customer by phone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    phone: Phone
    postal_code: PostalCode


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: str = Field(
        min_length=8,
        max_length=200,
        description="Chosen by the caller; sending it again returns the same "
        "ticket instead of opening a second one.",
    )
    kind: TicketKind
    channel: Channel
    conversation_id: str = Field(min_length=1, max_length=200)
    language: Language
    serial_number: str | None = Field(default=None, max_length=100)
    product_category: str | None = Field(default=None, max_length=50)
    fault_description: str | None = Field(default=None, max_length=2000)
    customer: CustomerCreate | None = None
    resolved_first_contact: bool = False
    handoff_reason: Literal["requested", "not_understood"] = Field(
        default="requested",
        description="For a handoff: the person asked, or the assistant did not "
        "understand them twice in a row.",
    )
    module: Literal["warranty", "orders", "display", "general"] | None = Field(
        default=None,
        description="For a handoff: what the conversation was about, which "
        "decides the agents it is offered to.",
    )


class ServiceCentrePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    phone: str


class TicketEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    detail: dict[str, Any]
    actor: str
    created_at: UtcDatetime


class AttachmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str | None
    created_at: UtcDatetime


class TicketPublic(BaseModel):
    number: str
    kind: TicketKind
    status: TicketStatus
    resolved_first_contact: bool
    channel: Channel
    conversation_id: str
    language: Language
    serial_number: str | None
    product_category: str | None
    warranty_status: WarrantyStatus
    warranty_end_date: dt.date | None
    fault_description: str | None
    postal_code: str | None
    customer: CustomerPublic | None
    service_centre: ServiceCentrePublic | None
    verification_due: dt.date | None
    created_at: UtcDatetime
    events: list[TicketEventPublic]
    attachments: list[AttachmentPublic] = []

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "TicketPublic":
        return cls(
            number=ticket.number,
            kind=ticket.kind,
            status=ticket.status,
            resolved_first_contact=ticket.resolved_first_contact,
            channel=ticket.channel,
            conversation_id=ticket.conversation_id,
            language=ticket.language,
            serial_number=ticket.unit.serial_number if ticket.unit else None,
            product_category=ticket.product_category_code,
            warranty_status=ticket.warranty_status,
            warranty_end_date=ticket.warranty_end_date,
            fault_description=ticket.fault_description,
            postal_code=ticket.postal_code,
            customer=(
                CustomerPublic.model_validate(ticket.customer)
                if ticket.customer
                else None
            ),
            service_centre=(
                ServiceCentrePublic.model_validate(ticket.service_centre)
                if ticket.service_centre
                else None
            ),
            verification_due=ticket.verification_due,
            created_at=ticket.created_at,
            events=[TicketEventPublic.model_validate(e) for e in ticket.events],
            attachments=[
                AttachmentPublic.model_validate(attachment)
                for attachment in ticket.attachments
                if attachment.sha256 is not None
            ],
        )


# --- iGO: orders of a shop, and the cases opened on them -------------------


class ShipmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    carrier: str
    tracking_number: str | None
    status: str
    shipped_on: dt.date | None
    expected_on: dt.date | None
    delivered_on: dt.date | None


class OrderLinePublic(BaseModel):
    """One line: ``missing`` is ordered minus delivered (negative: extra)."""

    position: int
    sku: str
    product_name: str
    category: ProductCategoryPublic
    quantity_ordered: int
    quantity_delivered: int
    missing: int
    unit_price: Decimal
    discount_percent: Decimal

    @classmethod
    def from_line(cls, line: OrderLine) -> "OrderLinePublic":
        return cls(
            position=line.position,
            sku=line.product.sku,
            product_name=line.product.name,
            category=ProductCategoryPublic.model_validate(line.product.category),
            quantity_ordered=line.quantity_ordered,
            quantity_delivered=line.quantity_delivered,
            missing=line.missing,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
        )


class OrderPublic(BaseModel):
    """An order as its shop sees it: where it is and what arrived."""

    number: str
    point_of_sale: PointOfSalePublic
    status: str
    ordered_on: dt.date
    expected_on: dt.date | None = Field(
        description="When it should arrive: the latest shipment's date, or the "
        "order's own"
    )
    delivered_on: dt.date | None
    carrier: str | None
    shipments: list[ShipmentPublic]
    lines: list[OrderLinePublic]
    divergences: list[OrderLinePublic] = Field(
        description="Delivered lines whose quantity differs from the ordered one"
    )


class DiscountLinePublic(BaseModel):
    line: OrderLinePublic
    max_discount_percent: Decimal
    condition_category: str | None = Field(
        description="The category of the condition applied; null: the general one"
    )


class DiscountCheckPublic(BaseModel):
    order_number: str
    ordered_on: dt.date
    within_conditions: bool
    exceeding: list[DiscountLinePublic]
    open_case: str | None = Field(
        description="The discount case already open on the order, if any"
    )


class OrderCaseContext(BaseModel):
    """What every case request carries: the retry key, channel and language."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: str = Field(
        min_length=8,
        max_length=200,
        description="Chosen by the caller; sending it again returns the same "
        "case instead of opening a second one.",
    )
    channel: Channel
    language: Language


class DivergenceCreate(OrderCaseContext):
    line: int | None = Field(default=None, ge=1, description="Line position")
    product: str | None = Field(
        default=None, max_length=100, description="SKU, model or product word"
    )
    quantity: int = Field(description="Units missing or of the wrong model")
    problem: str = Field(pattern="^(missing|wrong_model)$")
    description: str | None = Field(default=None, max_length=2000)


class DiscountCaseCreate(OrderCaseContext):
    description: str | None = Field(default=None, max_length=2000)


class DisplayDeliveryProblemCreate(OrderCaseContext):
    problem: str = Field(pattern="^(damage|delay)$")
    description: str = Field(min_length=1, max_length=2000)


class CustomerDeliveryProblemCreate(OrderCaseContext):
    problem: str = Field(pattern="^(damage|delay)$")
    description: str = Field(min_length=1, max_length=2000)
    reference: str | None = Field(
        default=None,
        max_length=40,
        description="The number the customer gave (delivery note, order), as "
        "written; it is not looked up",
    )


class DeliveryProblemCreate(OrderCaseContext):
    problem: str = Field(pattern="^(damage|delay)$")
    description: str = Field(min_length=1, max_length=2000)
    line: int | None = Field(default=None, ge=1)
    product: str | None = Field(default=None, max_length=100)
    quantity: int | None = None


class OrderCasePublic(BaseModel):
    """A case on an order: divergence, discount, delivery damage or delay; or
    damage or delay of a display-unit request (``display_request_number``)."""

    number: str
    kind: TicketKind
    status: TicketStatus
    order_number: str | None
    display_request_number: str | None = None
    line: OrderLinePublic | None
    carrier: str | None
    quantity: int | None
    description: str | None
    channel: Channel
    conversation_id: str
    created_at: UtcDatetime
    events: list[TicketEventPublic]
    attachments: list[AttachmentPublic]
