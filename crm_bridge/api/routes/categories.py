"""Product categories and the guided checks the assistant walks through."""

from fastapi import APIRouter, HTTPException, status

from crm_bridge.api.deps import SessionDep
from crm_bridge.models import Language
from crm_bridge.schemas import CategoryPublic, GuidedCheckPublic
from crm_bridge.services import catalogue
from crm_bridge.services.errors import CategoryNotFoundError

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("", response_model=list[CategoryPublic])
def read_categories(
    session: SessionDep, language: Language = Language.ES
) -> list[CategoryPublic]:
    """List the product categories, named in `language`."""
    return [
        CategoryPublic(code=category.code, name=category.name(language))
        for category in catalogue.list_categories(session)
    ]


@router.get(
    "/{code}/checks",
    response_model=list[GuidedCheckPublic],
    responses={status.HTTP_404_NOT_FOUND: {"description": "Unknown category"}},
)
def read_category_checks(
    code: str, session: SessionDep, language: Language = Language.ES
) -> list[GuidedCheckPublic]:
    """List the first-level checks of a category, in the order to ask them.

    Each `question` expects a yes or no; `advice` is what to tell the person
    when the answer is yes.
    """
    try:
        checks = catalogue.list_guided_checks(session, code, language)
    except CategoryNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return [GuidedCheckPublic.model_validate(check) for check in checks]
