"""create-agent and demo-accounts from the command line."""

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crm_bridge.cli import main
from crm_bridge.models import Agent, AgentRole
from crm_bridge.services import agents

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "una-clave-larga-2026"


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    return url


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = create_engine(database_url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def typed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """What standard input holds (a pipe: not a terminal)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def accounts(session: Session) -> list[Agent]:
    session.expire_all()
    return list(session.scalars(select(Agent).order_by(Agent.username)))


def test_create_agent_keeps_a_hash_that_signs_in(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    capsys.readouterr()
    typed(monkeypatch, PASSWORD + "\n")

    code = main(["create-agent", "Ana", "--name", "Ana Ruiz", "--password-stdin"])

    assert code == 0
    assert capsys.readouterr().out == "agent ana created\n"
    [agent] = accounts(session)
    assert (agent.username, agent.display_name, agent.role) == (
        "ana",
        "Ana Ruiz",
        AgentRole.AGENT,
    )
    assert agent.languages == ["es", "en"]
    assert agent.skills == ["warranty", "orders", "display"]
    assert agent.active
    assert agent.password_hash.startswith("scrypt$")
    assert PASSWORD not in agent.password_hash
    signed_in, token, _ = agents.log_in(session, "ana", PASSWORD)
    assert signed_in.id == agent.id
    assert agents.session_of(session, token) is not None
    with pytest.raises(agents.LoginRefusedError):
        agents.log_in(session, "ana", PASSWORD + "x")


def test_create_agent_with_a_role_languages_and_skills(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    typed(monkeypatch, PASSWORD + "\n")

    code = main(
        [
            "create-agent",
            "marta",
            "--name",
            "Marta Gil",
            "--role",
            "supervisor",
            "--languages",
            "es",
            "--skills",
            "warranty, orders",
            "--password-stdin",
        ]
    )

    assert code == 0
    assert "supervisor marta created" in capsys.readouterr().out
    [agent] = accounts(session)
    assert agent.role is AgentRole.SUPERVISOR
    assert (agent.languages, agent.skills) == (["es"], ["warranty", "orders"])


def test_a_taken_user_name_is_refused(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    typed(monkeypatch, PASSWORD + "\n")
    assert main(["create-agent", "ana", "--password-stdin"]) == 0
    first_hash = accounts(session)[0].password_hash
    capsys.readouterr()
    typed(monkeypatch, "otra-clave-larga-2026\n")

    code = main(["create-agent", "ANA", "--password-stdin"])

    assert code == 1
    assert capsys.readouterr().err == "error: user name 'ana' is taken\n"
    [agent] = accounts(session)
    assert agent.password_hash == first_hash


def test_a_short_password_is_refused(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    capsys.readouterr()
    typed(monkeypatch, "corta-123\n")

    code = main(["create-agent", "ana", "--password-stdin"])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: password:")
    assert "shorter than 10 characters" in err
    assert "corta-123" not in err
    assert accounts(session) == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--skills", "warranty,billing", "skills: 'billing' is not one of"),
        ("--languages", "es,fr", "languages: 'fr' is not one of"),
    ],
    ids=["skill", "language"],
)
def test_an_unknown_skill_or_language_is_refused(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    message: str,
):
    capsys.readouterr()
    typed(monkeypatch, PASSWORD + "\n")

    code = main(["create-agent", "ana", option, value, "--password-stdin"])

    assert code == 1
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert accounts(session) == []


def test_without_a_terminal_the_password_must_come_from_stdin(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    capsys.readouterr()
    typed(monkeypatch, PASSWORD + "\n")

    code = main(["create-agent", "ana"])

    assert code == 1
    assert capsys.readouterr().err == (
        "error: no terminal to ask the password; use --password-stdin\n"
    )
    assert accounts(session) == []


def test_create_agent_runs_from_the_command_line(tmp_path: Path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cmd.db'}",
        "ENVIRONMENT": "local",
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "crm_bridge.cli"]
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True}

    migrated = subprocess.run([*command, "migrate"], check=False, **run)
    created = subprocess.run(
        [*command, "create-agent", "lucia", "--name", "Lucía", "--password-stdin"],
        input=PASSWORD + "\n",
        check=False,
        **run,
    )
    # A pipe without --password-stdin: refused, not stuck at a prompt.
    refused = subprocess.run(
        [*command, "create-agent", "pablo"],
        input=PASSWORD + "\n",
        check=False,
        timeout=60,
        **run,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert created.returncode == 0, created.stderr
    assert created.stdout == "agent lucia created\n"
    assert refused.returncode == 1
    assert "use --password-stdin" in refused.stderr
    engine = create_engine(env["DATABASE_URL"])
    with Session(engine) as session:
        assert [a.username for a in accounts(session)] == ["lucia"]
        agents.log_in(session, "lucia", PASSWORD)
    engine.dispose()


# -- demo accounts ---------------------------------------------------------------------


def test_demo_accounts_are_created_once_and_sign_in(
    session: Session, capsys: pytest.CaptureFixture[str]
):
    capsys.readouterr()

    assert main(["demo-accounts"]) == 0
    first = capsys.readouterr()
    assert main(["demo-accounts"]) == 0
    second = capsys.readouterr()

    assert first.out == (
        "demo agent agente created\ndemo supervisor supervisora created\n"
    )
    assert (second.out, second.err) == ("", "")
    assert [(a.username, a.role) for a in accounts(session)] == [
        ("agente", AgentRole.AGENT),
        ("supervisora", AgentRole.SUPERVISOR),
    ]
    assert agents.log_in(session, "agente", "agente-demo-2026")
    assert agents.log_in(session, "supervisora", "supervisora-demo-2026")


def test_demo_accounts_leave_a_changed_password_alone(
    session: Session, capsys: pytest.CaptureFixture[str]
):
    assert main(["demo-accounts"]) == 0
    agent = session.scalars(select(Agent).where(Agent.username == "agente")).one()
    agents.update_agent(session, agent.id, password="cambiada-en-local-2026")

    assert main(["demo-accounts"]) == 0

    agents.log_in(session, "agente", "cambiada-en-local-2026")
    with pytest.raises(agents.LoginRefusedError):
        agents.log_in(session, "agente", "agente-demo-2026")


def test_demo_accounts_are_refused_in_production(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("CRM_SERVICE_TOKEN", "a-real-secret-token-for-the-test")
    monkeypatch.setenv("RASA_API_TOKEN", "a-real-rasa-token-for-the-test")
    capsys.readouterr()

    code = main(["demo-accounts"])

    assert code == 1
    assert capsys.readouterr().err == ("error: demo accounts are for local use only\n")
    assert accounts(session) == []
