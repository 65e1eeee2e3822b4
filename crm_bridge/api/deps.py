"""Dependencies of the CRM API routes: settings, database session, service token."""

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from crm_bridge.core.config import Settings

_bearer = HTTPBearer(
    auto_error=False,
    description="The CRM_SERVICE_TOKEN shared with the bot's action server.",
)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


def require_service_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let a request through only with ``Authorization: Bearer <token>``.

    401 when the header is missing or not a bearer token, 403 when the token is
    wrong. The comparison takes the same time whatever the token.
    """
    if credentials is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = credentials.credentials.encode()
    expected = settings.CRM_SERVICE_TOKEN.encode()
    if not hmac.compare_digest(given, expected):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN, detail="invalid service token"
        )
