from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import TicketKind, TicketNumberCounter
from crm_bridge.services.numbering import next_ticket_number


def test_each_prefix_and_year_counts_on_its_own(db: Session) -> None:
    numbers = [
        next_ticket_number(db, TicketKind.WARRANTY, 2026),
        next_ticket_number(db, TicketKind.WARRANTY, 2026),
        next_ticket_number(db, TicketKind.PAID_REPAIR, 2026),
        next_ticket_number(db, TicketKind.HANDOFF, 2026),
        next_ticket_number(db, TicketKind.WARRANTY, 2027),
    ]
    db.commit()

    assert numbers == [
        "WAR-2026-000001",
        "WAR-2026-000002",
        "REP-2026-000001",
        "GEN-2026-000001",
        "WAR-2027-000001",
    ]


def test_a_rolled_back_number_is_handed_out_again(db: Session) -> None:
    next_ticket_number(db, TicketKind.WARRANTY, 2026)
    db.commit()
    next_ticket_number(db, TicketKind.WARRANTY, 2026)
    db.rollback()

    assert next_ticket_number(db, TicketKind.WARRANTY, 2026) == "WAR-2026-000002"
    db.commit()
    counter = db.scalars(select(TicketNumberCounter)).one()
    assert (counter.prefix, counter.year, counter.last_value) == ("WAR", 2026, 2)
