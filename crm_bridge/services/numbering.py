"""Human-readable ticket numbers such as ``WAR-2026-000001``.

Numbers come from a counter row per prefix and year, incremented inside the
caller's transaction: a rolled-back ticket gives its value back, a committed
one keeps it forever, even if the ticket is deleted later.
"""

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.models import TicketKind, TicketNumberCounter

PREFIXES = {
    TicketKind.WARRANTY: "WAR",
    TicketKind.PAID_REPAIR: "REP",
    TicketKind.HANDOFF: "GEN",
    TicketKind.DIVERGENCE: "ORD",
    TicketKind.DISCOUNT: "ORD",
    TicketKind.DELIVERY_DAMAGE: "DMG",
    TicketKind.DELIVERY_DELAY: "DLY",
    TicketKind.DISPLAY_REQUEST: "DSP",
    TicketKind.REPLACEMENT: "RPL",
}


def _increment(session: Session, prefix: str, year: int) -> int | None:
    return session.scalar(
        update(TicketNumberCounter)
        .where(TicketNumberCounter.prefix == prefix, TicketNumberCounter.year == year)
        .values(last_value=TicketNumberCounter.last_value + 1)
        .returning(TicketNumberCounter.last_value)
    )


def next_ticket_number(session: Session, kind: TicketKind, year: int) -> str:
    """Take the next number for ``kind`` in ``year``.

    The UPDATE locks the counter row until the caller's transaction ends, so
    concurrent tickets queue here instead of sharing a value.
    """
    prefix = PREFIXES[kind]
    value = _increment(session, prefix, year)
    if value is None:
        try:
            with session.begin_nested():
                session.execute(
                    insert(TicketNumberCounter).values(
                        prefix=prefix, year=year, last_value=1
                    )
                )
            value = 1
        except IntegrityError:
            # Another transaction created the row first; it is ours to bump now.
            value = _increment(session, prefix, year)
    if value is None:
        raise RuntimeError(f"ticket counter {prefix}-{year} could not be incremented")
    return f"{prefix}-{year}-{value:06d}"
