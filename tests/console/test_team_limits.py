"""What a team needs beyond the happy path: guesses sent in parallel, an agent
who leaves, the last supervisor, what a customer hears when a person joins,
the survey after a conversation, and values handed back to the assistant."""

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from channels.notices import notice
from crm_bridge.importer import import_directory
from crm_bridge.models import Conversation, Handoff, SurveyInvitation
from crm_bridge.services import agents
from tests.channels.fake_rasa import FakeRasa
from tests.console.conftest import (
    Accounts,
    Desk,
    Waiting,
    log_in,
    request_person,
    say,
    ticket_events,
)
from tests.console.test_console_api import conversation_path
from tests.crm_bridge.conftest import DEMO_DATA


@pytest.fixture
def demo_surveys(db: Session) -> None:
    """The demo data, surveys included."""
    result = import_directory(db, DEMO_DATA)
    assert result.ok, [str(error) for error in result.errors]


def pushed_texts(server: TestClient, engine: Engine, conversation_id: str) -> list[str]:
    """What was sent into the conversation outside the assistant's turns."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT text FROM conversation_messages WHERE conversation_id = "
            f"'{conversation_id}' AND direction = 'out' AND reply_to_id IS NULL "
            "ORDER BY id"
        )
        return [row.text for row in rows]


def test_guesses_sent_at_once_get_no_more_checks_than_the_limit(
    browser: Callable[[], TestClient], accounts: Accounts
):
    attempts = 12
    start = threading.Barrier(attempts)
    answers: list[int] = []

    def guess(number: int) -> None:
        client = browser()
        client.get("/console/login")
        start.wait()
        answer = log_in(client, accounts.bruno.username, f"wrong-guess-{number}")
        answers.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    right = log_in(browser(), accounts.bruno.username, accounts.bruno.password)

    # Each guess was counted before its password was checked: five checked,
    # the rest refused unchecked, and the right password waits too.
    assert sorted(answers) == [401] * agents.MAX_FAILED_LOGINS + [429] * (
        attempts - agents.MAX_FAILED_LOGINS
    )
    assert right.status_code == 429


def test_a_deactivated_agent_s_conversations_go_back_to_the_queue(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
):
    case = waiting("warranty")
    cid = case.conversation_id
    bruno = sign_in(accounts.bruno)
    sara = sign_in(accounts.supervisor)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    gone = sara.patch(f"/console/api/agents/{accounts.bruno.id}", {"active": False})
    say(server, cid, "hola? sigue ahi alguien?")
    queue = sara.get("/console/api/queue").json()
    taken = sara.post(conversation_path(cid, "claim"))

    assert gone.status_code == 200
    assert [item["conversation_id"] for item in queue["waiting"]] == [cid]
    assert taken.status_code == 200
    released = [e for e in ticket_events(server, case.ticket_number)]
    assert [e["kind"] for e in released].count("handoff_released") == 1
    assert [e for e in released if e["kind"] == "handoff_released"][0]["detail"] == {
        "held_by": "bruno",
        "why": "deactivated",
    }


def test_a_supervisor_puts_a_held_conversation_back_in_the_queue(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)
    sara = sign_in(accounts.supervisor)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    refused = bruno.post(conversation_path(cid, "release"))
    released = sara.post(conversation_path(cid, "release"))
    again = sara.post(conversation_path(cid, "release"))
    reclaimed = bruno.post(conversation_path(cid, "claim"))

    assert refused.status_code == 403
    assert released.status_code == 200
    assert released.json()["status"] == "waiting"
    assert again.status_code == 409
    assert reclaimed.status_code == 200


def test_with_one_supervisor_left_she_stays_one(
    sign_in: Callable[..., Desk], accounts: Accounts, db: Session
):
    other = agents.create_agent(
        db, "sonia", "Sonia Sanz", "correct-horse-43", agents.AgentRole.SUPERVISOR
    )
    sara = sign_in(accounts.supervisor)
    assert sara.patch(f"/console/api/agents/{other.id}", {"active": False}).is_success

    # Sara is the only active supervisor: a second one cannot remove her
    # either (there is none), and the service refuses it outright.
    with pytest.raises(agents.LastSupervisorError):
        agents.update_agent(db, accounts.supervisor.id, role=agents.AgentRole.AGENT)


def test_the_person_is_told_who_joined_and_the_agent_s_name(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
    clean_db: Engine,
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)

    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    assert pushed_texts(server, clean_db, cid) == [
        notice("agent_joined", "es", name="Bruno")
    ]


def test_closing_a_conversation_asks_about_the_person_not_a_repair(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    clean_db: Engine,
    demo_surveys: None,
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    closed = bruno.post(
        conversation_path(cid, "close"),
        {"resolution": "Explicado el uso", "resolved_first_contact": True},
    )

    assert closed.status_code == 200
    with Session(clean_db) as session:
        [invitation] = session.scalars(select(SurveyInvitation)).all()
    assert invitation.survey_code == "post_contact"


@pytest.mark.parametrize(
    ("slots", "reason"),
    [
        ({"language": "xx-evil"}, "is not es or en"),
        ({"fault_description": "x" * 501}, "500"),
        ({"registration_code": "TURIA-4471"}, "cannot be set"),
    ],
)
def test_values_handed_back_are_checked_before_anything_changes(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    rasa: FakeRasa,
    clean_db: Engine,
    slots: dict[str, str],
    reason: str,
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    refused = bruno.post(conversation_path(cid, "hand-back"), {"slots": slots})

    assert refused.status_code == 422
    assert reason in refused.text
    assert rasa.appended == []
    with Session(clean_db) as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == cid))
        assert handoff is not None and handoff.status.value == "active"


def test_a_nul_in_a_value_handed_back_is_dropped(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    rasa: FakeRasa,
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200

    handed = bruno.post(
        conversation_path(cid, "hand-back"), {"slots": {"serial_number": "WM\x00 4821"}}
    )

    assert handed.status_code == 200
    assert rasa.slots[cid]["serial_number"] == "WM 4821"


def test_many_replies_at_once_all_go_out(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
):
    cid = waiting("warranty").conversation_id
    bruno = sign_in(accounts.bruno)
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200
    replies = 20
    start = threading.Barrier(replies)
    answers: list[int] = []

    def reply(number: int) -> None:
        start.wait()
        answer = bruno.post(conversation_path(cid, "messages"), {"text": f"r{number}"})
        answers.append(answer.status_code)

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(replies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # No request keeps a database connection while the message goes out, so
    # twenty at once never run the pool dry.
    assert answers == [202] * replies
    transcript = bruno.get(conversation_path(cid)).json()["messages"]
    sent = {m["text"] for m in transcript if m["author"] == "agent"}
    assert sent == {f"r{number}" for number in range(replies)}


def test_a_call_takes_no_written_reply(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    server: TestClient,
    db: Session,
):
    db.add(Conversation(id="voice-CA123", channel="voice", address="+34600111222"))
    db.commit()
    request_person(server, "voice-CA123", "warranty")
    bruno = sign_in(accounts.bruno)
    assert bruno.post(conversation_path("voice-CA123", "claim")).status_code == 200

    refused = bruno.post(conversation_path("voice-CA123", "messages"), {"text": "hola"})

    assert refused.status_code == 409
    assert "phone call" in refused.json()["detail"]
