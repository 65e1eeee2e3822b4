"""The whole assistant, started once for these tests: services app on a fresh
PostgreSQL database with the demo data, the action server and Rasa with the
trained model, each on a free loopback port."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from scripts.stack import ROOT, Stack, StackConfig
from tests.e2e.chat import WebChat

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
def stack(
    stack_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    model = ROOT / "models" / "ipsm.tar.gz"
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
    )
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
