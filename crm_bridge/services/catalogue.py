"""Product categories and their guided checks (first-level troubleshooting)."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import GuidedCheck, Language, ProductCategory
from crm_bridge.services.errors import CategoryNotFoundError


def list_categories(session: Session) -> Sequence[ProductCategory]:
    return session.scalars(select(ProductCategory).order_by(ProductCategory.code)).all()


def get_category(session: Session, code: str) -> ProductCategory:
    category = session.get(ProductCategory, code)
    if category is None:
        raise CategoryNotFoundError(code)
    return category


def list_guided_checks(
    session: Session, category_code: str, language: Language
) -> Sequence[GuidedCheck]:
    """The checks of a category in ``language``, in the order to ask them."""
    get_category(session, category_code)
    return session.scalars(
        select(GuidedCheck)
        .where(
            GuidedCheck.category_code == category_code,
            GuidedCheck.language == language,
        )
        .order_by(GuidedCheck.position)
    ).all()
