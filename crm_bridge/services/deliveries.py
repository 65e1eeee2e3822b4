"""Transport problems a shop reports: damage or delay of an order or of a
display-unit request, as a case against the carrier (``DMG``, ``DLY``).

Photos the person sent in the conversation are attached to the case; the
shop only reaches its own orders and requests, as everywhere else.
"""

import datetime as dt
import enum

from sqlalchemy.orm import Session

from crm_bridge.models import PointOfSale, Ticket, TicketKind
from crm_bridge.services import display
from crm_bridge.services.identity import Speaker
from crm_bridge.services.orders import (
    CaseContext,
    OrderCaseRejectedError,
    add_event,
    check_quantity,
    delivered_on,
    expected_on,
    find_line,
    get_order,
    iso,
    new_case,
    once,
    order_links,
)


class DeliveryProblem(str, enum.Enum):
    DAMAGE = "damage"
    DELAY = "delay"


KINDS = {
    DeliveryProblem.DAMAGE: TicketKind.DELIVERY_DAMAGE,
    DeliveryProblem.DELAY: TicketKind.DELIVERY_DELAY,
}


def report_delivery_problem(
    session: Session,
    shop: PointOfSale,
    context: CaseContext,
    number: str,
    problem: DeliveryProblem,
    description: str,
    position: int | None = None,
    product: str | None = None,
    quantity: int | None = None,
    today: dt.date | None = None,
) -> tuple[Ticket, bool]:
    """Open a damage or delay case on an order, against its carrier.

    The item is optional (a delay concerns the whole order); when named it
    must be a line of the order.

    Raises:
        OrderNotFoundError, OrderLineNotFoundError, OrderCaseRejectedError.
    """

    def build() -> tuple[Ticket, bool]:
        order = get_order(session, shop, number)
        line = None
        if position is not None or product:
            line = find_line(order, position, product)
        if quantity is not None:
            if line is None:
                raise OrderCaseRejectedError("a quantity needs the item it refers to")
            check_quantity(quantity, line)
        kind = KINDS[problem]
        ticket = new_case(
            session,
            kind,
            context,
            order.point_of_sale_id,
            today,
            quantity=quantity,
            fault_description=description,
            **order_links(order, line),
        )
        add_event(
            ticket,
            "created",
            kind=kind.value,
            order=order.number,
            order_status=order.status.value,
            carrier=ticket.carrier,
            line=line.position if line else None,
            sku=line.product.sku if line else None,
            quantity=quantity,
            expected_on=iso(expected_on(order)),
            delivered_on=iso(delivered_on(order)),
        )
        return ticket, True

    return once(session, context, build)


def report_display_delivery_problem(
    session: Session,
    shop: PointOfSale,
    context: CaseContext,
    number: str,
    problem: DeliveryProblem,
    description: str,
    today: dt.date | None = None,
) -> tuple[Ticket, bool]:
    """Open a damage or delay case on a display-unit request (``DSP-…``).

    Raises:
        DisplayRequestNotFoundError: no request of this shop has the number.
    """

    def build() -> tuple[Ticket, bool]:
        request = display.get_request(session, shop, number)
        kind = KINDS[problem]
        ticket = new_case(
            session,
            kind,
            context,
            request.point_of_sale_id,
            today,
            fault_description=description,
            display_request_id=request.id,
        )
        add_event(
            ticket,
            "created",
            kind=kind.value,
            display_request=request.ticket.number,
            request_status=request.status.value,
            installation_date=iso(request.installation_date),
        )
        return ticket, True

    return once(session, context, build)


def report_customer_delivery_problem(
    session: Session,
    speaker: Speaker,
    context: CaseContext,
    problem: DeliveryProblem,
    description: str,
    reference: str | None = None,
    today: dt.date | None = None,
) -> tuple[Ticket, bool]:
    """Open a damage or delay case for an end customer's delivery.

    A customer has no orders in the CRM: the number they give (their
    delivery note, the shop's order) is kept as they wrote it, for an agent,
    and never looked up, so nothing about any shop's orders is revealed.
    """

    def build() -> tuple[Ticket, bool]:
        kind = KINDS[problem]
        ticket = new_case(
            session,
            kind,
            context,
            speaker.point_of_sale.id if speaker.point_of_sale else None,
            today,
            fault_description=description,
            customer_id=speaker.customer.id if speaker.customer else None,
        )
        add_event(ticket, "created", kind=kind.value, reference=reference)
        return ticket, True

    return once(session, context, build)
