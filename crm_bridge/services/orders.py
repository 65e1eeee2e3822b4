"""iGO: a shop's orders as it may see them, divergences, and what every order
case shares (discounts: services/discounts.py; transport: services/deliveries.py).

Every function takes the shop that is asking (see ``services.identity``): an
order of another shop is exactly as absent as one that does not exist, so a
refusal never tells a shop that someone else's order number is real.

Cases are tickets of the kinds ``divergence``, ``discount``,
``delivery_damage`` and ``delivery_delay``, linked to the order, the line,
the carrier and the shop. Opening one is idempotent on the caller's key, and
a second discount case on an order (or divergence case on a line) while the
first is still being handled returns the first.
"""

import dataclasses
import datetime as dt
import enum
import logging
import unicodedata
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.models import (
    Attachment,
    Channel,
    Language,
    Order,
    OrderLine,
    OrderStatus,
    PointOfSale,
    Product,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    WarrantyStatus,
)
from crm_bridge.services.errors import CrmError
from crm_bridge.services.normalize import serial_key
from crm_bridge.services.numbering import next_ticket_number
from crm_bridge.services.tickets import find_by_idempotency_key

logger = logging.getLogger(__name__)

ACTOR = "assistant"
# Cases still being handled: a repeated request returns them.
_ACTIVE = (TicketStatus.OPEN, TicketStatus.ASSIGNED, TicketStatus.PENDING_ASSIGNMENT)

_ORDER_LOAD = (
    selectinload(Order.lines)
    .selectinload(OrderLine.product)
    .selectinload(Product.category),
    selectinload(Order.shipments),
    selectinload(Order.point_of_sale),
)


class OrderNotFoundError(CrmError):
    """No order of this shop has the number (it may be another shop's)."""

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__("no such order")


class OrderLineNotFoundError(CrmError):
    """The line the person named is not on the order, or is not one line."""

    def __init__(self, number: str, reason: str) -> None:
        self.number = number
        self.reason = reason
        super().__init__(reason)


