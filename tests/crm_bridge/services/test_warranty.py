import datetime as dt
from dataclasses import dataclass

import pytest

from crm_bridge.models import WarrantyStatus
from crm_bridge.services.warranty import (
    WarrantyReason,
    add_months,
    decide_warranty,
    find_term,
)


@dataclass(frozen=True)
class Term:
    purchased_from: dt.date
    purchased_until: dt.date | None
    months: int


SPAIN = [
    Term(dt.date(2000, 1, 1), dt.date(2021, 12, 31), 24),
    Term(dt.date(2022, 1, 1), None, 36),
]


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.date(2024, 9, 2), 36, dt.date(2027, 9, 2)),
        (dt.date(2024, 2, 29), 36, dt.date(2027, 2, 28)),
        (dt.date(2024, 2, 29), 48, dt.date(2028, 2, 29)),
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2025, 11, 30), 3, dt.date(2026, 2, 28)),
        (dt.date(2025, 12, 15), 1, dt.date(2026, 1, 15)),
    ],
)
def test_add_months_goes_date_to_date(
    start: dt.date, months: int, end: dt.date
) -> None:
    assert add_months(start, months) == end


def test_purchases_before_2022_get_two_years_and_since_2022_three() -> None:
    assert find_term(SPAIN, dt.date(2021, 12, 31)).months == 24
    assert find_term(SPAIN, dt.date(2022, 1, 1)).months == 36
    assert find_term(SPAIN, dt.date(1999, 12, 31)) is None


def test_valid_within_the_term() -> None:
    decision = decide_warranty(dt.date(2024, 9, 2), SPAIN, as_of=dt.date(2026, 12, 4))

    assert decision.status is WarrantyStatus.VALID
    assert decision.reason is WarrantyReason.WITHIN_TERM
    assert decision.end_date == dt.date(2027, 9, 2)
    assert decision.term_months == 36


def test_the_end_date_itself_is_still_covered() -> None:
    last_day = decide_warranty(dt.date(2024, 9, 2), SPAIN, as_of=dt.date(2027, 9, 2))
    day_after = decide_warranty(dt.date(2024, 9, 2), SPAIN, as_of=dt.date(2027, 9, 3))

    assert last_day.status is WarrantyStatus.VALID
    assert day_after.status is WarrantyStatus.EXPIRED
    assert day_after.reason is WarrantyReason.TERM_ENDED


def test_a_29_february_purchase_ends_on_28_february() -> None:
    decision = decide_warranty(dt.date(2024, 2, 29), SPAIN, as_of=dt.date(2027, 2, 28))

    assert decision.end_date == dt.date(2027, 2, 28)
    assert decision.status is WarrantyStatus.VALID
    assert (
        decide_warranty(dt.date(2024, 2, 29), SPAIN, as_of=dt.date(2027, 3, 1)).status
        is WarrantyStatus.EXPIRED
    )


def test_a_2020_purchase_has_expired_after_two_years() -> None:
    decision = decide_warranty(dt.date(2020, 5, 10), SPAIN, as_of=dt.date(2026, 1, 1))

    assert decision.status is WarrantyStatus.EXPIRED
    assert decision.end_date == dt.date(2022, 5, 10)
    assert decision.term_months == 24


def test_unknown_without_purchase_date() -> None:
    decision = decide_warranty(None, SPAIN, as_of=dt.date(2026, 1, 1))

    assert decision.status is WarrantyStatus.UNKNOWN
    assert decision.reason is WarrantyReason.NO_PURCHASE_DATE
    assert decision.end_date is None


def test_unknown_when_no_term_covers_the_purchase() -> None:
    decision = decide_warranty(dt.date(2025, 1, 1), [], as_of=dt.date(2026, 1, 1))

    assert decision.status is WarrantyStatus.UNKNOWN
    assert decision.reason is WarrantyReason.NO_TERM_FOR_CATEGORY
    assert decision.purchase_date == dt.date(2025, 1, 1)
