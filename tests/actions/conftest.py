"""Fixtures of the custom-action tests, which run in the Rasa environment.

The CRM is the real services app: started once per session with uvicorn from
the services environment (.venv), on an SQLite file migrated and loaded with
crm_bridge/demo_data, on a free loopback port. The actions reach it over
HTTP through their own CrmClient; nothing is mocked.

Run from the repository root with the Rasa environment, and stop pytest at
this folder so tests/conftest.py (services environment only) is not loaded:

    .venv-rasa/bin/python -m pytest --confcutdir=tests/actions tests/actions
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from actions.config import ActionSettings
from actions.crm_client import CrmClient
from tests.actions import factories

ROOT = Path(__file__).resolve().parents[2]
SERVICES_PYTHON = ROOT / ".venv" / "bin" / "python"
DEMO_DATA = ROOT / "crm_bridge" / "demo_data"
TEST_SERVICE_TOKEN = "actions-test-token"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A loopback port nobody listens on (once the probe is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_cli(env: dict[str, str], cwd: Path, *arguments: str) -> None:
    command = [str(SERVICES_PYTHON), "-m", "crm_bridge.cli", *arguments]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}",
            pytrace=False,
        )


def _wait_until_live(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"the CRM exited with {server.returncode}:\n{log.read_text()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(
        f"the CRM did not answer /health/live in {STARTUP_SECONDS:.0f} s:\n"
        f"{log.read_text()}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def crm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running CRM loaded with the demo data."""
    if not SERVICES_PYTHON.exists():
        pytest.fail(f"{SERVICES_PYTHON} is missing: run `make setup`", pytrace=False)
    workdir: Path = tmp_path_factory.mktemp("crm")
    env = {
        **os.environ,
        "ENVIRONMENT": "local",
        "DATABASE_URL": f"sqlite:///{workdir / 'crm.db'}",
        "CRM_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    # The working folder is the temporary one, so no developer's .env is read.
    _run_cli(env, workdir, "migrate")
    _run_cli(env, workdir, "import", str(DEMO_DATA))
    # Conversations are the gateway's to store; tests write them directly.
    factories.CRM_DATABASE = workdir / "crm.db"

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "uvicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(SERVICES_PYTHON),
                "-m",
                "uvicorn",
                "crm_bridge.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_live(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _use_client(monkeypatch: pytest.MonkeyPatch, client: CrmClient) -> CrmClient:
    # Modules import the shared client by name (from actions.warranty_form
    # import crm): replace it in every actions module that holds it.
    for name, module in list(sys.modules.items()):
        if name.startswith("actions.") and isinstance(
            getattr(module, "crm", None), CrmClient
        ):
            monkeypatch.setattr(module, "crm", client)
    return client


@pytest.fixture
def crm(crm_url: str, monkeypatch: pytest.MonkeyPatch) -> CrmClient:
    """The client the actions use, pointed at the running CRM."""
    settings = ActionSettings(
        crm_url=crm_url, crm_token=TEST_SERVICE_TOKEN, crm_timeout_seconds=5.0
    )
    return _use_client(monkeypatch, CrmClient(settings))


def _closed_port_client() -> CrmClient:
    settings = ActionSettings(
        crm_url=f"http://127.0.0.1:{free_port()}",
        crm_token=TEST_SERVICE_TOKEN,
        crm_timeout_seconds=2.0,
    )
    return CrmClient(settings)


@pytest.fixture
def crm_down(monkeypatch: pytest.MonkeyPatch) -> CrmClient:
    """The client the actions use, pointed at a loopback port that is closed."""
    return _use_client(monkeypatch, _closed_port_client())


@pytest.fixture
def crm_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], AbstractContextManager[None]]:
    """Takes the CRM away from the actions for the length of a with block."""

    @contextlib.contextmanager
    def outage() -> Iterator[None]:
        with monkeypatch.context() as patch:
            _use_client(patch, _closed_port_client())
            yield

    return outage


@pytest.fixture
def crm_wrong_token(crm_url: str, monkeypatch: pytest.MonkeyPatch) -> CrmClient:
    """The client the actions use, with a token the CRM refuses (403)."""
    settings = ActionSettings(
        crm_url=crm_url, crm_token="not-the-token", crm_timeout_seconds=5.0
    )
    return _use_client(monkeypatch, CrmClient(settings))


@pytest.fixture
def read_ticket(crm_url: str) -> Callable[[str], dict[str, Any]]:
    """Reads a ticket back from the CRM API, as an agent would see it."""

    def read(number: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{crm_url}/api/v1/tickets/{number}",
            headers={"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    return read


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
