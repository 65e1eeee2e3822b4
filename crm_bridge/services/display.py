"""iDC: the display units a shop may request, its requests and their status.

Every function takes the shop that is asking (see ``services.identity``): a
request of another shop is exactly as absent as one that does not exist, so a
refusal never tells a shop that someone else's request number is real.

A request is a ticket of kind ``display_request`` (number ``DSP-YYYY-NNNNNN``)
for the warehouse: it goes to no service centre. Creating one is idempotent on
the caller's key.
"""

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.models import (
    Channel,
    DisplayProduct,
    DisplayRequest,
    DisplayRequestLine,
    DisplayRequestStatus,
    Language,
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
MAX_LINES = 20
# "DSP-2026-000003", "dsp 2026 3", "DSP2026000003".
_NUMBER = re.compile(r"DSP\D*(\d{4})\D*(\d{1,6})")

_REQUEST_LOAD = (
    selectinload(DisplayRequest.lines)
    .selectinload(DisplayRequestLine.product)
    .selectinload(Product.category),
    selectinload(DisplayRequest.ticket),
)


class DisplayRequestNotFoundError(CrmError):
    """No request of this shop has the number (it may be another shop's)."""

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no such display request {number!r}")


class DisplayRequestRejectedError(CrmError):
    """A request naming a product outside the catalogue or a bad quantity."""

    def __init__(self, reason: str, sku: str | None = None) -> None:
        self.reason = reason
        self.sku = sku
        super().__init__(reason)


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int


def request_number_key(number: str) -> str | None:
    """The canonical ``DSP-YYYY-NNNNNN`` of what a person typed, or None."""
    match = _NUMBER.fullmatch(serial_key(number))
    if match is None:
        return None
    year, sequence = match.groups()
    return f"DSP-{year}-{int(sequence):06d}"


def list_catalogue(session: Session) -> Sequence[DisplayProduct]:
    """The eligible display products, by category and name."""
    return session.scalars(
        select(DisplayProduct)
        .join(DisplayProduct.product)
        .options(selectinload(DisplayProduct.product).selectinload(Product.category))
        .order_by(Product.category_code, Product.name)
    ).all()


def find_eligible(session: Session, sku: str) -> DisplayProduct | None:
    """The display product with this SKU (case and dashes do not matter)."""
    wanted = serial_key(sku)
    for item in list_catalogue(session):
        if serial_key(item.product.sku) == wanted:
            return item
    return None


def list_requests(session: Session, shop: PointOfSale) -> Sequence[DisplayRequest]:
    """The shop's requests, newest first."""
    return session.scalars(
        select(DisplayRequest)
        .where(DisplayRequest.point_of_sale_id == shop.id)
        .join(DisplayRequest.ticket)
        .options(*_REQUEST_LOAD)
        .order_by(Ticket.number.desc())
    ).all()


def get_request(session: Session, shop: PointOfSale, number: str) -> DisplayRequest:
    """The shop's request with this number (``DSP-2026-000003``, ``dsp 2026 3``).

    Raises:
        DisplayRequestNotFoundError: no request of this shop has the number,
            whether it does not exist or belongs to another shop.
    """
    key = request_number_key(number)
    request = None
    if key is not None:
        request = session.scalar(
            select(DisplayRequest)
            .join(DisplayRequest.ticket)
            .where(Ticket.number == key, DisplayRequest.point_of_sale_id == shop.id)
            .options(*_REQUEST_LOAD)
        )
    if request is None:
        raise DisplayRequestNotFoundError(number)
    return request


def create_request(
    session: Session,
    shop: PointOfSale,
    lines: Sequence[RequestedLine],
    *,
    idempotency_key: str,
    conversation_id: str,
    channel: Channel,
    language: Language,
    today: dt.date | None = None,
) -> tuple[DisplayRequest, bool]:
    """Open a display request of ``shop`` for the warehouse and commit it.

    Returns:
        The request and True when it was created now, False when the
        idempotency key had already opened it.

    Raises:
        DisplayRequestRejectedError: no lines, too many, a product that is not
            in the display catalogue, the same product twice, or a quantity
            outside 1..max_quantity.
    """
    today = today or dt.date.today()
    try:
        return _create_once(
            session,
            shop,
            lines,
            idempotency_key,
            conversation_id,
            channel,
            language,
            today,
        )
    except IntegrityError:
        # A concurrent retry with the same key won: return its request.
        logger.warning(
            "display request collided with a concurrent one conversation=%s",
            conversation_id,
        )
    return _create_once(
        session,
        shop,
        lines,
        idempotency_key,
        conversation_id,
        channel,
        language,
        today,
    )


def _create_once(
    session: Session,
    shop: PointOfSale,
    lines: Sequence[RequestedLine],
    idempotency_key: str,
    conversation_id: str,
    channel: Channel,
    language: Language,
    today: dt.date,
) -> tuple[DisplayRequest, bool]:
    existing = find_by_idempotency_key(session, idempotency_key)
    if existing is not None:
        request = session.scalar(
            select(DisplayRequest)
            .where(DisplayRequest.ticket_id == existing.id)
            .options(*_REQUEST_LOAD)
        )
        if request is None or request.point_of_sale_id != shop.id:
            raise DisplayRequestRejectedError(
                "idempotency_key was used for another case"
            )
        return request, False

    chosen = _checked_lines(session, lines)
    try:
        ticket = Ticket(
            number=next_ticket_number(session, TicketKind.DISPLAY_REQUEST, today.year),
            idempotency_key=idempotency_key,
            kind=TicketKind.DISPLAY_REQUEST,
            status=TicketStatus.OPEN,
            channel=channel,
            conversation_id=conversation_id,
            language=language,
            warranty_status=WarrantyStatus.UNKNOWN,
            point_of_sale_id=shop.id,
            quantity=sum(quantity for _, quantity in chosen),
        )
        request = DisplayRequest(
            ticket=ticket,
            point_of_sale_id=shop.id,
            status=DisplayRequestStatus.REQUESTED,
            lines=[
                DisplayRequestLine(product_id=item.product_id, quantity=quantity)
                for item, quantity in chosen
            ],
        )
        ticket.events.append(
            TicketEvent(
                kind="created",
                actor=ACTOR,
                detail={
                    "kind": TicketKind.DISPLAY_REQUEST.value,
                    "channel": channel.value,
                    "point_of_sale": shop.code,
                    "lines": {item.product.sku: quantity for item, quantity in chosen},
                    "routed_to": "warehouse",
                },
            )
        )
        session.add(request)
        session.flush()
        ticket.display_request_id = request.id
        session.commit()
    except Exception:
        session.rollback()
        raise

    logger.info(
        "display request %s opened for shop %s conversation=%s lines=%d",
        ticket.number,
        shop.code,
        conversation_id,
        len(chosen),
    )
    return get_request(session, shop, ticket.number), True


def _checked_lines(
    session: Session, lines: Sequence[RequestedLine]
) -> list[tuple[DisplayProduct, int]]:
    if not lines:
        raise DisplayRequestRejectedError("a request needs at least one product")
    if len(lines) > MAX_LINES:
        raise DisplayRequestRejectedError(f"a request has at most {MAX_LINES} products")
    chosen: list[tuple[DisplayProduct, int]] = []
    seen: set[int] = set()
    for line in lines:
        item = find_eligible(session, line.sku)
        if item is None:
            raise DisplayRequestRejectedError(
                f"{line.sku!r} is not in the display catalogue", line.sku
            )
        if item.product_id in seen:
            raise DisplayRequestRejectedError(
                f"{item.product.sku!r} is listed twice", item.product.sku
            )
        if not 1 <= line.quantity <= item.max_quantity:
            raise DisplayRequestRejectedError(
                f"quantity of {item.product.sku!r} must be between 1 and "
                f"{item.max_quantity}",
                item.product.sku,
            )
        seen.add(item.product_id)
        chosen.append((item, line.quantity))
    return chosen
