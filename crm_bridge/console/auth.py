"""Who is asking: the console's session cookie, its CSRF token, the role.

The session token lives in an HttpOnly, SameSite=Strict cookie (Secure when
the service is reached over HTTPS). Every change (POST, PATCH, DELETE) also
carries the session's CSRF token in the ``X-CSRF-Token`` header; before
login, the header must repeat the ``ipsm_console_csrf`` cookie.
"""

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from crm_bridge.api.deps import SettingsDep
from crm_bridge.core.config import Settings
from crm_bridge.models import Agent, AgentRole, AgentSession
from crm_bridge.services import agents

SESSION_COOKIE = "ipsm_console_session"
CSRF_COOKIE = "ipsm_console_csrf"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/console"
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.PUBLIC_BASE_URL.startswith(
        "https://"
    )


def set_cookie(
    response: Response,
    request: Request,
    settings: Settings,
    name: str,
    value: str,
    http_only: bool,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=http_only,
        samesite="strict",
        secure=secure_cookies(request, settings),
    )


def ensure_csrf_cookie(request: Request, response: Response, settings: Settings) -> str:
    """The pre-login CSRF token: the cookie's, or a new one."""
    token = request.cookies.get(CSRF_COOKIE) or ""
    if len(token) < 20:
        token = secrets.token_urlsafe(32)
        set_cookie(response, request, settings, CSRF_COOKIE, token, http_only=False)
    return token


def check_login_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    header = request.headers.get(CSRF_HEADER) or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "missing or wrong CSRF token: reload the login page",
        )


def console_session(request: Request) -> AgentSession:
    """The signed-in session, with its agent; 401 without one. Changes need
    its CSRF token.

    Read in a short session of its own and returned detached, so a request
    waiting on a channel or on Rasa holds no database connection.
    """
    token = request.cookies.get(SESSION_COOKIE) or ""
    with request.app.state.session_factory() as session:
        found = agents.session_of(session, token)
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
        session.expunge(found.agent)
        session.expunge(found)
    if request.method in _UNSAFE:
        header = request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(found.csrf_token.encode(), header.encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token"
            )
    return found


ConsoleSessionDep = Annotated[AgentSession, Depends(console_session)]


def current_agent(found: ConsoleSessionDep) -> Agent:
    return found.agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def supervisor(agent: CurrentAgent) -> Agent:
    if agent.role is not AgentRole.SUPERVISOR:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "for supervisors only")
    return agent


Supervisor = Annotated[Agent, Depends(supervisor)]
__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSessionDep",
    "CurrentAgent",
    "SettingsDep",
    "Supervisor",
]
