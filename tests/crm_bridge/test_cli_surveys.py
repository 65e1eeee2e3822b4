"""close-ticket and invite-survey from the command line."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from crm_bridge.cli import main
from crm_bridge.schemas import TicketCreate
from crm_bridge.services.tickets import create_ticket
from tests.crm_bridge.conftest import DEMO_DATA
from tests.crm_bridge.factories import ticket_request


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    assert main(["import", str(DEMO_DATA)]) == 0
    return url


def _open(url: str, **values: object) -> str:
    engine = create_engine(url)
    with Session(engine) as session:
        ticket, _ = create_ticket(session, TicketCreate(**ticket_request(**values)))
        number = ticket.number
    engine.dispose()
    return number


def test_invite_survey_needs_a_closed_case_then_invites_once(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    number = _open(database_url, conversation_id="web-cli")
    capsys.readouterr()

    assert main(["invite-survey", number]) == 1
    assert "only a closed case is surveyed" in capsys.readouterr().err
    assert main(["close-ticket", number, "--resolution", "Reparado"]) == 0
    closed = capsys.readouterr().out
    assert main(["invite-survey", number]) == 0
    invited = capsys.readouterr().out

    assert f"{number} closed" in closed
    assert "(post_repair) pending on web web-cli" in closed
    assert invited.splitlines()[0] == closed.splitlines()[1]


def test_a_phone_call_without_a_number_is_not_invited(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    number = _open(
        database_url, channel="voice", conversation_id="voice-CA9", customer=None
    )

    assert main(["close-ticket", number, "--resolution", "Hecho"]) == 0
    assert "no survey invitation: no_phone_number" in capsys.readouterr().out
    assert main(["close-ticket", "WAR-2026-999999", "--resolution", "x"]) == 1
