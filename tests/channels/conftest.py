"""Fixtures shared by the channel tests."""

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from tests.channels.fake_rasa import FakeRasa
from tests.conftest import make_settings
from tests.fakes.fixtures import fake_telegram, fake_twilio  # noqa: F401
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_webhooks import TEST_AUTH_TOKEN, sign

# -- Twilio (SMS and voice) ---------------------------------------------------

# The public address Twilio is configured with; the tests' requests reach the
# app at http://testserver, as behind a proxy or a tunnel.
TWILIO_PUBLIC_BASE_URL = "https://example.org"
TWILIO_NUMBER = "+34900000000"


class ScriptedRasa(FakeRasa):
    """The echoing fake Rasa, unless a test sets ``script``.

    ``script`` receives the body of the turn (sender, message, metadata) and
    returns Rasa's messages without ``recipient_id``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.script: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
        # A shorter poll than http.server's 0.5 s makes stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def _turn(self, body: dict[str, Any]) -> tuple[int, Any]:
        status, answer = super()._turn(body)
        if status != 200 or self.script is None:
            return status, answer
        return status, [
            {"recipient_id": body["sender"], **message} for message in self.script(body)
        ]


@pytest.fixture
def twilio_rasa() -> Iterator[ScriptedRasa]:
    fake = ScriptedRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_settings(
    migrated_settings: Settings,
    twilio_rasa: ScriptedRasa,
    fake_twilio: FakeTwilio,  # noqa: F811 - the fixture imported above
) -> Settings:
    """The services app with Twilio on, talking to the loopback fakes only."""
    return make_settings(
        migrated_settings.DATABASE_URL,
        RASA_URL=twilio_rasa.url,
        PUBLIC_BASE_URL=TWILIO_PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_PHONE_NUMBER=TWILIO_NUMBER,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
        VOICE_TURN_WAIT_SECONDS="3",
    )


@pytest.fixture
def twilio_app(twilio_settings: Settings, clean_db: Engine) -> Iterator[TestClient]:
    """A running app (lifespan, background turns and sweep) with Twilio on."""
    with TestClient(create_app(twilio_settings)) as client:
        yield client


def post_signed(
    client: TestClient,
    path: str,
    params: dict[str, str],
    *,
    signed_url: str | None = None,
    auth_token: str = TEST_AUTH_TOKEN,
) -> httpx.Response:
    """POSTs a webhook signed as Twilio signs it, over the public URL.

    ``path`` may carry a query string; ``signed_url`` signs another URL.
    """
    url = signed_url or f"{TWILIO_PUBLIC_BASE_URL}{path}"
    return client.post(path, data=params, headers=sign(url, params, auth_token))


def wait_until(
    condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
) -> Any:
    """Polls ``condition`` until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.02)
    return result


def a_minute_later() -> dt.datetime:
    """A sweep's "now" past the pause before a message counts as left behind."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


# -- the agent console and event streams ---------------------------------------


def console_log_in(
    client: TestClient | httpx.Client, username: str, password: str
) -> str:
    """Signs in as the console page does; returns the session's CSRF token."""
    assert client.get("/console/login").status_code == 200
    csrf = client.cookies.get("ipsm_console_csrf", path="/console") or ""
    answer = client.post(
        "/console/api/login",
        json={"username": username, "password": password},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf_token"]


def read_sse(lines: Iterator[str]) -> dict[str, str]:
    """The next server-sent event's fields; comments (keep-alives) skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")
    raise AssertionError(f"the stream ended; last fields {fields}")
