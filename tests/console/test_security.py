"""Who may use the console: sessions, roles, CSRF, cookies and passwords.

The routes are read from the app itself, so a route added later is checked
without anyone remembering to list it here.
"""

import datetime as dt
from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from crm_bridge.console.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from crm_bridge.main import create_app
from crm_bridge.models import Agent, AgentSession
from tests.channels.conftest import wait_until
from tests.channels.fake_rasa import FakeRasa
from tests.console.conftest import (
    PASSWORD,
    Accounts,
    Desk,
    Waiting,
    console_settings_for,
    log_in,
    snapshot,
    start_conversation,
)

# The only console routes anyone may use without signing in.
PUBLIC = {("GET", "/console/login"), ("GET", "/console/static/{name}")}
# Signing in itself: no session yet, but the login page's CSRF token.
SIGN_IN = ("POST", "/console/api/login")
PAGES = {"/console", "/console/"}
# Routes of the contract (briefs/console_api.md): the enumeration finds them.
CONTRACT = {
    ("GET", "/console"),
    ("GET", "/console/login"),
    ("GET", "/console/static/{name}"),
    ("POST", "/console/api/login"),
    ("POST", "/console/api/logout"),
    ("GET", "/console/api/me"),
    ("GET", "/console/api/queue"),
    ("GET", "/console/api/events"),
    ("GET", "/console/api/conversations"),
    ("GET", "/console/api/conversations/{conversation_id}"),
    ("POST", "/console/api/conversations/{conversation_id}/claim"),
    ("POST", "/console/api/conversations/{conversation_id}/takeover"),
    ("POST", "/console/api/conversations/{conversation_id}/messages"),
    ("POST", "/console/api/conversations/{conversation_id}/notes"),
    ("POST", "/console/api/conversations/{conversation_id}/tickets"),
    ("PATCH", "/console/api/tickets/{number}"),
    ("POST", "/console/api/conversations/{conversation_id}/hand-back"),
    ("POST", "/console/api/conversations/{conversation_id}/close"),
    ("GET", "/console/api/attachments/{attachment_id}"),
    ("GET", "/console/api/agents"),
    ("POST", "/console/api/agents"),
    ("PATCH", "/console/api/agents/{agent_id}"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
WRONG_LOGIN = {"detail": "wrong user name or password"}


def console_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves under /console."""
    found = set()
    for route in app.routes:
        path = getattr(route, "path", "")
        if path == "/console" or path.startswith("/console/"):
            assert isinstance(route, APIRoute), f"{path}: not an API route"
            found |= {(method, path) for method in route.methods}
    return found


def sample_path(template: str, **values: object) -> str:
    """The template with sample values; a new parameter needs one here."""
    samples: dict[str, object] = {
        "conversation_id": "web-unknown",
        "number": "GEN-2026-000001",
        "agent_id": 1,
        "attachment_id": 1,
        "name": "console.js",
        **values,
    }
    try:
        return template.format(**samples)
    except KeyError as missing:
        raise AssertionError(f"{template}: add a sample for {missing}") from None


def send(client: TestClient, method: str, path: str, json: dict) -> httpx.Response:
    if method not in UNSAFE:
        return client.request(method, path)
    return client.request(method, path, json=json)


def cookie_attributes(response, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie of the response, lower-cased names."""
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        if name in parsed:
            morsel = parsed[name]
            found = {key: str(value) for key, value in morsel.items() if value}
            found["value"] = morsel.value
            # SimpleCookie keeps flags as True; record them by presence.
            lowered = header.lower()
            found["httponly"] = "httponly" in lowered
            found["secure"] = "; secure" in lowered
            return found
    raise AssertionError(f"no Set-Cookie {name} in {response.headers}")


def session_count(engine: Engine, agent_id: int | None = None) -> int:
    query = select(func.count(AgentSession.id))
    if agent_id is not None:
        query = query.where(AgentSession.agent_id == agent_id)
    with Session(engine) as session:
        return session.scalar(query) or 0


# -- signed out --------------------------------------------------------------------


def test_every_console_route_but_the_public_ones_refuses_a_stranger(
    console_app: FastAPI, browser: Callable[[], TestClient], accounts: Accounts
) -> None:
    routes = console_routes(console_app)
    assert routes >= CONTRACT, f"missing: {CONTRACT - routes}"

    answered = set()
    for forged in (None, "forged-session-token-0123456789"):
        for method, template in sorted(routes):
            client = browser()
            if forged:
                client.cookies.set(SESSION_COOKIE, forged, path="/console")
            body = {"username": "ana", "password": PASSWORD}
            if (method, template) != SIGN_IN:
                body = {}
            answer = send(client, method, sample_path(template), json=body)
            where = f"{method} {template} (cookie {forged!r})"
            if answer.is_success:
                answered.add((method, template))
            elif (method, template) == SIGN_IN:
                # No CSRF token from the login page: refused before anything.
                assert answer.status_code == 403, where
            elif template in PAGES:
                assert answer.status_code == 303, where
                assert answer.headers["location"] == "/console/login", where
            else:
                assert answer.status_code == 401, where
                assert answer.json() == {"detail": "sign in first"}, where
                assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")

    assert answered == PUBLIC


def test_the_public_pages_show_no_data(browser: Callable[[], TestClient]) -> None:
    client = browser()

    login_page = client.get("/console/login")
    script = client.get("/console/static/console.js")
    style = client.get("/console/static/console.css")
    outside = client.get("/console/static/..%2Fauth.py")

    assert login_page.status_code == 200
    assert "text/html" in login_page.headers["content-type"]
    assert "<form" in login_page.text.lower()
    assert client.cookies.get(CSRF_COOKIE)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert style.status_code == 200
    assert outside.status_code == 404


# -- roles -------------------------------------------------------------------------


@pytest.fixture
def supervisor_routes(
    server: TestClient, accounts: Accounts
) -> list[tuple[str, str, dict | None]]:
    """The supervisor-only calls, each one that would change something."""
    bot_conversation = start_conversation(server, "quiero saber de mi pedido")
    return [
        ("GET", "/console/api/agents", None),
        (
            "POST",
            "/console/api/agents",
            {
                "username": "mallory",
                "display_name": "Mallory",
                "password": "mallory-password-1",
                "role": "supervisor",
            },
        ),
        # Promoting themselves, and deactivating a colleague.
        ("PATCH", f"/console/api/agents/{accounts.ana.id}", {"role": "supervisor"}),
        ("PATCH", f"/console/api/agents/{accounts.bruno.id}", {"active": False}),
        ("GET", "/console/api/conversations?scope=bot", None),
        ("POST", f"/console/api/conversations/{bot_conversation}/takeover", {}),
    ]


def test_an_agent_cannot_use_supervisor_routes(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    supervisor_routes: list[tuple[str, str, dict | None]],
    clean_db: Engine,
) -> None:
    ana = sign_in(accounts.ana)
    before = snapshot(clean_db)

    for method, path, body in supervisor_routes:
        headers = {CSRF_HEADER: ana.csrf}
        answer = ana.client.request(method, path, json=body, headers=headers)

        assert answer.status_code == 403, f"{method} {path}: {answer.text}"
        assert answer.json() == {"detail": "for supervisors only"}
    assert snapshot(clean_db) == before
    assert ana.get("/console/api/me").json()["role"] == "agent"


def test_a_supervisor_may_use_them(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    supervisor_routes: list[tuple[str, str, dict | None]],
) -> None:
    sara = sign_in(accounts.supervisor)

    for method, path, body in supervisor_routes:
        headers = {CSRF_HEADER: sara.csrf}
        answer = sara.client.request(method, path, json=body, headers=headers)

        assert answer.is_success, f"{method} {path}: {answer.text}"


# -- CSRF --------------------------------------------------------------------------


def test_every_change_needs_the_sessions_csrf_token(
    console_app: FastAPI,
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    clean_db: Engine,
) -> None:
    case = waiting("warranty")
    sara = sign_in(accounts.supervisor)
    ana = sign_in(accounts.ana)
    assert sara.post(
        f"/console/api/conversations/{case.conversation_id}/claim"
    ).is_success
    bodies = {
        "/console/api/agents": {
            "username": "mallory",
            "display_name": "Mallory",
            "password": "mallory-password-1",
        },
        "/console/api/agents/{agent_id}": {"active": False},
        "/console/api/tickets/{number}": {"description": "forged"},
        "/console/api/conversations/{conversation_id}/messages": {"text": "forged"},
        "/console/api/conversations/{conversation_id}/notes": {"text": "forged"},
        "/console/api/conversations/{conversation_id}/tickets": {"description": "x"},
        "/console/api/conversations/{conversation_id}/hand-back": {"slots": {}},
        "/console/api/conversations/{conversation_id}/close": {
            "resolution": "forged",
            "resolved_first_contact": True,
        },
    }
    changes = sorted(
        (method, template)
        for method, template in console_routes(console_app)
        if method in UNSAFE and (method, template) != SIGN_IN
    )
    assert len(changes) >= 10
    # The claim told the person who joined: wait until that went out, so the
    # snapshot does not change under the test.
    wait_until(
        lambda: "pending" not in str(snapshot(clean_db)["conversation_messages"]),
        what="the joined notice sent",
    )
    before = snapshot(clean_db)

    for method, template in changes:
        path = sample_path(
            template,
            conversation_id=case.conversation_id,
            number=case.ticket_number,
            agent_id=accounts.ana.id,
        )
        for token in (None, "", "wrong-token", ana.csrf):
            headers = {} if token is None else {CSRF_HEADER: token}
            answer = sara.client.request(
                method, path, json=bodies.get(template, {}), headers=headers
            )

            where = f"{method} {template} with token {token!r}"
            assert answer.status_code == 403, where
            assert answer.json() == {"detail": "missing or wrong CSRF token"}, where

    assert snapshot(clean_db) == before
    # The same session with its own token is heard.
    assert sara.post("/console/api/logout").status_code == 204


def test_signing_in_needs_the_login_pages_csrf_token(
    browser: Callable[[], TestClient], accounts: Accounts, clean_db: Engine
) -> None:
    credentials = {"username": "ana", "password": PASSWORD}
    no_page = browser()
    header_only = browser()
    cookie_only = browser()
    cookie_only.get("/console/login")
    mismatched = browser()
    mismatched.get("/console/login")

    answers = [
        no_page.post("/console/api/login", json=credentials),
        header_only.post(
            "/console/api/login",
            json=credentials,
            headers={CSRF_HEADER: "a" * 43},
        ),
        cookie_only.post("/console/api/login", json=credentials),
        mismatched.post(
            "/console/api/login",
            json=credentials,
            headers={CSRF_HEADER: "b" * 43},
        ),
    ]

    for answer in answers:
        assert answer.status_code == 403
        assert "CSRF" in answer.json()["detail"]
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert session_count(clean_db) == 0


# -- cookies and sessions -----------------------------------------------------------


def test_the_session_cookie_is_out_of_reach_of_scripts_and_other_sites(
    browser: Callable[[], TestClient], accounts: Accounts
) -> None:
    answer = log_in(browser(), "ana", PASSWORD)

    assert answer.status_code == 200
    session = cookie_attributes(answer, SESSION_COOKIE)
    assert session["httponly"] is True
    assert session["samesite"].lower() == "strict"
    assert session["path"] == "/console"
    assert session["secure"] is False  # plain http in local use
    csrf = cookie_attributes(answer, CSRF_COOKIE)
    assert csrf["httponly"] is False  # the page reads it
    assert csrf["samesite"].lower() == "strict"
    assert csrf["value"] == answer.json()["csrf_token"]
    assert session["value"] not in answer.text


def test_cookies_are_secure_when_the_service_is_public_over_https(
    migrated_settings, rasa: FakeRasa, clean_db: Engine, accounts: Accounts
) -> None:
    settings = console_settings_for(
        migrated_settings.DATABASE_URL,
        rasa.url,
        PUBLIC_BASE_URL="https://console.example.org",
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        page = client.get("/console/login")
        answer = log_in(client, "ana", PASSWORD)

    assert cookie_attributes(page, CSRF_COOKIE)["secure"] is True
    assert answer.status_code == 200
    assert cookie_attributes(answer, SESSION_COOKIE)["secure"] is True
    assert cookie_attributes(answer, SESSION_COOKIE)["httponly"] is True
    assert cookie_attributes(answer, CSRF_COOKIE)["secure"] is True


def replay(browser: Callable[[], TestClient], cookie: str) -> TestClient:
    """Another browser holding a copy of a session cookie."""
    thief = browser()
    thief.cookies.set(SESSION_COOKIE, cookie, path="/console")
    return thief


def test_logging_out_ends_the_session_on_the_server(
    sign_in: Callable[..., Desk],
    browser: Callable[[], TestClient],
    accounts: Accounts,
    clean_db: Engine,
) -> None:
    ana = sign_in(accounts.ana)
    cookie = ana.session_cookie
    copy = replay(browser, cookie)
    assert copy.get("/console/api/me").status_code == 200

    assert ana.post("/console/api/logout").status_code == 204

    assert session_count(clean_db, accounts.ana.id) == 0
    assert copy.get("/console/api/me").status_code == 401
    assert copy.get("/console").headers["location"] == "/console/login"
    assert replay(browser, cookie).get("/console/api/queue").status_code == 401


def test_deactivating_an_agent_ends_their_sessions(
    sign_in: Callable[..., Desk], accounts: Accounts, clean_db: Engine
) -> None:
    sara = sign_in(accounts.supervisor)
    ana = sign_in(accounts.ana)
    ana_again = sign_in(accounts.ana)

    answer = sara.patch(f"/console/api/agents/{accounts.ana.id}", {"active": False})

    assert answer.status_code == 200
    assert answer.json()["active"] is False
    assert ana.get("/console/api/me").status_code == 401
    assert ana_again.get("/console/api/queue").status_code == 401
    assert session_count(clean_db, accounts.ana.id) == 0
    # Coming back active does not revive the old sessions.
    sara.patch(f"/console/api/agents/{accounts.ana.id}", {"active": True})
    assert ana.get("/console/api/me").status_code == 401
    assert sara.get("/console/api/me").status_code == 200


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(
    sign_in: Callable[..., Desk],
    browser: Callable[[], TestClient],
    accounts: Accounts,
    clean_db: Engine,
) -> None:
    sara = sign_in(accounts.supervisor)
    ana = sign_in(accounts.ana)

    answer = sara.patch(
        f"/console/api/agents/{accounts.ana.id}", {"password": "a-brand-new-one-7"}
    )

    assert answer.status_code == 200
    assert ana.get("/console/api/me").status_code == 401
    assert session_count(clean_db, accounts.ana.id) == 0
    assert log_in(browser(), "ana", PASSWORD).status_code == 401
    assert log_in(browser(), "ana", "a-brand-new-one-7").status_code == 200


# -- passwords ----------------------------------------------------------------------


def test_passwords_are_stored_as_salted_scrypt_hashes(
    accounts: Accounts, clean_db: Engine
) -> None:
    with clean_db.connect() as connection:
        rows = connection.execute(text("SELECT * FROM agents")).mappings().all()

    assert len(rows) == 3
    for row in rows:
        assert row["password_hash"].startswith("scrypt$")
        assert all(PASSWORD not in str(value) for value in row.values())
    # Same password, different salts.
    assert len({row["password_hash"] for row in rows}) == 3


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    browser: Callable[[], TestClient], accounts: Accounts, db: Session
) -> None:
    wrong_password = log_in(browser(), "ana", "not-her-password")
    unknown_user = log_in(browser(), "nobody", PASSWORD)
    db.execute(update(Agent).where(Agent.username == "bruno").values(active=False))
    db.commit()
    inactive = log_in(browser(), "bruno", PASSWORD)

    for answer in (wrong_password, unknown_user, inactive):
        assert answer.status_code == 401
        assert answer.json() == WRONG_LOGIN
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    browser: Callable[[], TestClient], accounts: Accounts, db: Session, clean_db: Engine
) -> None:
    client = browser()
    wrong = [log_in(client, "ana", f"guess-number-{n}") for n in range(5)]

    locked = log_in(client, "ana", PASSWORD)
    others = log_in(browser(), "bruno", PASSWORD)

    assert [answer.status_code for answer in wrong] == [401] * 5
    assert locked.status_code == 429
    assert "15 minutes" in locked.json()["detail"]
    assert SESSION_COOKIE not in locked.headers.get("set-cookie", "")
    assert session_count(clean_db, accounts.ana.id) == 0
    assert others.status_code == 200

    # Fourteen minutes later: still locked. Sixteen: the password works.
    def last_failure(minutes_ago: int) -> None:
        moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
        db.execute(
            update(Agent).where(Agent.username == "ana").values(failed_login_at=moment)
        )
        db.commit()

    last_failure(14)
    assert log_in(browser(), "ana", PASSWORD).status_code == 429
    last_failure(16)
    assert log_in(browser(), "ana", PASSWORD).status_code == 200
