"""Opening tickets: warranty check, customer, service centre, timeline.

``create_ticket`` is idempotent on the caller's key: a retry, even one racing the
first request, returns the ticket already opened instead of a second one.
"""

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.models import (
    Attachment,
    Conversation,
    Customer,
    ProductCategory,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    Unit,
    WarrantyStatus,
)
from crm_bridge.schemas import CustomerCreate, TicketCreate
from crm_bridge.services import (
    handoffs,
    identity,
    replacement,
    routing,
    units,
    warranty,
)
from crm_bridge.services.errors import (
    CategoryNotFoundError,
    TicketNotFoundError,
    TicketRejectedError,
    UnitNotFoundError,
)
from crm_bridge.services.normalize import (
    mask_phone,
    normalize_phone,
    normalize_postal_code,
)
from crm_bridge.services.numbering import next_ticket_number

logger = logging.getLogger(__name__)

ACTOR = "assistant"
VERIFICATION_DAYS = 5

_TICKET_LOAD = (
    selectinload(Ticket.unit),
    selectinload(Ticket.customer),
    selectinload(Ticket.service_centre),
    selectinload(Ticket.events),
    selectinload(Ticket.attachments),
)


def get_ticket(session: Session, number: str) -> Ticket:
    ticket = session.scalar(
        select(Ticket)
        .where(Ticket.number == number.strip().upper())
        .options(*_TICKET_LOAD)
    )
    if ticket is None:
        raise TicketNotFoundError(number)
    return ticket


def find_by_idempotency_key(session: Session, key: str) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(Ticket.idempotency_key == key).options(*_TICKET_LOAD)
    )


def create_ticket(
    session: Session, request: TicketCreate, today: dt.date | None = None
) -> tuple[Ticket, bool]:
    """Open the ticket ``request`` asks for and commit it.

    Args:
        session: a session with no pending work; it is committed or rolled back.
        request: the validated request.
        today: the business date (tests pin it); defaults to the local date.

    Returns:
        The ticket and True when it was created now, False when the
        idempotency key had already opened it.

    Raises:
        UnitNotFoundError: the serial number matches no unit.
        CategoryNotFoundError: the product category does not exist.
        TicketRejectedError: the request cannot make a ticket of its kind.
    """
    today = today or dt.date.today()
    try:
        return _create_once(session, request, today)
    except IntegrityError:
        # A concurrent request won a unique constraint: the same idempotency
        # key (the retry returns its ticket) or the same new customer phone
        # (the retry matches that customer).
        logger.warning(
            "ticket creation collided with a concurrent one, retrying conversation=%s",
            request.conversation_id,
        )
    return _create_once(session, request, today)


