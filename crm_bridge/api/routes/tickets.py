"""Tickets: open one from a conversation, read it back with its timeline."""

from fastapi import APIRouter, HTTPException, Response, status

from crm_bridge.api.deps import SessionDep
from crm_bridge.schemas import TicketCreate, TicketPublic
from crm_bridge.services import tickets
from crm_bridge.services.errors import (
    CategoryNotFoundError,
    TicketNotFoundError,
    TicketRejectedError,
    UnitNotFoundError,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post(
    "",
    response_model=TicketPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {
            "model": TicketPublic,
            "description": "The idempotency key was used before: the ticket it "
            "opened, unchanged",
        },
    },
)
def create_ticket(
    body: TicketCreate, response: Response, session: SessionDep
) -> TicketPublic:
    """Open a ticket for a conversation.

    The CRM checks the warranty of the unit, finds or registers the customer
    by phone and, unless the case was solved during the contact or is a
    handoff to an agent, sends it to the service centre covering the
    customer's postal code and the product category (`assigned`), or leaves it
    `pending_assignment` when none does.

    Sending the same `idempotency_key` again returns the ticket it opened with
    200 and changes nothing.

    422 names what cannot be used: an unknown `serial_number` or
    `product_category`, or a category that contradicts the unit's. A handoff
    is never refused for these; they are noted on its timeline instead.
    """
    try:
        ticket, created = tickets.create_ticket(session, body)
    except (
        UnitNotFoundError,
        CategoryNotFoundError,
        TicketRejectedError,
    ) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return TicketPublic.from_ticket(ticket)


@router.get(
    "/{number}",
    response_model=TicketPublic,
    responses={status.HTTP_404_NOT_FOUND: {"description": "No such ticket"}},
)
def read_ticket(number: str, session: SessionDep) -> TicketPublic:
    """Read a ticket by its number (e.g. `WAR-2026-000001`) with its timeline."""
    try:
        ticket = tickets.get_ticket(session, number)
    except TicketNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return TicketPublic.from_ticket(ticket)


@router.get(
    "/{number}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        status.HTTP_200_OK: {"content": {"application/octet-stream": {}}},
        status.HTTP_404_NOT_FOUND: {"description": "No such ticket or file"},
    },
)
def read_ticket_attachment(
    number: str, attachment_id: int, session: SessionDep
) -> Response:
    """The content of a file attached to the ticket (a photo the person sent)."""
    try:
        ticket = tickets.get_ticket(session, number)
    except TicketNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    attachment = next(
        (item for item in ticket.attachments if item.id == attachment_id), None
    )
    if attachment is None or attachment.content is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such attachment")
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{attachment.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
