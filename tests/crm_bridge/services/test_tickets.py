import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.models import (
    Attachment,
    Conversation,
    Customer,
    Ticket,
    TicketKind,
    TicketStatus,
    WarrantyStatus,
)
from crm_bridge.schemas import TicketCreate
from crm_bridge.services import tickets, units
from crm_bridge.services.errors import (
    CategoryNotFoundError,
    TicketRejectedError,
    UnitNotFoundError,
)
from tests.crm_bridge.factories import (
    make_category,
    make_customer,
    make_product,
    make_service_centre,
    make_unit,
    make_warranty_term,
    ticket_request,
)

TODAY = dt.date(2026, 5, 4)


def _create(session: Session, **values: Any) -> tuple[Ticket, bool]:
    request = TicketCreate(**ticket_request(**values))
    return tickets.create_ticket(session, request, today=TODAY)


@pytest.fixture
def washing_machine(db: Session) -> Any:
    category = make_category(db, "washing_machine")
    make_warranty_term(db, category, months=36)
    make_service_centre(db, ("46",), ("washing_machine",), code="CAT-LEV")
    owner = make_customer(db, name="Lucía Martín", phone="+34612345222")
    return make_unit(
        db,
        make_product(db, category),
        serial_number="WM 4821 7730",
        purchase_date=dt.date(2026, 3, 14),
        customer=owner,
    )


def test_a_warranty_ticket_for_a_known_unit_goes_to_the_centre(
    db: Session, washing_machine: Any
) -> None:
    ticket, created = _create(
        db, serial_number="wm-4821-7730", product_category=None, customer=None
    )

    assert created
    assert ticket.number == "WAR-2026-000001"
    assert ticket.status is TicketStatus.ASSIGNED
    assert ticket.service_centre.code == "CAT-LEV"
    assert ticket.customer.name == "Lucía Martín"
    assert ticket.warranty_status is WarrantyStatus.VALID
    assert ticket.warranty_end_date == dt.date(2029, 3, 14)
    assert ticket.verification_due == TODAY + dt.timedelta(days=5)
    assert [event.kind for event in ticket.events] == ["created", "assigned"]


def test_a_known_customer_is_matched_by_phone_and_never_changed(
    db: Session, washing_machine: Any
) -> None:
    ticket, _ = _create(
        db,
        customer={"name": "Lucia M.", "phone": "612 34 52 22", "postal_code": "46001"},
    )

    db.expire_all()
    stored = db.scalars(select(Customer)).one()
    assert ticket.customer_id == stored.id
    assert stored.name == "Lucía Martín"
    differ = [e for e in ticket.events if e.kind == "customer_details_differ"]
    assert differ[0].detail == {"given": {"name": "Lucia M."}}


def test_a_new_customer_is_registered_with_the_phone_in_e164(db: Session) -> None:
    make_category(db, "washing_machine")

    ticket, _ = _create(
        db,
        customer={"name": "Ana Gil", "phone": "699 11 22 33", "postal_code": "46020"},
    )

    assert ticket.customer.phone == "+34699112233"
    assert ticket.customer.language == "es"


def test_an_unknown_serial_refuses_a_warranty_ticket(db: Session) -> None:
    make_category(db, "washing_machine")

    with pytest.raises(UnitNotFoundError, match="unit 'XX-1' not found"):
        _create(db, serial_number="XX-1")

    assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_category_that_contradicts_the_unit_is_refused(
    db: Session, washing_machine: Any
) -> None:
    make_category(db, "boiler", name_es="Caldera", name_en="Boiler")

    with pytest.raises(TicketRejectedError, match="'boiler' does not match unit"):
        _create(db, serial_number="WM 4821 7730", product_category="boiler")


def test_a_repair_without_unit_or_category_is_refused(db: Session) -> None:
    with pytest.raises(TicketRejectedError, match="needs serial_number or"):
        _create(db, kind="paid_repair", product_category=None)
    with pytest.raises(CategoryNotFoundError, match="'tv'"):
        _create(db, product_category="tv")


