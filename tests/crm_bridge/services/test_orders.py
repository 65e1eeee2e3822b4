"""Order services: the condition that applies, shared numbers, concurrent retries."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.importer import import_directory
from crm_bridge.models import (
    Channel,
    DiscountCondition,
    Language,
    Order,
    PointOfSale,
    Ticket,
)
from crm_bridge.services import discounts
from crm_bridge.services.orders import (
    CaseContext,
    DivergenceProblem,
    open_divergence_case,
)
from tests.crm_bridge.conftest import DEMO_DATA

TODAY = dt.date(2026, 12, 4)


def condition(
    category: str | None, maximum: int, since: str, until: str | None = None
) -> DiscountCondition:
    return DiscountCondition(
        category_code=category,
        max_discount_percent=Decimal(maximum),
        valid_from=dt.date.fromisoformat(since),
        valid_until=dt.date.fromisoformat(until) if until else None,
    )


@pytest.mark.parametrize(
    ("on", "category", "expected"),
    [
        ("2026-06-01", "oven", 12),  # the category's own condition wins
        ("2026-06-01", "dishwasher", 10),  # otherwise the general one
        ("2025-06-01", "oven", 8),  # before the oven condition: the 2025 one
        ("2024-06-01", "oven", None),  # nothing in force yet
        ("2027-02-01", "dishwasher", 15),  # the newest general condition
    ],
)
def test_the_condition_in_force_for_the_category_applies(
    on: str, category: str, expected: int | None
) -> None:
    conditions = [
        condition(None, 8, "2025-01-01", "2025-12-31"),
        condition(None, 10, "2026-01-01"),
        condition(None, 15, "2027-01-01"),
        condition("oven", 12, "2026-01-01"),
    ]

    found = discounts.applicable_condition(
        conditions, category, dt.date.fromisoformat(on)
    )

    assert (found.max_discount_percent if found else None) == expected


def _context(key: str) -> CaseContext:
    return CaseContext(key, "sms:test", Channel.SMS, Language.ES)


def _turia(session: Session) -> PointOfSale:
    return session.scalars(
        select(PointOfSale).where(PointOfSale.code == "PV-VLC-01")
    ).one()


def test_divergence_and_discount_cases_share_the_ord_numbers(
    demo_data: Session,
) -> None:
    shop = _turia(demo_data)

    divergence, _ = open_divergence_case(
        demo_data,
        shop,
        _context("key-divergence"),
        "48213",
        quantity=2,
        problem=DivergenceProblem.MISSING,
        today=TODAY,
    )
    discount, _ = discounts.open_discount_case(
        demo_data, shop, _context("key-discount"), "4540", today=TODAY
    )

    assert (divergence.number, discount.number) == (
        "ORD-2026-000001",
        "ORD-2026-000002",
    )


@pytest.mark.postgres
def test_two_simultaneous_retries_of_one_case_open_one_ticket(
    postgres_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with postgres_sessions() as session:
        assert import_directory(session, DEMO_DATA).ok
    # Both requests pass the idempotency lookup before either writes.
    both_looked_up = threading.Barrier(2, timeout=10)
    get_order = discounts.get_order

    def get_after_both_looked(*args: Any) -> Order:
        both_looked_up.wait()
        return get_order(*args)

    monkeypatch.setattr(discounts, "get_order", get_after_both_looked)

    def submit() -> tuple[str, bool]:
        with postgres_sessions() as session:
            ticket, created = discounts.open_discount_case(
                session, _turia(session), _context("same-key-twice"), "4540"
            )
            return ticket.number, created

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(submit) for _ in "ab"]]

    assert len({number for number, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    with postgres_sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.kind == "discount")
        )
        assert count == 1
