"""iGO: a shop's orders, asked for a conversation, and the cases it opens on them.

Every route works out who is speaking in the conversation first: 403 when it
is not shop staff, and 404 with the same body for an order that does not
exist and for another shop's order.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from crm_bridge.api.deps import SessionDep
from crm_bridge.models import (
    Channel,
    DisplayRequest,
    Language,
    Order,
    PointOfSale,
    Ticket,
)
from crm_bridge.schemas import (
    AttachmentPublic,
    CustomerDeliveryProblemCreate,
    DeliveryProblemCreate,
    DiscountCaseCreate,
    DiscountCheckPublic,
    DiscountLinePublic,
    DisplayDeliveryProblemCreate,
    DivergenceCreate,
    OrderCaseContext,
    OrderCasePublic,
    OrderLinePublic,
    OrderPublic,
    PointOfSalePublic,
    ShipmentPublic,
    TicketEventPublic,
)
from crm_bridge.services import deliveries, discounts, identity, orders
from crm_bridge.services.deliveries import DeliveryProblem
from crm_bridge.services.display import DisplayRequestNotFoundError
from crm_bridge.services.errors import NotAShopError
from crm_bridge.services.orders import (
    CaseContext,
    DivergenceProblem,
    OrderCaseRejectedError,
    OrderLineNotFoundError,
    OrderNotFoundError,
)

router = APIRouter(prefix="/conversations/{conversation_id}/orders", tags=["orders"])
# A customer's delivery, with no order in the CRM to point at.
delivery_router = APIRouter(
    prefix="/conversations/{conversation_id}/delivery-problems", tags=["orders"]
)
# Transport problems of display-unit requests are reported like an order's.
display_router = APIRouter(
    prefix="/conversations/{conversation_id}/display/requests", tags=["orders"]
)

_REFUSALS: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: {"description": "The speaker is not shop staff"},
    status.HTTP_404_NOT_FOUND: {
        "description": "No such order for this shop (nonexistent or another "
        "shop's: the body is the same)"
    },
}
_CASE_REFUSALS: dict[int | str, dict[str, Any]] = {
    **_REFUSALS,
    status.HTTP_200_OK: {
        "model": OrderCasePublic,
        "description": "The idempotency key was used before, or the same case "
        "is already open: that case, unchanged",
    },
    status.HTTP_422_UNPROCESSABLE_ENTITY: {
        "description": "The line is not on the order or the quantity is "
        "impossible; `detail` says why"
    },
}


def _shop(session: SessionDep, conversation_id: str) -> PointOfSale:
    try:
        return identity.require_shop(session, conversation_id)
    except NotAShopError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc


def _order(session: SessionDep, conversation_id: str, number: str) -> Order:
    shop = _shop(session, conversation_id)
    try:
        return orders.get_order(session, shop, number)
    except OrderNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/{number}", response_model=OrderPublic, responses=_REFUSALS)
def read_order(conversation_id: str, number: str, session: SessionDep) -> OrderPublic:
    """Where the order is: status, shipments (carrier, tracking, dates), when it
    arrives, and per line what was ordered and delivered.

    `divergences` lists the delivered lines whose quantities differ; an order
    still on its way has none.
    """
    order = _order(session, conversation_id, number)
    return OrderPublic(
        number=order.number,
        point_of_sale=PointOfSalePublic.model_validate(order.point_of_sale),
        status=order.status.value,
        ordered_on=order.ordered_on,
        expected_on=orders.expected_on(order),
        delivered_on=orders.delivered_on(order),
        carrier=orders.carrier_of(order),
        shipments=[
            ShipmentPublic(
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                status=shipment.status.value,
                shipped_on=shipment.shipped_on,
                expected_on=shipment.expected_on,
                delivered_on=shipment.delivered_on,
            )
            for shipment in order.shipments
        ],
        lines=[OrderLinePublic.from_line(line) for line in order.lines],
        divergences=[
            OrderLinePublic.from_line(line) for line in orders.divergences(order)
        ],
    )


@router.get(
    "/{number}/discounts", response_model=DiscountCheckPublic, responses=_REFUSALS
)
def check_discounts(
    conversation_id: str, number: str, session: SessionDep
) -> DiscountCheckPublic:
    """Compare each line's discount with the shop's agreed conditions.

    The condition is the one in force on the order date; one on the line's
    category wins over a general one. A discount without any condition
    exceeds an allowed 0 %.
    """
    order = _order(session, conversation_id, number)
    findings = discounts.discount_findings(session, order)
    open_case = discounts.open_discount_case_number(session, order)
    return DiscountCheckPublic(
        order_number=order.number,
        ordered_on=order.ordered_on,
        within_conditions=not findings,
        exceeding=[
            DiscountLinePublic(
                line=OrderLinePublic.from_line(finding.line),
                max_discount_percent=finding.max_discount_percent,
                condition_category=(
                    finding.condition.category_code if finding.condition else None
                ),
            )
            for finding in findings
        ],
        open_case=open_case,
    )


@router.post(
    "/{number}/divergences",
    response_model=OrderCasePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CASE_REFUSALS,
)
def open_divergence_case(
    conversation_id: str,
    number: str,
    body: DivergenceCreate,
    response: Response,
    session: SessionDep,
) -> OrderCasePublic:
    """Open a divergence case: units of one line missing or of a wrong model.

    The line is its position (`line`) or its product (`product`: SKU, model
    or product word); without either, the order's only line or only
    divergent line. `quantity` must be 1 to the units ordered on the line.
    """
    return _open_case(
        conversation_id,
        number,
        body,
        response,
        session,
        lambda shop, context: orders.open_divergence_case(
            session,
            shop,
            context,
            number,
            quantity=body.quantity,
            problem=DivergenceProblem(body.problem),
            position=body.line,
            product=body.product,
            description=body.description,
        ),
    )


@router.post(
    "/{number}/discount-case",
    response_model=OrderCasePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CASE_REFUSALS,
)
def open_discount_case(
    conversation_id: str,
    number: str,
    body: DiscountCaseCreate,
    response: Response,
    session: SessionDep,
) -> OrderCasePublic:
    """Open the order's discount case; one per order (the open one is returned).

    422 when every discount of the order is within the shop's conditions.
    """
    return _open_case(
        conversation_id,
        number,
        body,
        response,
        session,
        lambda shop, context: discounts.open_discount_case(
            session, shop, context, number, description=body.description
        ),
    )


@router.post(
    "/{number}/delivery-problems",
    response_model=OrderCasePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CASE_REFUSALS,
)
def report_delivery_problem(
    conversation_id: str,
    number: str,
    body: DeliveryProblemCreate,
    response: Response,
    session: SessionDep,
) -> OrderCasePublic:
    """Report damage or a delay in transport: a case linked to the order and
    its carrier. The item (`line` or `product`) is optional; photos sent in
    the conversation are attached to the case."""
    return _open_case(
        conversation_id,
        number,
        body,
        response,
        session,
        lambda shop, context: deliveries.report_delivery_problem(
            session,
            shop,
            context,
            number,
            problem=DeliveryProblem(body.problem),
            description=body.description,
            position=body.line,
            product=body.product,
            quantity=body.quantity,
        ),
    )


@display_router.post(
    "/{number}/delivery-problems",
    response_model=OrderCasePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CASE_REFUSALS,
)
def report_display_delivery_problem(
    conversation_id: str,
    number: str,
    body: DisplayDeliveryProblemCreate,
    response: Response,
    session: SessionDep,
) -> OrderCasePublic:
    """Report damage or a delay in the transport of a display-unit request
    (`DSP-2026-000003`): a case linked to the request and the shop, with the
    photos sent in the conversation. 404 for another shop's request too."""
    return _open_case(
        conversation_id,
        number,
        body,
        response,
        session,
        lambda shop, context: deliveries.report_display_delivery_problem(
            session,
            shop,
            context,
            number,
            problem=DeliveryProblem(body.problem),
            description=body.description,
        ),
    )