def test_a_handoff_opens_even_with_an_unknown_serial(db: Session) -> None:
    ticket, _ = _create(
        db, kind="handoff", serial_number="nope-1", product_category="tv"
    )

    assert ticket.kind is TicketKind.HANDOFF
    assert ticket.number.startswith("GEN-2026-")
    assert ticket.status is TicketStatus.OPEN
    assert ticket.service_centre is None
    assert ticket.events[0].detail["serial_number_not_found"] == "nope-1"
    assert ticket.events[0].detail["product_category_not_found"] == "tv"


def test_lifecycle_logs_name_the_ticket_but_not_the_phone(
    db: Session, washing_machine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crm_bridge")

    ticket, _ = _create(db, conversation_id="conv-77")

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("crm_bridge")]
    assert len(lines) == 2
    assert all(ticket.number in line and "conv-77" in line for line in lines)
    assert "+34612345222" not in caplog.text
    assert "612345222" not in caplog.text


def _seed_for_concurrency(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        category = make_category(session, "washing_machine")
        make_warranty_term(session, category)
        make_service_centre(session, ("46",), ("washing_machine",))


@pytest.mark.postgres
def test_two_simultaneous_requests_with_one_key_open_one_ticket(
    postgres_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_for_concurrency(postgres_sessions)
    # Both requests pass the idempotency lookup before either writes.
    both_looked_up = threading.Barrier(2, timeout=10)
    open_ticket = tickets._open_ticket

    def open_after_both_looked(*args: Any) -> Ticket:
        both_looked_up.wait()
        return open_ticket(*args)

    monkeypatch.setattr(tickets, "_open_ticket", open_after_both_looked)
    body = ticket_request(idempotency_key="same-key-for-both")

    def submit() -> tuple[str, bool]:
        with postgres_sessions() as session:
            ticket, created = tickets.create_ticket(
                session, TicketCreate(**body), today=TODAY
            )
            return ticket.number, created

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(submit) for _ in "ab"]]

    assert {number for number, _ in results} == {"WAR-2026-000001"}
    assert sorted(created for _, created in results) == [False, True]
    with postgres_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.postgres
def test_simultaneous_tickets_get_distinct_consecutive_numbers(
    postgres_sessions: sessionmaker[Session],
) -> None:
    _seed_for_concurrency(postgres_sessions)
    start = threading.Barrier(8, timeout=10)

    def submit(index: int) -> str:
        start.wait()
        with postgres_sessions() as session:
            ticket, _ = tickets.create_ticket(
                session,
                TicketCreate(**ticket_request(idempotency_key=f"parallel-{index}")),
                today=TODAY,
            )
            return ticket.number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(submit, range(8), timeout=30))

    assert sorted(numbers) == [f"WAR-2026-{n:06d}" for n in range(1, 9)]


def test_photos_sent_before_the_case_are_attached_to_it(
    db: Session, washing_machine: Any
) -> None:
    conversation = Conversation(id="telegram-4242", channel="telegram")
    db.add(conversation)
    db.flush()
    db.add(
        Attachment(
            conversation_id="telegram-4242",
            content_type="image/jpeg",
            filename="drum.jpg",
            size=3,
            sha256="abc",
            source="file-1",
            content=b"jpg",
        )
    )
    db.commit()

    ticket, _ = _create(db, conversation_id="telegram-4242")

    assert [item.filename for item in ticket.attachments] == ["drum.jpg"]
    assert ticket.events[-1].kind == "attachments_linked"


def test_the_keypad_digits_of_a_serial_find_its_unit(
    db: Session, washing_machine: Any
) -> None:
    assert units.find_unit(db, "48217730") is washing_machine
    # Too few digits to be sure, or digits of no unit.
    assert units.find_unit(db, "7730") is None
    assert units.find_unit(db, "99999999") is None


def test_keypad_digits_shared_by_two_serials_find_nothing(
    db: Session, washing_machine: Any
) -> None:
    make_unit(db, washing_machine.product, serial_number="XY 4821 7730")

    assert units.find_unit(db, "48217730") is None
    assert units.find_unit(db, "xy48217730").serial_number == "XY 4821 7730"
