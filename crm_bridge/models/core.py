"""The CRM core: catalogue, shops, customers, service centres, units, tickets
and the channels' conversations.

Portable between SQLite (local use, tests) and PostgreSQL (production). Business
rules that vary by product or market (warranty terms, guided checks, the area a
service centre covers) are rows here, not code.
"""

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Attachment",
    "Base",
    "Channel",
    "ChannelContact",
    "Conversation",
    "ConversationMessage",
    "Customer",
    "GuidedCheck",
    "Language",
    "PointOfSale",
    "Product",
    "ProductCategory",
    "ReplacementRule",
    "ServiceCentre",
    "ServiceCentreArea",
    "ServiceCentreCategory",
    "ShopContact",
    "Ticket",
    "TicketEvent",
    "TicketKind",
    "TicketNumberCounter",
    "TicketStatus",
    "Unit",
    "WarrantyStatus",
    "WarrantyTerm",
    "enum_column",
]


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Language(str, enum.Enum):
    ES = "es"
    EN = "en"


class TicketKind(str, enum.Enum):
    WARRANTY = "warranty"
    PAID_REPAIR = "paid_repair"
    HANDOFF = "handoff"
    DIVERGENCE = "divergence"
    DISCOUNT = "discount"
    DELIVERY_DAMAGE = "delivery_damage"
    DELIVERY_DELAY = "delivery_delay"
    DISPLAY_REQUEST = "display_request"
    REPLACEMENT = "replacement"


class TicketStatus(str, enum.Enum):
    OPEN = "open"
    RESOLVED = "resolved"
    ASSIGNED = "assigned"
    PENDING_ASSIGNMENT = "pending_assignment"
    CLOSED = "closed"


class Channel(str, enum.Enum):
    WEB = "web"
    SMS = "sms"
    VOICE = "voice"
    TELEGRAM = "telegram"


class WarrantyStatus(str, enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enum: a short string column with a CHECK on the values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


_json = JSON().with_variant(JSONB(), "postgresql")


class ProductCategory(Base):
    __tablename__ = "product_categories"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name_es: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    def name(self, language: str) -> str:
        return self.name_en if language == Language.EN.value else self.name_es


class WarrantyTerm(Base):
    """The warranty length for purchases of a category in a market and period.

    ``purchased_until`` is the last purchase date the term applies to
    (inclusive); None means it still applies to new purchases.
    """

    __tablename__ = "warranty_terms"
    __table_args__ = (
        UniqueConstraint("category_code", "market", "purchased_from"),
        CheckConstraint("months > 0", name="months_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(
        ForeignKey("product_categories.code"), index=True
    )
    market: Mapped[str] = mapped_column(String(2))
    purchased_from: Mapped[dt.date] = mapped_column(Date)
    purchased_until: Mapped[dt.date | None] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)


class ReplacementRule(Base):
    """When a unit under warranty is replaced instead of repaired.

    A claim matches when every condition set on the rule holds: the category
    (None: any), the unit bought at most ``max_days_since_purchase`` days ago,
    at least ``min_previous_repairs`` warranty cases on the unit already.
    """

    __tablename__ = "replacement_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("product_categories.code"), index=True
    )
    market: Mapped[str] = mapped_column(String(2), default="ES", server_default="ES")
    max_days_since_purchase: Mapped[int | None] = mapped_column(Integer)
    min_previous_repairs: Mapped[int | None] = mapped_column(Integer)
    note_es: Mapped[str] = mapped_column(Text, default="")
    note_en: Mapped[str] = mapped_column(Text, default="")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(100))
    category_code: Mapped[str] = mapped_column(
        ForeignKey("product_categories.code"), index=True
    )

    category: Mapped[ProductCategory] = relationship()


class PointOfSale(Base):
    """A shop (PV) of the network.

    Its staff prove who they are with the shop's registration code, kept only
    as a SHA-256 of its normal form (see services/identity.py).
    """

    __tablename__ = "points_of_sale"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(5))
    phone: Mapped[str] = mapped_column(String(20))
    registration_code_hash: Mapped[str | None] = mapped_column(String(64))


