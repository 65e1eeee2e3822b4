"""Console accounts: agents and supervisors, their passwords and sessions.

Passwords are kept as scrypt hashes with a random salt; a session is a random
token in an HttpOnly cookie, kept here only as its SHA-256, with the CSRF
token the console sends back on every change.
"""

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from crm_bridge.core.db import as_stored, as_utc
from crm_bridge.models import Agent, AgentRole, AgentSession
from crm_bridge.services.errors import CrmError, InvalidValueError
from crm_bridge.services.handoff_policy import MODULES

logger = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(hours=12)
# Wrong passwords in a row before an account waits, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
LANGUAGES = ("es", "en")


class AgentExistsError(CrmError):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"user name {username!r} is taken")


class AgentNotFoundError(CrmError):
    def __init__(self, agent_id: int) -> None:
        self.agent_id = agent_id
        super().__init__(f"agent {agent_id} not found")


class LastSupervisorError(CrmError):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(
            f"{username} is the last active supervisor: make someone else "
            "supervisor first"
        )


class LoginRefusedError(CrmError):
    """Wrong user name or password; never says which."""

    def __init__(self) -> None:
        super().__init__("wrong user name or password")


class LoginLockedError(CrmError):
    def __init__(self, until: dt.datetime) -> None:
        self.until = until
        super().__init__("too many wrong passwords; try again in 15 minutes")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    params = f"{_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}"
    return f"scrypt${params}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            dklen=32,
            n=int(n),
            r=int(r),
            p=int(p),
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


# A hash to check against when the user name is unknown: the answer takes as
# long as for a known one.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(12))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValueError(
            "password", "…", f"is shorter than {MIN_PASSWORD_LENGTH} characters"
        )


def _check_lists(languages: Iterable[str], skills: Iterable[str]) -> None:
    for language in languages:
        if language not in LANGUAGES:
            raise InvalidValueError("languages", language, f"is not one of {LANGUAGES}")
    for skill in skills:
        if skill not in MODULES:
            raise InvalidValueError("skills", skill, f"is not one of {MODULES}")


def create_agent(
    session: Session,
    username: str,
    display_name: str,
    password: str,
    role: AgentRole = AgentRole.AGENT,
    languages: Iterable[str] = LANGUAGES,
    skills: Iterable[str] = ("warranty", "orders", "display"),
) -> Agent:
    """Adds an account; commits.

    Raises:
        AgentExistsError: the user name is taken.
        InvalidValueError: a short password, an unknown language or skill.
    """
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").isalnum():
        raise InvalidValueError("username", username, "must be letters and digits")
    _check_password(password)
    languages, skills = list(languages), list(skills)
    _check_lists(languages, skills)
    if session.scalar(select(Agent.id).where(Agent.username == username)):
        raise AgentExistsError(username)
    agent = Agent(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        languages=languages,
        skills=skills,
        active=True,
    )
    session.add(agent)
    session.commit()
    logger.info("console account %s created (%s)", username, role.value)
    return agent


def update_agent(
    session: Session,
    agent_id: int,
    *,
    display_name: str | None = None,
    password: str | None = None,
    role: AgentRole | None = None,
    languages: list[str] | None = None,
    skills: list[str] | None = None,
    active: bool | None = None,
) -> Agent:
    """Changes an account; a new password or deactivation ends its sessions."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFoundError(agent_id)
    _check_lists(languages or (), skills or ())
    stops_supervising = agent.role is AgentRole.SUPERVISOR and (
        active is False or role is AgentRole.AGENT
    )
    if stops_supervising:
        # The other supervisors' rows stay locked until the commit: two
        # supervisors demoting each other at once cannot leave none.
        others = session.scalars(
            select(Agent.id)
            .where(
                Agent.role == AgentRole.SUPERVISOR,
                Agent.active.is_(True),
                Agent.id != agent.id,
            )
            .with_for_update()
        ).all()
        if not others:
            session.rollback()
            raise LastSupervisorError(agent.username)
    if display_name is not None and display_name.strip():
        agent.display_name = display_name.strip()
    if role is not None:
        agent.role = role
    if languages is not None:
        agent.languages = languages
    if skills is not None:
        agent.skills = skills
    if password is not None:
        _check_password(password)
        agent.password_hash = hash_password(password)
        agent.failed_logins = 0
    if active is not None:
        agent.active = active
    if password is not None or active is False:
        session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
    session.commit()
    return agent


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.username)))


def log_in(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> tuple[Agent, str, AgentSession]:
    """Checks the password and opens a session; commits.

    Returns:
        The agent, the session token for the cookie, and the session.

    Raises:
        LoginRefusedError: unknown user, wrong password or inactive account.
        LoginLockedError: too many wrong passwords lately.
    """
    now = now or dt.datetime.now(dt.UTC)
    agent = session.scalar(
        select(Agent).where(Agent.username == username.strip().lower())
    )
    if agent is None:
        verify_password(password, _DUMMY_HASH)
        raise LoginRefusedError()
    # The attempt is counted before the password is checked, in one UPDATE:
    # guesses sent in parallel each see the others' count, so no burst gets
    # more than MAX_FAILED_LOGINS checks. Attempts older than LOCKOUT are
    # forgotten; once locked, more attempts do not push the end further.
    session.execute(
        update(Agent)
        .where(
            Agent.id == agent.id,
            Agent.failed_login_at < as_stored(session, now - LOCKOUT),
        )
        .values(failed_logins=0)
    )
    attempts = session.execute(
        update(Agent)
        .where(Agent.id == agent.id)
        .values(
            failed_logins=Agent.failed_logins + 1,
            failed_login_at=case(
                (Agent.failed_logins < MAX_FAILED_LOGINS, as_stored(session, now)),
                else_=Agent.failed_login_at,
            ),
        )
        .returning(Agent.failed_logins, Agent.failed_login_at)
    ).one()
    session.commit()
    if attempts.failed_logins > MAX_FAILED_LOGINS:
        raise LoginLockedError((as_utc(attempts.failed_login_at) or now) + LOCKOUT)
    if not verify_password(password, agent.password_hash) or not agent.active:
        logger.warning("console login refused for %s", agent.username)
        raise LoginRefusedError()
    agent.failed_logins = 0
    token = secrets.token_urlsafe(32)
    opened = AgentSession(
        token_hash=_token_hash(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(opened)
    session.commit()
    logger.info("console login: %s", agent.username)
    return agent, token, opened


def session_of(
    session: Session, token: str, now: dt.datetime | None = None
) -> AgentSession | None:
    """The live session of a cookie token, with its agent; None otherwise."""
    if not token:
        return None
    now = now or dt.datetime.now(dt.UTC)
    found = session.scalar(
        select(AgentSession).where(AgentSession.token_hash == _token_hash(token))
    )
    if found is None or not found.agent.active:
        return None
    expires = as_utc(found.expires_at)
    if expires is None or expires <= now:
        return None
    return found


def log_out(session: Session, token: str) -> None:
    session.execute(
        delete(AgentSession).where(AgentSession.token_hash == _token_hash(token))
    )
    session.commit()


def mark_seen(session: Session, agent_id: int, now: dt.datetime | None = None) -> None:
    """The agent's console is open now: they count as online."""
    session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(last_seen_at=now or dt.datetime.now(dt.UTC))
    )
    session.commit()


def is_online(agent: Agent, online_seconds: int, now: dt.datetime) -> bool:
    seen = as_utc(agent.last_seen_at)
    return seen is not None and now - seen <= dt.timedelta(seconds=online_seconds)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
