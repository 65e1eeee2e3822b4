"""Finding units by the serial number a person reads from the label."""

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crm_bridge.models import Product, Unit
from crm_bridge.services.errors import UnitNotFoundError
from crm_bridge.services.normalize import serial_key


def find_unit(session: Session, serial_number: str) -> Unit | None:
    """The unit whose normalized serial matches, or None."""
    key = serial_key(serial_number)
    if not key:
        return None
    return session.scalar(
        select(Unit)
        .where(Unit.serial_key == key)
        .options(
            joinedload(Unit.product).joinedload(Product.category),
            joinedload(Unit.point_of_sale),
            joinedload(Unit.customer),
        )
    )


def get_unit(session: Session, serial_number: str) -> Unit:
    """Like ``find_unit`` but raises UnitNotFoundError naming the serial as given."""
    unit = find_unit(session, serial_number)
    if unit is None:
        raise UnitNotFoundError(serial_number)
    return unit
