"""Finding units by the serial number a person reads from the label."""

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crm_bridge.models import Product, Unit
from crm_bridge.services.errors import UnitNotFoundError
from crm_bridge.services.normalize import serial_key

MIN_KEYPAD_DIGITS = 6

_LOAD = (
    joinedload(Unit.product).joinedload(Product.category),
    joinedload(Unit.point_of_sale),
    joinedload(Unit.customer),
)


def find_unit(session: Session, serial_number: str) -> Unit | None:
    """The unit whose normalized serial matches, or None."""
    key = serial_key(serial_number)
    if not key:
        return None
    unit = session.scalar(select(Unit).where(Unit.serial_key == key).options(*_LOAD))
    if unit is not None or not key.isdigit() or len(key) < MIN_KEYPAD_DIGITS:
        return unit
    # On the phone keypad only the digits can be typed: "48217730" for
    # "WM 4821 7730", when exactly one unit's digits are those.
    candidates = [
        candidate
        for candidate in session.scalars(
            select(Unit).where(Unit.serial_key.endswith(key)).options(*_LOAD)
        )
        if "".join(filter(str.isdigit, candidate.serial_key)) == key
    ]
    return candidates[0] if len(candidates) == 1 else None


def get_unit(session: Session, serial_number: str) -> Unit:
    """Like ``find_unit`` but raises UnitNotFoundError naming the serial as given."""
    unit = find_unit(session, serial_number)
    if unit is None:
        raise UnitNotFoundError(serial_number)
    return unit