class ShopContact(Base):
    """A phone number of a shop's staff, known in advance: recognised at once."""

    __tablename__ = "shop_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    point_of_sale_id: Mapped[int] = mapped_column(
        ForeignKey("points_of_sale.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))

    point_of_sale: Mapped[PointOfSale] = relationship()


class Customer(Base):
    """An end customer, identified by the E.164 form of their phone number."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    postal_code: Mapped[str] = mapped_column(String(5))
    language: Mapped[Language] = mapped_column(
        enum_column(Language, "language"), default=Language.ES
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ServiceCentre(Base):
    """An authorised technical service centre (CAT)."""

    __tablename__ = "service_centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))

    areas: Mapped[list["ServiceCentreArea"]] = relationship(
        back_populates="service_centre",
        cascade="all, delete-orphan",
        order_by="ServiceCentreArea.postal_prefix",
    )
    categories: Mapped[list["ServiceCentreCategory"]] = relationship(
        back_populates="service_centre",
        cascade="all, delete-orphan",
        order_by="ServiceCentreCategory.category_code",
    )


class ServiceCentreArea(Base):
    """A postal code prefix ("46", "460") a service centre covers."""

    __tablename__ = "service_centre_areas"
    __table_args__ = (UniqueConstraint("service_centre_id", "postal_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_centre_id: Mapped[int] = mapped_column(
        ForeignKey("service_centres.id", ondelete="CASCADE")
    )
    postal_prefix: Mapped[str] = mapped_column(String(5), index=True)

    service_centre: Mapped[ServiceCentre] = relationship(back_populates="areas")


class ServiceCentreCategory(Base):
    """A product category a service centre repairs."""

    __tablename__ = "service_centre_categories"

    service_centre_id: Mapped[int] = mapped_column(
        ForeignKey("service_centres.id", ondelete="CASCADE"), primary_key=True
    )
    category_code: Mapped[str] = mapped_column(
        ForeignKey("product_categories.code"), primary_key=True
    )

    service_centre: Mapped[ServiceCentre] = relationship(back_populates="categories")


class Unit(Base):
    """One physical product, known by its serial number."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(100))
    serial_key: Mapped[str] = mapped_column(String(100), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    purchase_date: Mapped[dt.date | None] = mapped_column(Date)
    market: Mapped[str] = mapped_column(String(2), default="ES", server_default="ES")
    point_of_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), index=True
    )

    product: Mapped[Product] = relationship()
    point_of_sale: Mapped[PointOfSale | None] = relationship()
    customer: Mapped[Customer | None] = relationship()


class GuidedCheck(Base):
    """A first-level troubleshooting step: a yes/no question and its advice."""

    __tablename__ = "guided_checks"
    __table_args__ = (UniqueConstraint("category_code", "language", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("product_categories.code"))
    position: Mapped[int] = mapped_column(Integer)
    language: Mapped[Language] = mapped_column(enum_column(Language, "language"))
    question: Mapped[str] = mapped_column(Text)
    advice: Mapped[str] = mapped_column(Text)


class TicketNumberCounter(Base):
    """The last sequence value handed out per number prefix and year.

    Rows only ever grow, so a number is never issued twice, even when the
    ticket that carried it is deleted.
    """

    __tablename__ = "ticket_number_counters"

    prefix: Mapped[str] = mapped_column(String(3), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    """One CRM case: a warranty intervention, a paid repair or a handoff."""

    __tablename__ = "tickets"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[TicketKind] = mapped_column(enum_column(TicketKind, "kind"))
    status: Mapped[TicketStatus] = mapped_column(enum_column(TicketStatus, "status"))
    resolved_first_contact: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    language: Mapped[Language] = mapped_column(enum_column(Language, "language"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), index=True
    )
    product_category_code: Mapped[str | None] = mapped_column(
        ForeignKey("product_categories.code")
    )
    fault_description: Mapped[str | None] = mapped_column(Text)
    # Where the unit is, which decides the service centre: the postcode the
    # person gave for this case, or the customer's own.
    postal_code: Mapped[str | None] = mapped_column(String(5))
    warranty_status: Mapped[WarrantyStatus] = mapped_column(
        enum_column(WarrantyStatus, "warranty_status")
    )
    warranty_end_date: Mapped[dt.date | None] = mapped_column(Date)
    service_centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_centres.id"), index=True
    )
    verification_due: Mapped[dt.date | None] = mapped_column(Date)
    # The shop that opened the case or that it concerns (orders, display units,
    # a claim made by shop staff on behalf of a customer).
    point_of_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    display_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("display_requests.id", use_alter=True), index=True
    )
    carrier: Mapped[str | None] = mapped_column(String(100))
    # Units concerned: missing or wrong units of a divergence, damaged ones.
    quantity: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    unit: Mapped[Unit | None] = relationship()
    point_of_sale: Mapped[PointOfSale | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    product_category: Mapped[ProductCategory | None] = relationship()
    service_centre: Mapped[ServiceCentre | None] = relationship()
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TicketEvent.id",
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        viewonly=True, order_by="Attachment.id"
    )


