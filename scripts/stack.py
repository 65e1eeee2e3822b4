"""Starts the whole assistant on this machine and stops it cleanly.

Three processes, as in production (see docker-compose.yml): the services app
(CRM API, channels, web chat), the Rasa server with the trained model, and
the rasa-sdk action server. `make run` uses it, and so do the end-to-end
tests, each with their own ports and database.

Usage: python scripts/stack.py [--model models/ipsm.tar.gz]
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
SERVICES_PYTHON = ROOT / ".venv" / "bin" / "python"


def dotenv_settings() -> dict[str, str]:
    """The settings in ./.env, which the services app reads too."""
    from dotenv import dotenv_values

    path = ROOT / ".env"
    if not path.exists():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value}


@dataclass
class StackConfig:
    """Ports, storage and files of one running stack."""

    services_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    host: str = "127.0.0.1"
    database_url: str = "sqlite:///var/ipsm.db"
    tracker_db: str = "var/rasa_tracker.db"
    model: Path = ROOT / "models" / "ipsm.tar.gz"
    log_dir: Path = ROOT / "var" / "log"
    # bot/endpoints.production.yml keeps conversations in Redis (REDIS_HOST
    # and REDIS_PORT in extra_env), as docker-compose.yml does.
    endpoints: str = "bot/endpoints.yml"
    extra_env: dict[str, str] = field(default_factory=dict)
    # Rasa's HTTP API token, new for every run: only the services know it. Hex:
    # a token starting with "-" would read as an option on Rasa's command line.
    rasa_api_token: str = field(default_factory=lambda: secrets.token_hex(24))

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def services_url(self) -> str:
        return self.url(self.services_port)


@dataclass
class _Process:
    name: str
    health_url: str
    popen: subprocess.Popen


class Stack:
    """The three processes of the assistant, started and stopped together."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._processes: list[_Process] = []

    def environment(self) -> dict[str, str]:
        config = self.config
        env = {
            **os.environ,
            "DATABASE_URL": config.database_url,
            "CRM_URL": config.services_url,
            "RASA_URL": config.url(config.rasa_port),
            "RASA_API_TOKEN": config.rasa_api_token,
            "ACTION_SERVER_URL": config.url(config.actions_port),
            "ACTION_ENDPOINT_URL": f"{config.url(config.actions_port)}/webhook",
            "RASA_TRACKER_DB": str(Path(config.tracker_db).resolve()),
            # The address the platforms sign their requests for: as set (in
            # the environment or .env), else where the services listen.
            "PUBLIC_BASE_URL": os.environ.get(
                "PUBLIC_BASE_URL",
                dotenv_settings().get("PUBLIC_BASE_URL") or config.services_url,
            ),
            "PYTHONPATH": str(ROOT),
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            **config.extra_env,
        }
        return env

    def processes(self) -> list[tuple[str, list[str], str]]:
        """Each process as (name, command, health URL); docker-compose.yml runs
        the same commands (tests/test_compose.py keeps them in step)."""
        config = self.config
        return [
            (
                "services",
                [
                    str(SERVICES_PYTHON),
                    "-m",
                    "uvicorn",
                    "crm_bridge.main:create_app",
                    "--factory",
                    "--host",
                    config.host,
                    "--port",
                    str(config.services_port),
                    "--log-level",
                    "warning",
                ],
                f"{config.services_url}/health/live",
            ),
            (
                "actions",
                [
                    str(RASA_BIN),
                    "run",
                    "actions",
                    "--actions",
                    "actions",
                    "--port",
                    str(config.actions_port),
                ],
                f"{config.url(config.actions_port)}/health",
            ),
            (
                "rasa",
                [
                    str(RASA_BIN),
                    "run",
                    # The HTTP API: the gateway starts surveys with
                    # trigger_intent (channels/surveys.py). Rasa listens on
                    # loopback here and on the internal network in compose.
                    "--enable-api",
                    "--auth-token",
                    config.rasa_api_token,
                    "--model",
                    str(config.model),
                    "--endpoints",
                    config.endpoints,
                    "--credentials",
                    "bot/credentials.yml",
                    "--interface",
                    config.host,
                    "--port",
                    str(config.rasa_port),
                ],
                config.url(config.rasa_port),
            ),
        ]

    def start(self, timeout: float = 240.0) -> None:
        """Starts every process and waits until each answers its health check.

        Raises:
            RuntimeError: a port is taken, or a process exited.
        """
        config = self.config
        for variable, port in (
            ("SERVICES_PORT", config.services_port),
            ("RASA_PORT", config.rasa_port),
            ("ACTIONS_PORT", config.actions_port),
        ):
            if _port_taken(config.host, port):
                raise RuntimeError(
                    f"port {port} is in use (another `make run`?); stop it or "
                    f"choose another with {variable}=<port> make run"
                )
        config.log_dir.mkdir(parents=True, exist_ok=True)
        Path(config.tracker_db).resolve().parent.mkdir(parents=True, exist_ok=True)
        for name, command, health_url in self.processes():
            self._spawn(name, command, health_url)
        deadline = time.monotonic() + timeout
        for process in self._processes:
            self._wait_healthy(process, deadline)

    def stop(self) -> None:
        """Stops every process: politely first, then for good."""
        for process in self._processes:
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        self._processes.clear()

    def restart(self, name: str, timeout: float = 240.0) -> None:
        """Stops one process and starts it again (a crash and a redeploy)."""
        process = next(p for p in self._processes if p.name == name)
        os.killpg(process.popen.pid, signal.SIGTERM)
        process.popen.wait(timeout=30)
        self._processes.remove(process)
        command, health_url = next(
            (command, url) for n, command, url in self.processes() if n == name
        )
        self._spawn(name, command, health_url)
        self._wait_healthy(self._processes[-1], time.monotonic() + timeout)

    def check_alive(self) -> str | None:
        """Returns the name of a process that died, if any."""
        for process in self._processes:
            if process.popen.poll() is not None:
                return process.name
        return None

    def _spawn(self, name: str, command: list[str], health_url: str) -> None:
        # The child keeps its own copy of the log file descriptor.
        with (self.config.log_dir / f"{name}.log").open("ab") as log:
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(_Process(name, health_url, popen))

    def _wait_healthy(self, process: _Process, deadline: float) -> None:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{process.name} exited with {process.popen.returncode}; "
                    f"see {self.config.log_dir / process.name}.log"
                )
            try:
                with urllib.request.urlopen(process.health_url, timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"{process.name} did not become healthy in time")


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


