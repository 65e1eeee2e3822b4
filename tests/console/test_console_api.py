"""The console's API at work: who reads which conversation, claiming,
escaping, the team, and the trail each handoff leaves in the CRM."""

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from crm_bridge.models import (
    Attachment,
    ConversationMessage,
    ConversationNote,
    Handoff,
    HandoffStatus,
    Ticket,
)
from tests.channels.fake_rasa import FakeRasa
from tests.console.conftest import (
    PASSWORD,
    Accounts,
    Desk,
    Waiting,
    log_in,
    request_person,
    say,
    ticket_events,
)

NOT_YOURS = {"detail": "this conversation is not assigned to you"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def conversation_path(conversation_id: str, action: str = "") -> str:
    path = f"/console/api/conversations/{conversation_id}"
    return f"{path}/{action}" if action else path


def attach(db: Session, conversation_id: str, content: bytes, content_type: str) -> int:
    """A file the person sent with their first message, already fetched."""
    message_id = db.scalar(
        select(ConversationMessage.id)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.direction == "in",
        )
        .order_by(ConversationMessage.id)
        .limit(1)
    )
    attachment = Attachment(
        conversation_id=conversation_id,
        message_id=message_id,
        content_type=content_type,
        filename="photo",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        source="test://file",
        content=content,
    )
    db.add(attachment)
    db.commit()
    return attachment.id


def handoff_of(engine: Engine, conversation_id: str) -> Handoff:
    with Session(engine) as session:
        found = session.scalar(
            select(Handoff)
            .where(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        assert found is not None
        return found


def note_count(engine: Engine, conversation_id: str) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count(ConversationNote.id)).where(
                ConversationNote.conversation_id == conversation_id
            )
        )


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["kind"] for event in events]


# -- who reads what ------------------------------------------------------------------


def test_an_agent_cannot_read_a_conversation_for_other_skills(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
    db: Session,
    clean_db: Engine,
) -> None:
    case = waiting("warranty", "la lavadora pierde agua")
    photo = attach(db, case.conversation_id, PNG, "image/png")
    ana = sign_in(accounts.ana)  # orders only
    events_before = ticket_events(server, case.ticket_number)

    read = ana.get(conversation_path(case.conversation_id))
    file = ana.get(f"/console/api/attachments/{photo}")
    note = ana.post(conversation_path(case.conversation_id, "notes"), {"text": "x"})
    edit = ana.patch(
        f"/console/api/tickets/{case.ticket_number}", {"description": "changed"}
    )
    claim = ana.post(conversation_path(case.conversation_id, "claim"))
    queue = ana.get("/console/api/queue").json()

    assert (read.status_code, read.json()) == (403, NOT_YOURS)
    assert "la lavadora" not in read.text
    assert (file.status_code, file.json()) == (403, NOT_YOURS)
    assert PNG not in file.content
    assert (note.status_code, note.json()) == (403, NOT_YOURS)
    assert edit.status_code == 404
    assert claim.status_code == 403
    assert queue["waiting"] == []
    assert note_count(clean_db, case.conversation_id) == 0
    assert ticket_events(server, case.ticket_number) == events_before
    assert handoff_of(clean_db, case.conversation_id).status is HandoffStatus.WAITING
    # The agents it is offered to, and supervisors, read it.
    for desk in (sign_in(accounts.bruno), sign_in(accounts.supervisor)):
        answer = desk.get(conversation_path(case.conversation_id))
        assert answer.status_code == 200
        assert answer.json()["messages"][0]["text"] == "la lavadora pierde agua"
        assert desk.get(f"/console/api/attachments/{photo}").content == PNG


