"""Display units for identified shops: the catalogue, requests and their status."""

import datetime as dt

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_bridge.api.deps import SessionDep
from crm_bridge.models import (
    Channel,
    DisplayProduct,
    DisplayRequest,
    DisplayRequestStatus,
    Language,
    PointOfSale,
)
from crm_bridge.schemas import UtcDatetime
from crm_bridge.services import display, identity
from crm_bridge.services.errors import NotAShopError

router = APIRouter(
    prefix="/conversations/{conversation_id}/display", tags=["display units"]
)

_NOT_A_SHOP = {"description": "The speaker is not identified as a shop"}
_NOT_FOUND = "no such display request"


class DisplayProductPublic(BaseModel):
    sku: str
    name: str
    category: str
    max_quantity: int

    @classmethod
    def from_item(
        cls, item: DisplayProduct, language: Language
    ) -> "DisplayProductPublic":
        return cls(
            sku=item.product.sku,
            name=item.product.name,
            category=item.product.category.name(language.value),
            max_quantity=item.max_quantity,
        )


class DisplayLinePublic(BaseModel):
    sku: str
    name: str
    quantity: int


class DisplayRequestPublic(BaseModel):
    number: str
    status: DisplayRequestStatus
    installation_date: dt.date | None
    installer: str | None
    created_at: UtcDatetime
    lines: list[DisplayLinePublic]

    @classmethod
    def from_request(cls, request: DisplayRequest) -> "DisplayRequestPublic":
        return cls(
            number=request.ticket.number,
            status=request.status,
            installation_date=request.installation_date,
            installer=request.installer,
            created_at=request.created_at,
            lines=[
                DisplayLinePublic(
                    sku=line.product.sku, name=line.product.name, quantity=line.quantity
                )
                for line in request.lines
            ],
        )


class DisplayLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=50)
    quantity: int


class DisplayRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: str = Field(min_length=8, max_length=200)
    channel: Channel
    language: Language
    lines: list[DisplayLineCreate] = Field(min_length=1, max_length=display.MAX_LINES)


def _shop(session: SessionDep, conversation_id: str) -> PointOfSale:
    try:
        return identity.require_shop(session, conversation_id)
    except NotAShopError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc


@router.get(
    "/catalogue",
    response_model=list[DisplayProductPublic],
    responses={status.HTTP_403_FORBIDDEN: _NOT_A_SHOP},
)
def read_display_catalogue(
    conversation_id: str, session: SessionDep, language: Language = Language.ES
) -> list[DisplayProductPublic]:
    """The display products a shop may request, with the most it may get."""
    _shop(session, conversation_id)
    return [
        DisplayProductPublic.from_item(item, language)
        for item in display.list_catalogue(session)
    ]


@router.get(
    "/requests",
    response_model=list[DisplayRequestPublic],
    responses={status.HTTP_403_FORBIDDEN: _NOT_A_SHOP},
)
def read_display_requests(
    conversation_id: str, session: SessionDep
) -> list[DisplayRequestPublic]:
    """The speaker's shop's display requests, newest first."""
    shop = _shop(session, conversation_id)
    return [
        DisplayRequestPublic.from_request(request)
        for request in display.list_requests(session, shop)
    ]


@router.get(
    "/requests/{number}",
    response_model=DisplayRequestPublic,
    responses={
        status.HTTP_403_FORBIDDEN: _NOT_A_SHOP,
        status.HTTP_404_NOT_FOUND: {"description": _NOT_FOUND},
    },
)
def read_display_request(
    conversation_id: str, number: str, session: SessionDep
) -> DisplayRequestPublic:
    """One request of the shop by number (`DSP-2026-000003`, `dsp 2026 3`),
    with its installation appointment. 404 `no such display request` alike
    when it does not exist and when it is another shop's."""
    shop = _shop(session, conversation_id)
    try:
        request = display.get_request(session, shop, number)
    except display.DisplayRequestNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    return DisplayRequestPublic.from_request(request)


@router.post(
    "/requests",
    response_model=DisplayRequestPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {
            "model": DisplayRequestPublic,
            "description": "The idempotency key was used before: its request",
        },
        status.HTTP_403_FORBIDDEN: _NOT_A_SHOP,
        status.HTTP_422_UNPROCESSABLE_ENTITY: {
            "description": "A product outside the catalogue or a bad quantity"
        },
    },
)
def create_display_request(
    conversation_id: str,
    body: DisplayRequestCreate,
    response: Response,
    session: SessionDep,
) -> DisplayRequestPublic:
    """Request display units for the speaker's shop: a `DSP-…` case for the
    warehouse (no service centre). Each product must be in the catalogue, once,
    with a quantity from 1 to its `max_quantity` (422 names the problem).
    The same `idempotency_key` returns the request it opened with 200."""
    shop = _shop(session, conversation_id)
    try:
        request, created = display.create_request(
            session,
            shop,
            [display.RequestedLine(line.sku, line.quantity) for line in body.lines],
            idempotency_key=body.idempotency_key,
            conversation_id=conversation_id,
            channel=body.channel,
            language=body.language,
        )
    except display.DisplayRequestRejectedError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return DisplayRequestPublic.from_request(request)
