"""A shop's agreed discounts against its orders, and the discount case.

The condition that applies to a line is the shop's one in force on the order
date; one on the line's category wins over a general one (no category).
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import (
    DiscountCondition,
    Order,
    OrderLine,
    PointOfSale,
    Ticket,
    TicketKind,
)
from crm_bridge.services.orders import (
    CaseContext,
    OrderCaseRejectedError,
    active_case,
    add_event,
    get_order,
    new_case,
    once,
    order_links,
)


@dataclasses.dataclass(frozen=True)
class DiscountFinding:
    """A line whose discount is above what the shop's conditions allow."""

    line: OrderLine
    max_discount_percent: Decimal
    condition: DiscountCondition | None


def applicable_condition(
    conditions: list[DiscountCondition], category_code: str, on: dt.date
) -> DiscountCondition | None:
    """The shop's condition for a category on a date.

    A condition on the category itself wins over a general one (no category);
    among several of the same scope in force, the most recent one.
    """
    in_force = [
        condition
        for condition in conditions
        if condition.valid_from <= on
        and (condition.valid_until is None or on <= condition.valid_until)
    ]
    for scope in (category_code, None):
        matching = [c for c in in_force if c.category_code == scope]
        if matching:
            return max(matching, key=lambda condition: condition.valid_from)
    return None


def discount_findings(session: Session, order: Order) -> list[DiscountFinding]:
    """Lines whose discount exceeds the condition in force on the order date.

    A line with a discount and no condition at all exceeds an allowed 0 %.
    """
    conditions = list(
        session.scalars(
            select(DiscountCondition).where(
                DiscountCondition.point_of_sale_id == order.point_of_sale_id
            )
        )
    )
    findings = []
    for line in order.lines:
        condition = applicable_condition(
            conditions, line.product.category_code, order.ordered_on
        )
        allowed = condition.max_discount_percent if condition else Decimal("0")
        if line.discount_percent > allowed:
            findings.append(DiscountFinding(line, allowed, condition))
    return findings


def open_discount_case(
    session: Session,
    shop: PointOfSale,
    context: CaseContext,
    number: str,
    description: str | None = None,
    today: dt.date | None = None,
) -> tuple[Ticket, bool]:
    """Open the order's discount case, listing the lines above the conditions.

    One per order: while one is being handled, asking again returns it.

    Raises:
        OrderNotFoundError; OrderCaseRejectedError when every discount of
        the order is within the shop's conditions.
    """

    def build() -> tuple[Ticket, bool]:
        order = get_order(session, shop, number)
        existing = active_case(session, TicketKind.DISCOUNT, order, None)
        if existing is not None:
            return existing, False
        findings = discount_findings(session, order)
        if not findings:
            raise OrderCaseRejectedError(
                f"every discount of order {order.number} is within the conditions"
            )
        ticket = new_case(
            session,
            TicketKind.DISCOUNT,
            context,
            order.point_of_sale_id,
            today,
            fault_description=description,
            **order_links(order, findings[0].line if len(findings) == 1 else None),
        )
        add_event(
            ticket,
            "created",
            kind=TicketKind.DISCOUNT.value,
            order=order.number,
            lines=[
                {
                    "line": finding.line.position,
                    "sku": finding.line.product.sku,
                    "discount_percent": str(finding.line.discount_percent),
                    "max_discount_percent": str(finding.max_discount_percent),
                }
                for finding in findings
            ],
        )
        return ticket, True

    return once(session, context, build)


def open_discount_case_number(session: Session, order: Order) -> str | None:
    """The number of the order's discount case still being handled, if any."""
    case = active_case(session, TicketKind.DISCOUNT, order, None)
    return case.number if case else None
