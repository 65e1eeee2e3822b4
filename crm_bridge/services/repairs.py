"""iGI beyond the claim: the status of repairs, as the speaker may see them.

A customer sees the cases opened for them; shop staff see the cases their shop
opened; someone unknown (a web chat) sees one case only by giving its number
and the phone number on it. A case that exists but is not the speaker's is
refused exactly like one that does not exist.
"""

import logging
import re
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from crm_bridge.models import Product, Ticket, TicketKind, Unit
from crm_bridge.services import identity
from crm_bridge.services.errors import CrmError, InvalidValueError
from crm_bridge.services.normalize import normalize_phone, serial_key

logger = logging.getLogger(__name__)

# The cases a "repair" is: the claim, a paid repair, a direct replacement,
# and a request for a person made during one.
REPAIR_KINDS = (
    TicketKind.WARRANTY,
    TicketKind.PAID_REPAIR,
    TicketKind.REPLACEMENT,
    TicketKind.HANDOFF,
)
LIST_LIMIT = 10
# "WAR-2026-000872", "war 2026 872", "RPL2026000004"; or only "872".
_FULL_NUMBER = re.compile(r"([A-Z]{3})(\d{4})(\d{1,6})")
_SEQUENCE_ONLY = re.compile(r"\d{1,6}")

_LOAD = (
    selectinload(Ticket.unit).selectinload(Unit.product).selectinload(Product.category),
    selectinload(Ticket.customer),
    selectinload(Ticket.service_centre),
    selectinload(Ticket.events),
    selectinload(Ticket.product_category),
)


class RepairNotFoundError(CrmError):
    """No case of the speaker has this number (it may be someone else's)."""

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no such case {number!r}")


class IdentityRequiredError(CrmError):
    """The speaker is unknown: a case is shown only with the phone on it."""

    def __init__(self) -> None:
        super().__init__("give the phone number on the case")


def _visible(found: identity.Speaker) -> Select[tuple[Ticket]] | None:
    query = select(Ticket).where(Ticket.kind.in_(REPAIR_KINDS)).options(*_LOAD)
    if found.point_of_sale is not None:
        return query.where(Ticket.point_of_sale_id == found.point_of_sale.id)
    if found.customer is not None:
        return query.where(Ticket.customer_id == found.customer.id)
    return None


def list_repairs(session: Session, conversation_id: str) -> Sequence[Ticket]:
    """The speaker's latest cases, newest first.

    Raises:
        IdentityRequiredError: the speaker is neither a shop nor a customer.
    """
    query = _visible(identity.speaker(session, conversation_id))
    if query is None:
        raise IdentityRequiredError()
    return session.scalars(
        query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIST_LIMIT)
    ).all()


def get_repair(
    session: Session, conversation_id: str, number: str, phone: str | None = None
) -> Ticket:
    """One case of the speaker, by its number or, for a known speaker, by the
    last digits of it ("caso 872").

    An unknown speaker must give the phone number on the case; when it
    matches, the conversation is linked to that customer (the caller
    commits), so "my repairs" works afterwards.

    Raises:
        IdentityRequiredError: an unknown speaker gave no phone number.
        RepairNotFoundError: no case of the speaker has the number; the same
            for a wrong phone, a malformed number or someone else's case.
    """
    found = identity.speaker(session, conversation_id)
    query = _visible(found)
    key = serial_key(number)
    full = _FULL_NUMBER.fullmatch(key)

    if query is None:
        if not phone:
            raise IdentityRequiredError()
        conversation = identity.conversation_for_attempts(session, conversation_id)
        identity.check_attempts(session, conversation)
        try:
            given = normalize_phone(phone)
        except InvalidValueError as exc:
            identity.record_failed_attempt(conversation)
            raise RepairNotFoundError(number) from exc
        ticket = None
        if full is not None:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.number == _canonical(full), Ticket.kind.in_(REPAIR_KINDS))
                .options(*_LOAD)
            )
        if ticket is None or ticket.customer is None or ticket.customer.phone != given:
            # Counted like a wrong shop code: case numbers run in sequence
            # and phone numbers are no secret, so guesses must stay few.
            identity.record_failed_attempt(conversation)
            logger.info(
                "case lookup refused in conversation %s: no match", conversation_id
            )
            raise RepairNotFoundError(number)
        identity.link_customer(session, conversation_id, ticket.customer)
        return ticket

    if full is not None:
        ticket = session.scalar(query.where(Ticket.number == _canonical(full)))
        if ticket is not None:
            return ticket
    elif _SEQUENCE_ONLY.fullmatch(key):
        suffix = f"-{int(key):06d}"
        matches = [
            ticket
            for ticket in session.scalars(query.where(Ticket.number.endswith(suffix)))
        ]
        if len(matches) == 1:
            return matches[0]
    raise RepairNotFoundError(number)


def _canonical(match: re.Match[str]) -> str:
    prefix, year, sequence = match.groups()
    return f"{prefix}-{year}-{int(sequence):06d}"


def replacement_event(ticket: Ticket) -> dict | None:
    """Why the unit is replaced instead of repaired, from the timeline."""
    for event in ticket.events:
        if event.kind == "replacement":
            return event.detail
    return None


def is_unit_owner(session: Session, conversation_id: str, unit: Unit) -> bool:
    """Whether the speaker is the customer the unit is registered to.

    Only then may the owner's details on file be read back to them; anyone
    else who types a serial is asked for their contact details instead.
    """
    found = identity.speaker(session, conversation_id)
    return (
        found.point_of_sale is None
        and found.customer is not None
        and unit.customer_id == found.customer.id
    )
