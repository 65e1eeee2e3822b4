"""Direct replacement instead of repair, decided by rules kept as data.

A warranty claim that would go to a service centre is a replacement instead
when a ``ReplacementRule`` of the unit's market matches: its category (or
any), the days since purchase (a unit dead on arrival), the warranty repairs
the unit already had.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_bridge.models import (
    ReplacementRule,
    Ticket,
    TicketKind,
    TicketStatus,
    Unit,
)


@dataclass(frozen=True)
class ReplacementDecision:
    rule_id: int
    # "recent_purchase", "previous_repairs" or both, joined by "+".
    reason: str
    days_since_purchase: int | None
    previous_repairs: int
    note_es: str
    note_en: str

    def note(self, language: str) -> str:
        return self.note_en if language == "en" else self.note_es


def previous_repairs(session: Session, unit: Unit) -> int:
    """Warranty repairs done on the unit: cases a centre handled and closed."""
    return session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.unit_id == unit.id,
            Ticket.kind == TicketKind.WARRANTY,
            Ticket.status == TicketStatus.CLOSED,
            Ticket.resolved_first_contact.is_(False),
        )
    )


def rule_matches(
    rule: ReplacementRule, days_since_purchase: int | None, repairs: int
) -> bool:
    """Every condition the rule sets holds; a rule without any never matches."""
    conditions = []
    if rule.max_days_since_purchase is not None:
        conditions.append(
            days_since_purchase is not None
            and 0 <= days_since_purchase <= rule.max_days_since_purchase
        )
    if rule.min_previous_repairs is not None:
        conditions.append(repairs >= rule.min_previous_repairs)
    return bool(conditions) and all(conditions)


def decide_replacement(
    session: Session, unit: Unit, today: dt.date
) -> ReplacementDecision | None:
    """The replacement a claim on ``unit`` gets today, or None (repair it).

    The caller has already decided that the unit is under warranty. The most
    specific rule wins: one of the unit's category before one of any.
    """
    rules = session.scalars(
        select(ReplacementRule)
        .where(
            ReplacementRule.market == unit.market,
            or_(
                ReplacementRule.category_code.is_(None),
                ReplacementRule.category_code == unit.product.category_code,
            ),
        )
        .order_by(ReplacementRule.category_code.is_(None), ReplacementRule.id)
    ).all()
    if not rules:
        return None
    days = (today - unit.purchase_date).days if unit.purchase_date else None
    repairs = previous_repairs(session, unit)
    for rule in rules:
        if rule_matches(rule, days, repairs):
            reasons = []
            if rule.max_days_since_purchase is not None:
                reasons.append("recent_purchase")
            if rule.min_previous_repairs is not None:
                reasons.append("previous_repairs")
            return ReplacementDecision(
                rule_id=rule.id,
                reason="+".join(reasons),
                days_since_purchase=days,
                previous_repairs=repairs,
                note_es=rule.note_es,
                note_en=rule.note_en,
            )
    return None