@delivery_router.post(
    "",
    response_model=OrderCasePublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {
            "model": OrderCasePublic,
            "description": "The idempotency key was used before: that case",
        }
    },
)
def report_customer_delivery_problem(
    conversation_id: str,
    body: CustomerDeliveryProblemCreate,
    response: Response,
    session: SessionDep,
) -> OrderCasePublic:
    """Report damage or a delay of a customer's delivery: a case for the
    speaker (the customer, when known), with the number they gave kept as
    written and never looked up, and the photos sent in the conversation."""
    speaker = identity.speaker(session, conversation_id)
    context = CaseContext(
        idempotency_key=body.idempotency_key,
        conversation_id=conversation_id,
        channel=Channel(body.channel),
        language=Language(body.language),
    )
    ticket, created = deliveries.report_customer_delivery_problem(
        session,
        speaker,
        context,
        problem=DeliveryProblem(body.problem),
        description=body.description,
        reference=body.reference,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return case_public(session, ticket)


def _open_case(
    conversation_id: str,
    number: str,
    body: OrderCaseContext,
    response: Response,
    session: SessionDep,
    open_it: Callable[[PointOfSale, CaseContext], tuple[Ticket, bool]],
) -> OrderCasePublic:
    shop = _shop(session, conversation_id)
    context = CaseContext(
        idempotency_key=body.idempotency_key,
        conversation_id=conversation_id,
        channel=Channel(body.channel),
        language=Language(body.language),
    )
    try:
        ticket, created = open_it(shop, context)
    except (OrderNotFoundError, DisplayRequestNotFoundError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (OrderLineNotFoundError, OrderCaseRejectedError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, exc.reason) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return case_public(session, ticket)


def case_public(session: SessionDep, ticket: Ticket) -> OrderCasePublic:
    """The case as the API shows it, with its order and line or its request."""
    session.refresh(ticket)
    order = session.get(Order, ticket.order_id) if ticket.order_id else None
    line = next(
        (
            line
            for line in (order.lines if order else [])
            if line.id == ticket.order_line_id
        ),
        None,
    )
    request = (
        session.get(DisplayRequest, ticket.display_request_id)
        if ticket.display_request_id
        else None
    )
    return OrderCasePublic(
        number=ticket.number,
        kind=ticket.kind,
        status=ticket.status,
        order_number=order.number if order else None,
        display_request_number=request.ticket.number if request else None,
        line=OrderLinePublic.from_line(line) if line else None,
        carrier=ticket.carrier,
        quantity=ticket.quantity,
        description=ticket.fault_description,
        channel=ticket.channel,
        conversation_id=ticket.conversation_id,
        created_at=ticket.created_at,
        events=[TicketEventPublic.model_validate(e) for e in ticket.events],
        attachments=[
            AttachmentPublic.model_validate(attachment)
            for attachment in ticket.attachments
            if attachment.sha256 is not None
        ],
    )
