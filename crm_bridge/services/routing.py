"""Choosing the service centre (CAT) that covers an area and a category."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.models import ServiceCentre, ServiceCentreArea, ServiceCentreCategory


def find_service_centre(
    session: Session, postal_code: str, category_code: str
) -> ServiceCentre | None:
    """The centre repairing ``category_code`` whose area best fits ``postal_code``.

    The longest matching postal prefix wins ("460" beats "46"); a tie goes to
    the lowest centre code so the choice is stable.
    """
    prefixes = [postal_code[:length] for length in range(1, len(postal_code) + 1)]
    return session.scalar(
        select(ServiceCentre)
        .join(ServiceCentreArea)
        .join(ServiceCentreCategory)
        .where(
            ServiceCentreArea.postal_prefix.in_(prefixes),
            ServiceCentreCategory.category_code == category_code,
        )
        .order_by(
            func.length(ServiceCentreArea.postal_prefix).desc(), ServiceCentre.code
        )
        .limit(1)
    )
