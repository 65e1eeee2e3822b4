"""Warranty decisions: is a unit covered on a given day, and until when.

The decision itself is pure (``decide_warranty``); the terms it applies are data
(``WarrantyTerm`` rows per product category and market).
"""

import calendar
import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import Unit, WarrantyStatus, WarrantyTerm


class WarrantyReason(str, enum.Enum):
    WITHIN_TERM = "within_term"
    TERM_ENDED = "term_ended"
    NO_PURCHASE_DATE = "no_purchase_date"
    NO_TERM_FOR_CATEGORY = "no_term_for_category"
    UNIT_NOT_FOUND = "unit_not_found"


class TermLike(Protocol):
    purchased_from: dt.date
    purchased_until: dt.date | None
    months: int


@dataclass(frozen=True)
class WarrantyDecision:
    status: WarrantyStatus
    reason: WarrantyReason
    purchase_date: dt.date | None = None
    end_date: dt.date | None = None
    term_months: int | None = None


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` moved by whole months; a day missing in the target month
    becomes that month's last day (29 Feb 2024 + 12 months = 28 Feb 2025)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def find_term(terms: Iterable[TermLike], purchase_date: dt.date) -> TermLike | None:
    """The term whose purchase period contains ``purchase_date`` (both ends
    inclusive); the most recently started one wins if periods overlap."""
    matching = [
        term
        for term in terms
        if term.purchased_from <= purchase_date
        and (term.purchased_until is None or purchase_date <= term.purchased_until)
    ]
    return max(matching, key=lambda term: term.purchased_from, default=None)


def decide_warranty(
    purchase_date: dt.date | None, terms: Iterable[TermLike], as_of: dt.date
) -> WarrantyDecision:
    """Decide whether a unit bought on ``purchase_date`` is covered on ``as_of``.

    The term runs from date to date: a 36-month term for a purchase on
    2024-09-02 ends on 2027-09-02, and that last day is still covered.
    """
    if purchase_date is None:
        return WarrantyDecision(WarrantyStatus.UNKNOWN, WarrantyReason.NO_PURCHASE_DATE)

    term = find_term(terms, purchase_date)
    if term is None:
        return WarrantyDecision(
            WarrantyStatus.UNKNOWN,
            WarrantyReason.NO_TERM_FOR_CATEGORY,
            purchase_date=purchase_date,
        )

    end_date = add_months(purchase_date, term.months)
    within = as_of <= end_date
    return WarrantyDecision(
        WarrantyStatus.VALID if within else WarrantyStatus.EXPIRED,
        WarrantyReason.WITHIN_TERM if within else WarrantyReason.TERM_ENDED,
        purchase_date=purchase_date,
        end_date=end_date,
        term_months=term.months,
    )


def unit_not_found_decision() -> WarrantyDecision:
    return WarrantyDecision(WarrantyStatus.UNKNOWN, WarrantyReason.UNIT_NOT_FOUND)


def decide_unit_warranty(
    session: Session, unit: Unit, as_of: dt.date
) -> WarrantyDecision:
    """Apply the terms of the unit's category and market to the unit."""
    terms = session.scalars(
        select(WarrantyTerm).where(
            WarrantyTerm.category_code == unit.product.category_code,
            WarrantyTerm.market == unit.market,
        )
    ).all()
    return decide_warranty(unit.purchase_date, terms, as_of)