TWILIO_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER")
TELEGRAM_VARIABLES = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")


def channel_lines(env: dict[str, str]) -> str:
    """Which platform channels are on, and the webhook URLs to give them."""
    public = env.get("PUBLIC_BASE_URL", "").rstrip("/")
    lines = []
    if all(env.get(name) for name in TWILIO_VARIABLES):
        lines.append(f"  Twilio SMS:  {public}/channels/twilio/sms")
        lines.append(f"  Twilio call: {public}/channels/twilio/voice")
        lines.append(f"  Call status: {public}/channels/twilio/voice/status")
    else:
        lines.append(f"  Twilio:      off (set {', '.join(TWILIO_VARIABLES)})")
    if all(env.get(name) for name in TELEGRAM_VARIABLES):
        lines.append(f"  Telegram:    {public}/channels/telegram/webhook")
    else:
        lines.append(f"  Telegram:    off (set {', '.join(TELEGRAM_VARIABLES)})")
    return "".join(f"{line}\n" for line in lines)


def console_lines(services_url: str) -> str:
    """Where agents sign in, and the demo accounts `make db` created."""
    from crm_bridge.cli import DEMO_ACCOUNTS

    lines = [f"  Agents:      {services_url}/console"]
    for username, _name, password, role in DEMO_ACCOUNTS:
        lines.append(f"               {role.value}: {username} / {password}")
    return "".join(f"{line}\n" for line in lines)


def ready_message(config: StackConfig, env: dict[str, str]) -> str:
    """What `make run` prints once everything answers."""
    return (
        f"\n  Web chat:    {config.services_url}/chat\n"
        f"{console_lines(config.services_url)}"
        f"  CRM API:     {config.services_url}/docs\n"
        f"  Health:      {config.services_url}/health\n"
        f"{channel_lines({**dotenv_settings(), **env})}"
        f"  Logs:        {config.log_dir}/\n\n"
        "Press Ctrl-C to stop everything."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "ipsm.tar.gz")
    args = parser.parse_args()
    config = StackConfig(
        services_port=int(os.environ.get("SERVICES_PORT", "8000")),
        rasa_port=int(os.environ.get("RASA_PORT", "5005")),
        actions_port=int(os.environ.get("ACTIONS_PORT", "5055")),
        database_url=os.environ.get("DATABASE_URL", "sqlite:///var/ipsm.db"),
        model=args.model,
    )
    stack = Stack(config)
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        "==> Starting the services app, the action server and Rasa "
        "(loading the model takes about 30 s)…",
        flush=True,
    )
    try:
        stack.start()
    except RuntimeError as error:
        print(f"!! {error}", flush=True)
        return 1
    print(ready_message(config, stack.environment()), flush=True)
    while not stopping:
        dead = stack.check_alive()
        if dead:
            print(f"!! {dead} stopped unexpectedly; see {config.log_dir}/{dead}.log")
            break
        time.sleep(0.5)
    print("\n==> Stopping…", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
