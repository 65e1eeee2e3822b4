"""Fixtures of the console tests: the services app on a fake Rasa, accounts,
browsers signed in as them, and conversations waiting for a person.

Every test runs on SQLite and on PostgreSQL (the shared fixtures of
tests/conftest.py). One TestClient runs the app's lifespan (``server``);
each person at the console gets a browser of their own (``browser``): a
TestClient with its own cookie jar that talks to the same running app.
"""

import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crm_bridge.console.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from crm_bridge.models import AgentRole, Base
from crm_bridge.services import agents
from tests.channels.fake_rasa import FakeRasa
from tests.conftest import TEST_SERVICE_TOKEN, make_settings

PASSWORD = "correct-horse-42"


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def console_settings_for(
    database_url: str, rasa_url: str, **overrides: str
) -> Settings:
    return make_settings(
        database_url,
        RASA_URL=rasa_url,
        ACTION_SERVER_URL=closed_port_url(),
        **overrides,
    )


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def console_settings(migrated_settings: Settings, rasa: FakeRasa) -> Settings:
    return console_settings_for(migrated_settings.DATABASE_URL, rasa.url)


@pytest.fixture
def console_app(console_settings: Settings, clean_db: Engine) -> FastAPI:
    return create_app(console_settings)


@pytest.fixture
def server(console_app: FastAPI) -> Iterator[TestClient]:
    """The running app, as the channels and the bot's actions reach it (the
    CRM service token is sent; console cookies never are)."""
    headers = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
    with TestClient(console_app, headers=headers) as client:
        yield client


@pytest.fixture
def browser(
    console_app: FastAPI, server: TestClient
) -> Iterator[Callable[[], TestClient]]:
    """Makes browsers: clients with their own cookies on the running app."""
    opened: list[TestClient] = []

    def open_browser() -> TestClient:
        client = TestClient(console_app, follow_redirects=False)
        # The server's event loop: the app's async clients live there.
        client.portal = server.portal
        opened.append(client)
        return client

    yield open_browser
    for client in opened:
        httpx.Client.close(client)


@dataclass
class Account:
    id: int
    username: str
    display_name: str
    password: str


@dataclass
class Accounts:
    supervisor: Account
    ana: Account  # an agent who knows orders only
    bruno: Account  # an agent who knows warranty and orders


def add_account(
    db: Session,
    username: str,
    display_name: str,
    role: AgentRole = AgentRole.AGENT,
    skills: tuple[str, ...] = ("warranty", "orders", "display"),
    password: str = PASSWORD,
) -> Account:
    agent = agents.create_agent(
        db, username, display_name, password, role, ("es", "en"), skills
    )
    return Account(agent.id, agent.username, agent.display_name, password)


@pytest.fixture
def accounts(db: Session) -> Accounts:
    return Accounts(
        supervisor=add_account(db, "sara", "Sara Soto", AgentRole.SUPERVISOR),
        ana=add_account(db, "ana", "Ana Alba", skills=("orders",)),
        bruno=add_account(db, "bruno", "Bruno Blanco", skills=("warranty", "orders")),
    )


@dataclass
class Desk:
    """A browser signed in to the console; changes carry the CSRF token."""

    client: TestClient
    account: Account
    csrf: str

    @property
    def session_cookie(self) -> str:
        return self.client.cookies[SESSION_COOKIE]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, json: Any = None) -> httpx.Response:
        return self.client.post(path, json=json, headers={CSRF_HEADER: self.csrf})

    def patch(self, path: str, json: Any = None) -> httpx.Response:
        return self.client.patch(path, json=json, headers={CSRF_HEADER: self.csrf})


def log_in(client: TestClient, username: str, password: str) -> httpx.Response:
    """Signs in as the login page does: the page's CSRF cookie, then the form."""
    page = client.get("/console/login")
    assert page.status_code == 200
    token = client.cookies[CSRF_COOKIE]
    return client.post(
        "/console/api/login",
        json={"username": username, "password": password},
        headers={CSRF_HEADER: token},
    )


@pytest.fixture
def sign_in(browser: Callable[[], TestClient]) -> Callable[[Account], Desk]:
    def sign_in_as(account: Account) -> Desk:
        client = browser()
        answer = log_in(client, account.username, account.password)
        assert answer.status_code == 200, answer.text
        return Desk(client, account, answer.json()["csrf_token"])

    return sign_in_as


# -- conversations ------------------------------------------------------------


def say(server: TestClient, conversation_id: str, text: str) -> httpx.Response:
    """The person writes in the web chat."""
    answer = server.post(
        "/channels/web/messages",
        json={
            "conversation_id": conversation_id,
            "message_id": uuid.uuid4().hex,
            "text": text,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer


def start_conversation(server: TestClient, first_message: str = "hola") -> str:
    answer = server.post("/channels/web/conversations")
    assert answer.status_code == 201
    conversation_id = answer.json()["conversation_id"]
    say(server, conversation_id, first_message)
    return conversation_id


def request_person(
    server: TestClient, conversation_id: str, module: str, language: str = "es"
) -> str:
    """What action_request_human does: a handoff ticket; returns its number."""
    answer = server.post(
        "/api/v1/tickets",
        json={
            "idempotency_key": uuid.uuid4().hex,
            "kind": "handoff",
            "channel": "web",
            "conversation_id": conversation_id,
            "language": language,
            "module": module,
        },
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["number"]


@dataclass
class Waiting:
    conversation_id: str
    ticket_number: str


@pytest.fixture
def waiting(server: TestClient) -> Callable[..., Waiting]:
    """Opens a web conversation whose person asked for an agent."""

    def open_waiting(module: str = "warranty", first_message: str = "hola") -> Waiting:
        conversation_id = start_conversation(server, first_message)
        return Waiting(conversation_id, request_person(server, conversation_id, module))

    return open_waiting


def ticket_events(server: TestClient, number: str) -> list[dict[str, Any]]:
    answer = server.get(f"/api/v1/tickets/{number}")
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused request changed
    nothing."""
    with engine.connect() as connection:
        return {
            table.name: sorted(
                repr(tuple(row)) for row in connection.execute(select(table))
            )
            for table in Base.metadata.sorted_tables
        }