def _create_once(
    session: Session, request: TicketCreate, today: dt.date
) -> tuple[Ticket, bool]:
    existing = find_by_idempotency_key(session, request.idempotency_key)
    if existing is not None:
        logger.info(
            "ticket %s returned again for its idempotency key conversation=%s",
            existing.number,
            request.conversation_id,
        )
        return existing, False
    if request.kind == TicketKind.HANDOFF:
        waiting = session.scalar(
            select(Ticket)
            .where(
                Ticket.conversation_id == request.conversation_id,
                Ticket.kind == TicketKind.HANDOFF,
                Ticket.status == TicketStatus.OPEN,
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        )
        if waiting is not None:
            # Asking for a person again, in other words, is the same request
            # (and the same case when an agent handed the conversation back).
            logger.info(
                "handoff %s already open for conversation=%s",
                waiting.number,
                request.conversation_id,
            )
            _open_handoff(session, waiting, request)
            session.commit()
            return waiting, False

    try:
        ticket = _open_ticket(session, request, today)
        if ticket.kind is TicketKind.HANDOFF:
            _open_handoff(session, ticket, request)
        session.commit()
    except Exception:
        session.rollback()
        raise

    _log_events(ticket)
    return ticket, True


def _open_handoff(session: Session, ticket: Ticket, request: TicketCreate) -> None:
    # The web chat opens its conversation first; a ticket for a conversation
    # the channels never saw (an import, a test) has no queue to join.
    if session.get(Conversation, ticket.conversation_id) is not None:
        handoffs.open_for_ticket(
            session, ticket, request.handoff_reason, request.module or "general"
        )


def _open_ticket(session: Session, request: TicketCreate, today: dt.date) -> Ticket:
    unit, category, notes = _resolve_product(session, request)
    decision = (
        warranty.decide_unit_warranty(session, unit, today)
        if unit
        else warranty.unit_not_found_decision()
    )
    customer, differences = _resolve_customer(session, request, unit)
    replace = None
    if (
        request.kind is TicketKind.WARRANTY
        and not request.resolved_first_contact
        and unit is not None
        and decision.status is WarrantyStatus.VALID
    ):
        replace = replacement.decide_replacement(session, unit, today)
    kind = TicketKind.REPLACEMENT if replace else request.kind
    # Shop staff opening a claim for a customer: the case records the shop.
    shop = identity.speaker(session, request.conversation_id).point_of_sale

    ticket = Ticket(
        number=next_ticket_number(session, kind, today.year),
        idempotency_key=request.idempotency_key,
        kind=kind,
        status=TicketStatus.OPEN,
        resolved_first_contact=request.resolved_first_contact,
        channel=request.channel,
        conversation_id=request.conversation_id,
        language=request.language,
        unit=unit,
        customer=customer,
        product_category=category,
        fault_description=request.fault_description,
        warranty_status=decision.status,
        warranty_end_date=decision.end_date,
        point_of_sale_id=shop.id if shop else None,
    )
    _add_event(
        ticket,
        "created",
        kind=kind.value,
        channel=request.channel.value,
        warranty_status=decision.status.value,
        warranty_reason=decision.reason.value,
        **notes,
    )
    if differences:
        _add_event(ticket, "customer_details_differ", given=differences)
    if shop is not None:
        _add_event(ticket, "opened_by_shop", point_of_sale=shop.code)
    if replace is not None:
        _add_event(
            ticket,
            "replacement",
            rule=replace.rule_id,
            reason=replace.reason,
            days_since_purchase=replace.days_since_purchase,
            previous_repairs=replace.previous_repairs,
            note_es=replace.note_es,
            note_en=replace.note_en,
        )

    given = request.customer
    ticket.postal_code = given.postal_code if given else None
    if ticket.postal_code is None and customer is not None:
        ticket.postal_code = customer.postal_code

    if request.resolved_first_contact:
        ticket.status = TicketStatus.RESOLVED
        _add_event(ticket, "resolved_first_contact")
    elif kind not in (TicketKind.HANDOFF, TicketKind.REPLACEMENT):
        # A replacement goes to the warehouse, not to a service centre.
        _assign(session, ticket, ticket.postal_code, today)

    session.add(ticket)
    session.flush()
    # Photos the person sent before the case existed belong to it.
    attached = session.execute(
        update(Attachment)
        .where(
            Attachment.conversation_id == ticket.conversation_id,
            Attachment.ticket_id.is_(None),
        )
        .values(ticket_id=ticket.id)
    ).rowcount
    if attached:
        _add_event(ticket, "attachments_linked", count=attached)
        session.flush()
    return ticket


def _resolve_product(
    session: Session, request: TicketCreate
) -> tuple[Unit | None, ProductCategory | None, dict[str, str]]:
    """The unit and category of the ticket, plus notes for the timeline.

    A warranty or paid repair ticket must name a known unit or category and
    they must agree. A handoff never fails here, since a person is waiting
    for an agent: what does not resolve is kept as a note instead.
    """
    handoff = request.kind is TicketKind.HANDOFF
    notes: dict[str, str] = {}

    unit = None
    if request.serial_number:
        unit = units.find_unit(session, request.serial_number)
        if unit is None and not handoff:
            raise UnitNotFoundError(request.serial_number)
        if unit is None:
            notes["serial_number_not_found"] = request.serial_number

    asked = request.product_category
    if unit is not None:
        category = unit.product.category
        if asked and asked != category.code:
            if not handoff:
                raise TicketRejectedError(
                    f"product_category {asked!r} does not match unit "
                    f"{unit.serial_number!r}, which is a {category.code!r}"
                )
            notes["product_category_given"] = asked
        return unit, category, notes

    if asked:
        category = session.get(ProductCategory, asked)
        if category is None and not handoff:
            raise CategoryNotFoundError(asked)
        if category is None:
            notes["product_category_not_found"] = asked
        return None, category, notes

    if not handoff:
        raise TicketRejectedError(
            f"a {request.kind.value!r} ticket needs serial_number or product_category"
        )
    return None, None, notes


def _resolve_customer(
    session: Session, request: TicketCreate, unit: Unit | None
) -> tuple[Customer | None, dict[str, str]]:
    """The customer of the ticket and the given details that differ from the
    stored ones. Known customers are never updated from a conversation: an
    agent reviews the differences recorded on the timeline."""
    given = request.customer
    if given is None:
        return (unit.customer if unit else None), {}

    phone = normalize_phone(given.phone)
    customer = session.scalar(select(Customer).where(Customer.phone == phone))
    if customer is None:
        customer = Customer(
            name=given.name,
            phone=phone,
            postal_code=normalize_postal_code(given.postal_code),
            language=request.language,
        )
        session.add(customer)
        return customer, {}
    return customer, _differences(customer, given)


def _differences(customer: Customer, given: CustomerCreate) -> dict[str, str]:
    differences = {}
    if given.name.casefold() != customer.name.casefold():
        differences["name"] = given.name
    if given.postal_code != customer.postal_code:
        differences["postal_code"] = given.postal_code
    return differences


def _assign(
    session: Session, ticket: Ticket, postal_code: str | None, today: dt.date
) -> None:
    category = ticket.product_category
    if postal_code is None or category is None:
        ticket.status = TicketStatus.PENDING_ASSIGNMENT
        _add_event(
            ticket,
            "pending_assignment",
            reason="no_postal_code" if postal_code is None else "no_category",
        )
        return

    centre = routing.find_service_centre(session, postal_code, category.code)
    if centre is None:
        ticket.status = TicketStatus.PENDING_ASSIGNMENT
        _add_event(
            ticket,
            "pending_assignment",
            reason="no_service_centre_covers",
            postal_code=postal_code,
            category=category.code,
        )
        return

    ticket.status = TicketStatus.ASSIGNED
    ticket.service_centre = centre
    ticket.verification_due = today + dt.timedelta(days=VERIFICATION_DAYS)
    _add_event(
        ticket,
        "assigned",
        service_centre=centre.code,
        postal_code=postal_code,
        category=category.code,
        verification_due=ticket.verification_due.isoformat(),
    )


def _add_event(ticket: Ticket, kind: str, /, **detail: Any) -> None:
    ticket.events.append(TicketEvent(kind=kind, detail=detail, actor=ACTOR))


def _log_events(ticket: Ticket) -> None:
    for event in ticket.events:
        logger.info(
            "ticket %s %s conversation=%s customer=%s detail=%s",
            ticket.number,
            event.kind,
            ticket.conversation_id,
            mask_phone(ticket.customer.phone if ticket.customer else None),
            {k: v for k, v in event.detail.items() if k != "given"},
        )