def test_an_agent_cannot_touch_a_conversation_a_colleague_holds(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
    rasa: FakeRasa,
    db: Session,
    clean_db: Engine,
) -> None:
    case = waiting("orders", "me falta un palé del pedido")
    photo = attach(db, case.conversation_id, PNG, "image/png")
    bruno = sign_in(accounts.bruno)
    ana = sign_in(accounts.ana)  # orders: it was offered to her too
    assert bruno.post(conversation_path(case.conversation_id, "claim")).is_success
    events_before = ticket_events(server, case.ticket_number)
    cid = case.conversation_id

    read = ana.get(conversation_path(cid))
    file = ana.get(f"/console/api/attachments/{photo}")
    note = ana.post(conversation_path(cid, "notes"), {"text": "mine now"})
    edit = ana.patch(f"/console/api/tickets/{case.ticket_number}", {"note": "x"})
    claim = ana.post(conversation_path(cid, "claim"))
    reply = ana.post(conversation_path(cid, "messages"), {"text": "Soy Ana"})
    hand_back = ana.post(conversation_path(cid, "hand-back"), {"slots": {}})
    close = ana.post(
        conversation_path(cid, "close"),
        {"resolution": "closed by someone else", "resolved_first_contact": True},
    )

    assert (read.status_code, read.json()) == (403, NOT_YOURS)
    assert (file.status_code, file.json()) == (403, NOT_YOURS)
    assert (note.status_code, note.json()) == (403, NOT_YOURS)
    assert edit.status_code == 404
    assert (claim.status_code, claim.json()) == (
        409,
        {"detail": "already taken by Bruno Blanco"},
    )
    for answer in (reply, hand_back, close):
        assert (answer.status_code, answer.json()) == (403, NOT_YOURS)
    handoff = handoff_of(clean_db, cid)
    assert handoff.status is HandoffStatus.ACTIVE
    assert handoff.agent_id == accounts.bruno.id
    assert note_count(clean_db, cid) == 0
    assert rasa.appended == []
    assert ticket_events(server, case.ticket_number) == events_before
    transcript = bruno.get(conversation_path(cid)).json()
    assert [m["text"] for m in transcript["messages"]].count("Soy Ana") == 0
    assert transcript["mine"] is True
    # A supervisor reads it, without taking it over.
    seen = sign_in(accounts.supervisor).get(conversation_path(cid))
    assert seen.status_code == 200
    assert seen.json()["mine"] is False
    assert seen.json()["handoff"]["agent"]["display_name"] == "Bruno Blanco"


def test_an_agent_no_longer_reads_a_conversation_they_handed_back(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
) -> None:
    case = waiting("warranty", "no centrifuga")
    bruno = sign_in(accounts.bruno)
    cid = case.conversation_id
    assert bruno.post(conversation_path(cid, "claim")).is_success
    assert bruno.post(
        conversation_path(cid, "messages"), {"text": "Anotado"}
    ).is_success

    handed = bruno.post(conversation_path(cid, "hand-back"), {"slots": {}})
    say(server, cid, "gracias, y mi tarjeta es 4111 1111 1111 1111")
    again = bruno.get(conversation_path(cid))
    supervisor = sign_in(accounts.supervisor).get(conversation_path(cid))

    assert handed.status_code == 200
    assert handed.json()["status"] == "handed_back"
    # What the person says to the assistant afterwards is not Bruno's to read.
    assert again.status_code == 403
    assert "4111" not in again.text
    # A supervisor reads the whole conversation, the agent's part included.
    assert supervisor.status_code == 200
    assert supervisor.json()["handoff"]["status"] == "handed_back"
    texts = [message["text"] for message in supervisor.json()["messages"]]
    assert "no centrifuga" in texts and "Anotado" in texts
    # The conversation is the assistant's again: no more replies from Bruno.
    late = bruno.post(conversation_path(cid, "messages"), {"text": "otra cosa"})
    assert late.status_code == 409


def test_an_unknown_conversation_is_not_found(
    sign_in: Callable[..., Desk], accounts: Accounts
) -> None:
    for desk in (sign_in(accounts.ana), sign_in(accounts.supervisor)):
        answer = desk.get(conversation_path("web-does-not-exist"))

        assert answer.status_code == 404
        assert answer.json() == {"detail": "no such conversation"}


# -- claiming exactly once ---------------------------------------------------------