class OrderCaseRejectedError(CrmError):
    """A case request that is well formed but impossible, with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DivergenceProblem(str, enum.Enum):
    MISSING = "missing"
    WRONG_MODEL = "wrong_model"


@dataclasses.dataclass(frozen=True)
class CaseContext:
    """Where a case request comes from: the conversation and its retry key."""

    idempotency_key: str
    conversation_id: str
    channel: Channel
    language: Language


def order_number_key(number: str) -> str:
    """The digits and letters of an order number: "#4512", "ped. 4512" → "4512"."""
    return serial_key(number)


def get_order(session: Session, shop: PointOfSale, number: str) -> Order:
    """The shop's order with this number, with lines, products and shipments.

    Raises:
        OrderNotFoundError: no such order, or it belongs to another shop.
    """
    key = order_number_key(number)
    order = session.scalar(
        select(Order)
        .where(Order.number == key, Order.point_of_sale_id == shop.id)
        .options(*_ORDER_LOAD)
    )
    if order is None:
        raise OrderNotFoundError(number)
    return order


def divergences(order: Order) -> list[OrderLine]:
    """Lines delivered with other quantities than ordered.

    Only once goods have arrived: an order on its way is not short, it is
    not there yet. A delivered order compares every line; an order partly
    delivered compares the lines that already received something.
    """
    if order.status is OrderStatus.DELIVERED:
        return [line for line in order.lines if line.missing != 0]
    if order.status is OrderStatus.CANCELLED:
        return []
    return [
        line
        for line in order.lines
        if line.quantity_delivered > 0 and line.missing != 0
    ]


def find_line(
    order: Order,
    position: int | None = None,
    product: str | None = None,
    prefer: list[OrderLine] | None = None,
) -> OrderLine:
    """The line the person means: by position, by product, or the only one.

    Args:
        order: the order, lines loaded.
        position: the line's position (1, 2…), as the order shows it.
        product: a SKU, model name or product word ("DW-CL45", "CleanLine
            45", "lavavajillas"); accents and case do not matter.
        prefer: when neither is given, the lines to choose among (for
            instance the lines with a divergence); one of them is taken.

    Raises:
        OrderLineNotFoundError: nothing matches, or more than one line does.
    """
    if position is not None:
        for line in order.lines:
            if line.position == position:
                return line
        raise OrderLineNotFoundError(
            order.number, f"order {order.number} has no line {position}"
        )
    if product:
        matches = [line for line in order.lines if _matches(line, product)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise OrderLineNotFoundError(
                order.number, f"no line of order {order.number} is {product!r}"
            )
        raise OrderLineNotFoundError(
            order.number,
            f"{product!r} matches lines "
            f"{', '.join(str(line.position) for line in matches)} "
            f"of order {order.number}",
        )
    for candidates in (order.lines, prefer or []):
        if len(candidates) == 1:
            return candidates[0]
    raise OrderLineNotFoundError(
        order.number, f"order {order.number} has several lines: say which one"
    )


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c)).split()
    )


def _matches(line: OrderLine, wanted: str) -> bool:
    product = line.product
    if serial_key(wanted) and serial_key(wanted) == serial_key(product.sku):
        return True
    text = _fold(wanted)
    names = [
        _fold(product.name),
        _fold(product.category.name_es),
        _fold(product.category.name_en),
        _fold(product.category.code.replace("_", " ")),
    ]
    return any(name and (name in text or text in name) for name in names)


def open_divergence_case(
    session: Session,
    shop: PointOfSale,
    context: CaseContext,
    number: str,
    quantity: int,
    problem: DivergenceProblem,
    position: int | None = None,
    product: str | None = None,
    description: str | None = None,
    today: dt.date | None = None,
) -> tuple[Ticket, bool]:
    """Open a divergence case for units of one line missing or of a wrong model.

    Returns:
        The ticket, and False when it already existed (same idempotency key,
        or an open divergence case on the same line).

    Raises:
        OrderNotFoundError, OrderLineNotFoundError, OrderCaseRejectedError:
        the quantity is below 1 or above the units ordered on the line.
    """

    def build() -> tuple[Ticket, bool]:
        order = get_order(session, shop, number)
        line = find_line(order, position, product, prefer=divergences(order))
        check_quantity(quantity, line)
        existing = active_case(session, TicketKind.DIVERGENCE, order, line)
        if existing is not None:
            return existing, False
        ticket = new_case(
            session,
            TicketKind.DIVERGENCE,
            context,
            order.point_of_sale_id,
            today,
            quantity=quantity,
            fault_description=description,
            **order_links(order, line),
        )
        add_event(
            ticket,
            "created",
            kind=TicketKind.DIVERGENCE.value,
            order=order.number,
            line=line.position,
            sku=line.product.sku,
            problem=problem.value,
            quantity=quantity,
            quantity_ordered=line.quantity_ordered,
            quantity_delivered=line.quantity_delivered,
        )
        return ticket, True

    return once(session, context, build)


def carrier_of(order: Order) -> str | None:
    """The carrier of the order's latest shipment, if it has left."""
    return order.shipments[-1].carrier if order.shipments else None


def _expected(order: Order) -> dt.date | None:
    dates = [s.expected_on for s in order.shipments if s.expected_on]
    return max(dates) if dates else order.expected_on


def _delivered(order: Order) -> dt.date | None:
    dates = [s.delivered_on for s in order.shipments if s.delivered_on]
    return max(dates) if dates else None


def expected_on(order: Order) -> dt.date | None:
    """When the order should arrive: its latest shipment's date, or the order's."""
    return _expected(order)


def delivered_on(order: Order) -> dt.date | None:
    """When the last shipment of the order was delivered, if it was."""
    return _delivered(order)


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def check_quantity(quantity: int, line: OrderLine) -> None:
    if quantity < 1:
        raise OrderCaseRejectedError(f"quantity {quantity} is not a number of units")
    if quantity > line.quantity_ordered:
        raise OrderCaseRejectedError(
            f"quantity {quantity} is more than the {line.quantity_ordered} units "
            f"ordered on line {line.position}"
        )


def active_case(
    session: Session, kind: TicketKind, order: Order, line: OrderLine | None
) -> Ticket | None:
    query = select(Ticket).where(
        Ticket.kind == kind,
        Ticket.order_id == order.id,
        Ticket.status.in_(_ACTIVE),
    )
    if line is not None:
        query = query.where(Ticket.order_line_id == line.id)
    return session.scalar(query.order_by(Ticket.id).limit(1))


def new_case(
    session: Session,
    kind: TicketKind,
    context: CaseContext,
    point_of_sale_id: int | None,
    today: dt.date | None = None,
    **links: Any,
) -> Ticket:
    """A new open case of the shop; ``links`` are Ticket columns (order_id…)."""
    today = today or dt.date.today()
    ticket = Ticket(
        number=next_ticket_number(session, kind, today.year),
        idempotency_key=context.idempotency_key,
        kind=kind,
        status=TicketStatus.OPEN,
        channel=context.channel,
        conversation_id=context.conversation_id,
        language=context.language,
        warranty_status=WarrantyStatus.UNKNOWN,
        point_of_sale_id=point_of_sale_id,
        **links,
    )
    session.add(ticket)
    return ticket


def order_links(order: Order, line: OrderLine | None = None) -> dict[str, Any]:
    """The columns that tie a case to an order, its line and its carrier."""
    return {
        "order_id": order.id,
        "order_line_id": line.id if line else None,
        "product_category_code": line.product.category_code if line else None,
        "carrier": carrier_of(order),
    }


def add_event(ticket: Ticket, kind: str, /, **detail: Any) -> None:
    ticket.events.append(
        TicketEvent(
            kind=kind,
            detail={k: v for k, v in detail.items() if v is not None},
            actor=ACTOR,
        )
    )


def once(session: Session, context: CaseContext, build: Any) -> tuple[Ticket, bool]:
    """Run ``build`` in one transaction, unless the key already opened a case.

    A concurrent request with the same key loses on the unique constraint and
    returns the winner's ticket.
    """
    for attempt in (1, 2):
        existing = find_by_idempotency_key(session, context.idempotency_key)
        if existing is not None:
            return existing, False
        try:
            ticket, created = build()
            if created:
                session.flush()
                _attach_photos(session, ticket)
            session.commit()
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
            logger.warning(
                "order case collided with a concurrent one, retrying conversation=%s",
                context.conversation_id,
            )
            continue
        except Exception:
            session.rollback()
            raise
        if created:
            logger.info(
                "ticket %s %s opened conversation=%s order_id=%s carrier=%s",
                ticket.number,
                ticket.kind.value,
                ticket.conversation_id,
                ticket.order_id,
                ticket.carrier,
            )
        return ticket, created
    raise AssertionError("unreachable")


def _attach_photos(session: Session, ticket: Ticket) -> None:
    """Photos the person sent before the case existed belong to it."""
    attached = session.execute(
        update(Attachment)
        .where(
            Attachment.conversation_id == ticket.conversation_id,
            Attachment.ticket_id.is_(None),
        )
        .values(ticket_id=ticket.id)
    ).rowcount
    if attached:
        add_event(ticket, "attachments_linked", count=attached)
        session.flush()