class TicketEvent(Base):
    """One step of a ticket's timeline."""

    __tablename__ = "ticket_events"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(_json, default=dict)
    actor: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class ChannelContact(Base):
    """Who writes or calls on a channel: a phone number or a Telegram user.

    Linked to the CRM customer with the same phone number when there is one;
    otherwise the contact stands alone until a case creates the customer.
    ``opted_out`` (SMS STOP) and ``unreachable`` (a Telegram user who blocked
    the bot) stop every outbound message to it.
    """

    __tablename__ = "channel_contacts"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    # E.164 phone number for SMS and voice, the user id for Telegram.
    address: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(2))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), index=True
    )
    # Set once the person proved they work at this shop: later conversations
    # from the same phone or Telegram user are the shop's at once.
    point_of_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    opted_out: Mapped[bool] = mapped_column(default=False)
    unreachable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    customer: Mapped[Customer | None] = relationship()


class Conversation(Base):
    """A conversation with the assistant on one channel (the channels' log)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    # Where replies go: the phone number, the Telegram chat id; None for web.
    address: Mapped[str | None] = mapped_column(String(100))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_contacts.id"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(2))
    # Who proved who they are in this conversation (web chat has no phone):
    # a shop by its registration code, a customer by the details of a case.
    point_of_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_of_sale.id"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), index=True
    )
    # Wrong registration codes given in this conversation (a limit stops
    # guessing).
    identity_attempts: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )
    # When the latest wrong code or case detail was given: attempts older
    # than an hour are forgotten (services/identity.py).
    identity_attempted_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), index=True
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    contact: Mapped[ChannelContact | None] = relationship()


class ConversationMessage(Base):
    """One message in or out of a conversation.

    An inbound message carries the channel's own id (``platform_message_id``),
    unique per conversation, so a redelivery is recognised; an outbound reply
    points at the message it answers (``reply_to_id``).
    """

    __tablename__ = "conversation_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "platform_message_id"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(_json)
    status: Mapped[str] = mapped_column(String(20))
    # What the message is beyond text: "text", "photo", "contact", "command",
    # "unsupported" (a sticker, a voice note…), "edited", "callback".
    kind: Mapped[str] = mapped_column(String(20), default="text", server_default="text")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(500))
    # The agent who wrote an outbound message; None for the assistant's.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Attachment(Base):
    """A file a person sent (an MMS image, a Telegram photo).

    Kept in the database so every process sees it; linked to the message that
    carried it and, once there is one, to the case of that conversation.
    """

    __tablename__ = "attachments"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="SET NULL"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The platform's reference: the media URL, the Telegram file id. The row
    # is written when the message arrives, the content once it is fetched.
    source: Mapped[str] = mapped_column(String(500))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