def claim_together(
    app: FastAPI, accounts: Accounts, conversation_id: str
) -> dict[str, httpx.Response]:
    """Bruno and Sara click "claim" at the same moment, each in a browser of
    their own. These clients run each request on their own event loop, so
    the two claims really overlap in the database."""
    clients = {
        account.username: TestClient(app, follow_redirects=False)
        for account in (accounts.bruno, accounts.supervisor)
    }
    tokens = {
        name: log_in(client, name, PASSWORD).json()["csrf_token"]
        for name, client in clients.items()
    }
    start = threading.Barrier(len(clients))
    answers: dict[str, httpx.Response] = {}

    def click(name: str) -> None:
        start.wait()
        answers[name] = clients[name].post(
            conversation_path(conversation_id, "claim"),
            headers={"X-CSRF-Token": tokens[name]},
        )

    threads = [threading.Thread(target=click, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for client in clients.values():
        client.close()
    assert len(answers) == len(clients), "a claim never answered"
    return answers


@pytest.mark.parametrize("round_", range(3))
def test_two_agents_claiming_at_once_get_it_exactly_once(
    round_: int,
    console_app: FastAPI,
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
    clean_db: Engine,
) -> None:
    case = waiting("warranty")
    names = {"bruno": "Bruno Blanco", "sara": "Sara Soto"}

    answers = claim_together(console_app, accounts, case.conversation_id)

    codes = sorted(answer.status_code for answer in answers.values())
    assert codes == [200, 409], {k: a.text for k, a in answers.items()}
    winner = next(name for name, a in answers.items() if a.status_code == 200)
    loser = next(name for name in answers if name != winner)
    assert answers[winner].json()["agent"]["display_name"] == names[winner]
    assert answers[loser].json() == {"detail": f"already taken by {names[winner]}"}
    handoff = handoff_of(clean_db, case.conversation_id)
    assert handoff.status is HandoffStatus.ACTIVE
    assert (
        handoff.agent_id
        == getattr(accounts, "bruno" if winner == "bruno" else "supervisor").id
    )
    claims = [
        event
        for event in ticket_events(server, case.ticket_number)
        if event["kind"] == "handoff_claimed"
    ]
    assert len(claims) == 1
    assert claims[0]["actor"] == f"agent:{winner}"


# -- escaping -----------------------------------------------------------------------


def test_markup_from_a_customer_comes_back_as_plain_text(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
) -> None:
    script = "<script>alert(1)</script>"
    case = waiting("warranty", script)
    sara = sign_in(accounts.supervisor)

    answer = sara.get(conversation_path(case.conversation_id))

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    customer = [m for m in answer.json()["messages"] if m["author"] == "customer"]
    assert customer[0]["text"] == script


@pytest.mark.parametrize(
    "path", ["/console", "/console/login", "/console/static/console.js"]
)
def test_console_pages_allow_only_their_own_scripts(
    path: str, sign_in: Callable[..., Desk], accounts: Accounts
) -> None:
    answer = sign_in(accounts.ana).get(path)

    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_attachments_are_sandboxed_and_only_images_show_inline(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    db: Session,
) -> None:
    case = waiting("warranty", "adjunto la factura")
    page = b"<html><script>alert(document.cookie)</script></html>"
    photo = attach(db, case.conversation_id, PNG, "image/png")
    html = attach(db, case.conversation_id, page, "text/html")
    sara = sign_in(accounts.supervisor)

    shown = sara.get(f"/console/api/attachments/{photo}")
    downloaded = sara.get(f"/console/api/attachments/{html}")
    listed = sara.get(conversation_path(case.conversation_id)).json()

    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.content == PNG
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/octet-stream"
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert downloaded.content == page
    for answer in (shown, downloaded):
        assert "sandbox" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    files = listed["messages"][0]["attachments"]
    assert [f["url"] for f in files] == [
        f"/console/api/attachments/{photo}",
        f"/console/api/attachments/{html}",
    ]


# -- the team -----------------------------------------------------------------------


def test_a_supervisor_manages_the_team(
    sign_in: Callable[..., Desk],
    browser: Callable[[], TestClient],
    accounts: Accounts,
) -> None:
    sara = sign_in(accounts.supervisor)
    carla = {
        "username": "carla",
        "display_name": "Carla Cruz",
        "password": "carla-password-9",
        "role": "agent",
        "languages": ["en"],
        "skills": ["display"],
    }

    created = sara.post("/console/api/agents", carla)
    duplicate = sara.post(
        "/console/api/agents", {**carla, "username": "CARLA", "password": "x" * 12}
    )
    short = sara.post(
        "/console/api/agents", {**carla, "username": "dario", "password": "short"}
    )
    listed = sara.get("/console/api/agents").json()["agents"]

    assert created.status_code == 201
    assert created.json() | {"id": 0} == {
        "id": 0,
        "username": "carla",
        "display_name": "Carla Cruz",
        "role": "agent",
        "languages": ["en"],
        "skills": ["display"],
        "active": True,
        "online": False,
    }
    assert duplicate.status_code == 409
    assert "carla" in duplicate.json()["detail"]
    assert short.status_code == 422
    assert "shorter than 10 characters" in short.json()["detail"]
    assert [a["username"] for a in listed] == ["ana", "bruno", "carla", "sara"]
    assert all("password" not in str(agent).lower() for agent in listed)
    first_login = log_in(browser(), "carla", "carla-password-9")
    assert first_login.status_code == 200
    assert first_login.json()["skills"] == ["display"]

    carla_id = created.json()["id"]
    deactivated = sara.patch(f"/console/api/agents/{carla_id}", {"active": False})
    refused = log_in(browser(), "carla", "carla-password-9")

    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False
    assert refused.status_code == 401
    assert refused.json() == {"detail": "wrong user name or password"}
    team = {
        a["username"]: a["active"]
        for a in sara.get("/console/api/agents").json()["agents"]
    }
    assert team == {"ana": True, "bruno": True, "carla": False, "sara": True}


def test_a_supervisor_cannot_deactivate_or_demote_themselves(
    sign_in: Callable[..., Desk], accounts: Accounts
) -> None:
    sara = sign_in(accounts.supervisor)
    own = f"/console/api/agents/{accounts.supervisor.id}"

    deactivate = sara.patch(own, {"active": False})
    demote = sara.patch(own, {"role": "agent"})

    for answer in (deactivate, demote):
        assert answer.status_code == 409
        assert "yourself" in answer.json()["detail"]
    me = sara.get("/console/api/me")
    assert me.status_code == 200
    assert me.json()["role"] == "supervisor"


# -- the trail in the CRM ----------------------------------------------------------


def test_each_step_of_a_handoff_is_an_event_on_its_ticket(
    sign_in: Callable[..., Desk],
    accounts: Accounts,
    waiting: Callable[..., Waiting],
    server: TestClient,
    rasa: FakeRasa,
    clean_db: Engine,
) -> None:
    case = waiting("warranty", "quiero hablar con una persona")
    cid = case.conversation_id
    bruno = sign_in(accounts.bruno)
    say(server, cid, "¿hay alguien?")

    # First stretch: claimed, answered, given back to the assistant.
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200
    reply = bruno.post(conversation_path(cid, "messages"), {"text": "Hola, soy Bruno"})
    handed = bruno.post(
        conversation_path(cid, "hand-back"), {"slots": {"serial_number": "WM-1"}}
    )
    assert reply.status_code == 202
    assert handed.status_code == 200
    assert rasa.appended[-1][1][-1] == {
        "event": "slot",
        "name": "serial_number",
        "value": "WM-1",
    }
    # The first request was answered: its case is resolved.
    first = server.get(f"/api/v1/tickets/{case.ticket_number}").json()
    assert first["status"] == "resolved"
    # Second stretch: the person asks again (a new case); closed at first
    # contact.
    second_number = request_person(server, cid, "warranty")
    assert second_number != case.ticket_number
    assert bruno.post(conversation_path(cid, "claim")).status_code == 200
    closed = bruno.post(
        conversation_path(cid, "close"),
        {"resolution": "Placa sustituida", "resolved_first_contact": True},
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"

    ticket = server.get(f"/api/v1/tickets/{second_number}").json()

    def handoff_steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            event
            for event in events
            if event["kind"].startswith("handoff_")
            or event["kind"] in ("agent_reply", "handed_back")
        ]

    steps = handoff_steps(first["events"]) + handoff_steps(ticket["events"])
    assert kinds(steps) == [
        "handoff_requested",
        "handoff_claimed",
        "agent_reply",
        "handed_back",
        "handoff_requested",
        "handoff_claimed",
        "handoff_closed",
    ]
    assert [event["actor"] for event in steps] == [
        "customer",
        "agent:bruno",
        "agent:bruno",
        "agent:bruno",
        "customer",
        "agent:bruno",
        "agent:bruno",
    ]
    for event in steps:
        assert event["created_at"]
    for claimed in (steps[1], steps[5]):
        assert isinstance(claimed["detail"]["waited_seconds"], int)
        assert claimed["detail"]["waited_seconds"] >= 0
    assert steps[6]["detail"]["resolved_first_contact"] is True
    assert ticket["status"] == "closed"
    assert ticket["resolved_first_contact"] is True
    closing = [event for event in ticket["events"] if event["kind"] == "closed"]
    assert closing[0]["detail"]["resolution"] == "Placa sustituida"
    with Session(clean_db) as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == second_number))
        assert stored is not None and stored.resolution == "Placa sustituida"
    # What the person saw (a supervisor reads it: the case is closed, it is
    # no longer Bruno's): Bruno's words, then the assistant again.
    transcript = (
        sign_in(accounts.supervisor).get(conversation_path(cid)).json()["messages"]
    )
    by_bruno = [m for m in transcript if m["author"] == "agent"]
    assert [(m["text"], m["agent_name"]) for m in by_bruno] == [
        ("Hola, soy Bruno", "Bruno Blanco")
    ]
