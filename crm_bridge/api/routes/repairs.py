"""Repairs as the speaker of a conversation may see them (iGI beyond the claim)."""

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from crm_bridge.api.deps import SessionDep
from crm_bridge.models import Ticket, TicketKind, TicketStatus
from crm_bridge.schemas import ServiceCentrePublic, UtcDatetime
from crm_bridge.services import identity, repairs, units
from crm_bridge.services.errors import TooManyAttemptsError

router = APIRouter(prefix="/conversations/{conversation_id}", tags=["repairs"])

_NOT_FOUND = "no such case"
_IDENTIFY = "give the phone number on the case"


class ReplacementPublic(BaseModel):
    reason: str
    note_es: str
    note_en: str


class RepairPublic(BaseModel):
    """A case in the words the assistant needs to explain where it is."""

    number: str
    kind: TicketKind
    status: TicketStatus
    product: str | None
    product_category: str | None
    serial_number: str | None
    service_centre: ServiceCentrePublic | None
    created_at: UtcDatetime
    verification_due: dt.date | None
    closed_at: UtcDatetime | None
    resolution: str | None
    replacement: ReplacementPublic | None
    opened_by_shop: bool

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "RepairPublic":
        unit = ticket.unit
        replacement = repairs.replacement_event(ticket)
        return cls(
            number=ticket.number,
            kind=ticket.kind,
            status=ticket.status,
            product=unit.product.name if unit else None,
            product_category=ticket.product_category_code,
            serial_number=unit.serial_number if unit else None,
            service_centre=(
                ServiceCentrePublic.model_validate(ticket.service_centre)
                if ticket.service_centre
                else None
            ),
            created_at=ticket.created_at,
            verification_due=ticket.verification_due,
            closed_at=ticket.closed_at,
            resolution=ticket.resolution,
            replacement=(
                ReplacementPublic(
                    reason=replacement.get("reason", ""),
                    note_es=replacement.get("note_es", ""),
                    note_en=replacement.get("note_en", ""),
                )
                if replacement
                else None
            ),
            opened_by_shop=ticket.point_of_sale_id is not None,
        )


class ClaimantPublic(BaseModel):
    """Who is claiming on a unit: whether they may hear the owner's details."""

    speaker: Literal["shop", "customer", "unknown"]
    is_owner: bool
    point_of_sale: str | None


@router.get(
    "/repairs",
    response_model=list[RepairPublic],
    responses={status.HTTP_403_FORBIDDEN: {"description": _IDENTIFY}},
)
def read_repairs(conversation_id: str, session: SessionDep) -> list[RepairPublic]:
    """The speaker's latest cases, newest first: a customer's own, or those a
    shop opened. 403 when the speaker is unknown (a web chat): ask for a case
    number and the phone on it instead."""
    try:
        found = repairs.list_repairs(session, conversation_id)
    except repairs.IdentityRequiredError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    return [RepairPublic.from_ticket(ticket) for ticket in found]


@router.get(
    "/repairs/{number}",
    response_model=RepairPublic,
    responses={
        status.HTTP_403_FORBIDDEN: {"description": _IDENTIFY},
        status.HTTP_404_NOT_FOUND: {"description": _NOT_FOUND},
    },
)
def read_repair(
    conversation_id: str,
    number: str,
    session: SessionDep,
    phone: str | None = Query(default=None, max_length=40),
) -> RepairPublic:
    """One case by number (`WAR-2026-000872`, `war 2026 872`; a known speaker
    may give only the last digits).

    A customer sees their own cases, a shop those it opened. An unknown
    speaker must add `phone`, the number on the case (403 without it); a
    match links the conversation to that customer. 404 `no such case` is the
    same whether the case does not exist, is someone else's or the phone does
    not match.
    """
    try:
        ticket = repairs.get_repair(session, conversation_id, number, phone)
    except repairs.IdentityRequiredError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except repairs.RepairNotFoundError as exc:
        session.commit()  # the failed attempt counts
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    except TooManyAttemptsError as exc:
        session.commit()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    session.commit()
    return RepairPublic.from_ticket(ticket)


@router.get("/claimant/{serial}", response_model=ClaimantPublic)
def read_claimant(conversation_id: str, serial: str, session: SessionDep) -> Any:
    """Whether the speaker owns the unit with this serial, so that its owner's
    details may be read back; a shop claims on behalf of a customer. An
    unknown serial answers `is_owner: false` like any unit not theirs."""
    found = identity.speaker(session, conversation_id)
    unit = units.find_unit(session, serial)
    owner = unit is not None and repairs.is_unit_owner(session, conversation_id, unit)
    return ClaimantPublic(
        speaker=found.kind,
        is_owner=owner,
        point_of_sale=found.point_of_sale.name if found.point_of_sale else None,
    )
