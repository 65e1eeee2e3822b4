"""The whole assistant, started once for these tests: services app on a fresh
PostgreSQL database with the demo data, the action server and Rasa with the
trained model, each on a free loopback port."""

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from scripts.stack import ROOT, Stack, StackConfig
from tests.e2e.channels import PhoneCall, SmsPhone, TelegramUser
from tests.e2e.chat import WebChat
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_webhooks import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

ASSISTANT_NUMBER = "+34900123456"
TELEGRAM_SECRET = "e2e-webhook-secret"
CRM_SERVICE_TOKEN = "e2e-service-token"
# The machine's Redis: database 14 for the services (keys carry random ids
# and expire), 0 and 1 for Rasa, as bot/endpoints.production.yml says.
REDIS_SERVER = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379"))
REDIS_URL = f"redis://{REDIS_SERVER.hostname}:{REDIS_SERVER.port or 6379}/14"

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def stack_database_url() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated and loaded with demo data."""
    server_url = make_url(
        os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    )
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"ipsm_stack_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    for command in (["migrate"], ["import", "crm_bridge/demo_data"]):
        subprocess.run(
            [sys.executable, "-m", "crm_bridge.cli", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeTelegram]:
    with FakeTelegram().running() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(
    stack_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    twilio_api: FakeTwilio,
    telegram_api: FakeTelegram,
) -> Iterator[Stack]:
    # IPSM_TEST_MODEL: a model trained elsewhere (while models/ is in use).
    model = Path(os.environ.get("IPSM_TEST_MODEL") or ROOT / "models" / "ipsm.tar.gz")
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    workdir: Path = tmp_path_factory.mktemp("stack")
    config = StackConfig(
        services_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=stack_database_url,
        tracker_db=str(workdir / "tracker.db"),
        model=model,
        log_dir=workdir / "log",
        # Rasa keeps the conversations in Redis, as in production, so they
        # survive a restart of Rasa (test_rasa_restart.py).
        endpoints="bot/endpoints.production.yml",
        extra_env={
            "CRM_SERVICE_TOKEN": CRM_SERVICE_TOKEN,
            "REDIS_HOST": REDIS_SERVER.hostname or "127.0.0.1",
            "REDIS_PORT": str(REDIS_SERVER.port or 6379),
            # Every channel on, pointed at the loopback fakes of the platforms,
            # and Redis for the services' coordination, as in production.
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_PHONE_NUMBER": ASSISTANT_NUMBER,
            "TWILIO_API_BASE_URL": twilio_api.base_url,
            "TELEGRAM_BOT_TOKEN": telegram_api.token,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": telegram_api.base_url,
            "REDIS_URL": REDIS_URL,
        },
    )
    config.extra_env["PUBLIC_BASE_URL"] = config.services_url
    running = Stack(config)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def services_url(stack: Stack) -> str:
    return stack.config.services_url


@pytest.fixture(scope="session")
def stack_db(stack_database_url: str) -> Iterator[Engine]:
    engine = create_engine(stack_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def chat(services_url: str) -> Iterator[WebChat]:
    """A new web chat conversation through the public endpoint."""
    with WebChat(services_url) as conversation:
        yield conversation


@pytest.fixture
def sms(
    services_url: str, twilio_api: FakeTwilio, stack_db: Engine
) -> Iterator[SmsPhone]:
    """A new mobile number texting the assistant."""
    number = f"+3461{secrets.randbelow(10**7):07d}"
    phone = SmsPhone(services_url, twilio_api, stack_db, number, ASSISTANT_NUMBER)
    yield phone
    phone.close()


@pytest.fixture
def telegram_user(
    services_url: str, telegram_api: FakeTelegram, stack_db: Engine
) -> Iterator[TelegramUser]:
    """A new person in a private chat with the bot."""
    chat_id = 700_000_000 + secrets.randbelow(10**8)
    user = TelegramUser(services_url, telegram_api, stack_db, chat_id, TELEGRAM_SECRET)
    yield user
    user.close()


@pytest.fixture
def call_from(services_url: str) -> Iterator[Callable[[str], PhoneCall]]:
    """Places calls to the assistant from a number; hangs them up after."""
    calls: list[PhoneCall] = []

    def place(number: str) -> PhoneCall:
        calls.append(PhoneCall(services_url, number, ASSISTANT_NUMBER))
        return calls[-1]

    yield place
    for call in calls:
        call.close()
