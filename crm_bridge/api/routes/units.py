"""Units: what a serial number is, and whether it is under warranty."""

import datetime as dt

from fastapi import APIRouter, HTTPException, status

from crm_bridge.api.deps import SessionDep
from crm_bridge.schemas import UnitPublic, WarrantyPublic
from crm_bridge.services import units, warranty
from crm_bridge.services.errors import UnitNotFoundError

router = APIRouter(prefix="/units", tags=["units"])


@router.get(
    "/{serial}",
    response_model=UnitPublic,
    responses={status.HTTP_404_NOT_FOUND: {"description": "No unit has this serial"}},
)
def read_unit(serial: str, session: SessionDep) -> UnitPublic:
    """Look up a unit by the serial number printed on its label.

    Case, spaces and punctuation do not matter: `wm-4821 7730` finds
    `WM 4821 7730`.
    """
    try:
        unit = units.get_unit(session, serial)
    except UnitNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return UnitPublic.model_validate(unit)


@router.get("/{serial}/warranty", response_model=WarrantyPublic)
def read_unit_warranty(
    serial: str, session: SessionDep, as_of: dt.date | None = None
) -> WarrantyPublic:
    """Decide whether a unit is under warranty on `as_of` (default: today).

    Always answers 200: an unknown serial gives status `unknown` with reason
    `unit_not_found`, so the assistant can ask for the serial again.
    """
    unit = units.find_unit(session, serial)
    if unit is None:
        return WarrantyPublic.from_decision(
            serial, warranty.unit_not_found_decision(), category=None
        )
    decision = warranty.decide_unit_warranty(session, unit, as_of or dt.date.today())
    return WarrantyPublic.from_decision(
        unit.serial_number, decision, category=unit.product.category_code
    )
