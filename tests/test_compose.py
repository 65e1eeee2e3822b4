"""docker-compose.yml describes the processes `make run` starts.

No Docker engine runs on the development machines, so the production shape
is checked by reading it against scripts/stack.py, the Dockerfiles and the
settings each process reads.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_bridge.core.config import Settings
from scripts.stack import ROOT, Stack, StackConfig


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def local_processes() -> dict[str, list[str]]:
    stack = Stack(StackConfig())
    return {name: command for name, command, _ in stack.processes()}


def dockerfile_cmd(name: str) -> list[str]:
    text = (ROOT / "docker" / name).read_text()
    match = re.search(r"^CMD (\[.*\])$", text, flags=re.MULTILINE)
    assert match, f"{name} has no exec-form CMD"
    return yaml.safe_load(match.group(1))


def flags(command: list[str]) -> set[str]:
    return {part for part in command if part.startswith("--")}


def port_of(url: str) -> str:
    match = re.search(r":(\d+)", url.split("//", 1)[-1])
    assert match, url
    return match.group(1)


def test_every_local_process_has_a_service(compose, local_processes):
    services = set(compose["services"])
    assert set(local_processes) <= services
    # Production adds the stores that the local mode embeds.
    assert services - set(local_processes) == {"postgres", "redis"}


def test_rasa_runs_the_same_model_server_with_production_endpoints(
    compose, local_processes
):
    rasa = compose["services"]["rasa"]
    version = re.search(
        r"rasa==([\d.]+)", (ROOT / "requirements" / "rasa.txt").read_text()
    )
    assert version and rasa["image"].startswith(f"rasa/rasa:{version.group(1)}")

    command = rasa["command"]
    local = local_processes["rasa"]
    assert command[0] == "run" and local[1] == "run"
    assert flags(local) - {"--interface"} <= flags(command)
    endpoints = command[command.index("--endpoints") + 1]
    assert endpoints.endswith("bot/endpoints.production.yml")
    assert (ROOT / "bot" / "endpoints.production.yml").exists()

    needed = set(
        re.findall(r"\$\{(\w+)\}", (ROOT / endpoints.split("/app/")[-1]).read_text())
    )
    assert needed <= set(rasa["environment"])


def test_action_server_image_runs_the_same_actions(compose, local_processes):
    local = local_processes["actions"]
    image = dockerfile_cmd("actions.Dockerfile")
    assert local[local.index("--actions") + 1] == image[image.index("--actions") + 1]

    port = image[image.index("--port") + 1]
    assert port in compose["services"]["actions"]["expose"]
    action_url = compose["services"]["rasa"]["environment"]["ACTION_ENDPOINT_URL"]
    assert action_url == f"http://actions:{port}/webhook"

    read = set(
        re.findall(r'environ\.get\("(\w+)"', (ROOT / "actions/config.py").read_text())
    )
    given = set(compose["services"]["actions"]["environment"])
    assert {"CRM_URL", "CRM_SERVICE_TOKEN", "ENVIRONMENT"} <= given <= read
    crm_port = port_of(compose["services"]["actions"]["environment"]["CRM_URL"])
    assert crm_port == "8000"


def test_services_app_is_the_same_app_with_its_settings(compose, local_processes):
    service = compose["services"]["services"]
    image = " ".join(dockerfile_cmd("services.Dockerfile"))
    local = local_processes["services"]
    assert local[local.index("uvicorn") + 1] in image and "--factory" in image
    assert "crm_bridge.cli migrate" in image

    environment = service["environment"]
    assert set(environment) <= set(Settings.model_fields)
    assert environment["ENVIRONMENT"] == "production"
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "CRM_SERVICE_TOKEN" in environment
    assert port_of(environment["RASA_URL"]) == "5005"
    # Rasa's HTTP API is on (surveys): the same token on both sides.
    rasa_command = compose["services"]["rasa"]["command"]
    token = rasa_command[rasa_command.index("--auth-token") + 1]
    assert environment["RASA_API_TOKEN"] == token
    assert port_of(environment["ACTION_SERVER_URL"]) == "5055"
    assert any(mapping.endswith(":8000") for mapping in service["ports"])
    # Several replicas agree through Redis; every channel can be switched on.
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    assert "redis" in service["depends_on"]
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_PHONE_NUMBER",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "AGENTS_PHONE_NUMBER",
        "HANDOFF_CONFIG",
    ):
        assert name in environment, name


def test_dockerfiles_copy_what_exists():
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        for source in re.findall(r"^COPY (\S+) ", dockerfile.read_text(), re.M):
            assert Path(ROOT / source).exists(), f"{dockerfile.name}: {source}"
