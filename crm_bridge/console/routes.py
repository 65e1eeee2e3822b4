"""The agent console's pages and API (the contract is in the module docs of
each route; the page itself is crm_bridge/console/static/).

Every route but the login page and static files checks the session; changes
check its CSRF token; supervisor routes check the role; a conversation is
read only by a supervisor or an agent it is (or was) offered to.
"""

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.gateway import CONSOLE_TOPIC, Gateway, storable
from channels.notices import notice
from channels.rasa_client import RasaUnavailableError
from channels.web import GatewayDep, NonBlankText, live_messages
from crm_bridge.api.deps import SessionDep, SettingsDep
from crm_bridge.console import views
from crm_bridge.console.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleSessionDep,
    CurrentAgent,
    Supervisor,
    check_login_csrf,
    ensure_csrf_cookie,
    set_cookie,
)
from crm_bridge.models import (
    Agent,
    AgentRole,
    Attachment,
    Conversation,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from crm_bridge.services import agents, handoffs
from crm_bridge.services.errors import CrmError, InvalidValueError
from crm_bridge.services.handoff_policy import MODULES

logger = logging.getLogger(__name__)
T = TypeVar("T")

STATIC = Path(__file__).resolve().parent / "static"
KEEPALIVE_SECONDS = 15.0
# How often an open console counts its agent as online again.
SEEN_EVERY_SECONDS = 20.0
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Images the console shows inline; anything else downloads.
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

router = APIRouter(prefix="/console", include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=SECURITY_HEADERS)


# -- pages ---------------------------------------------------------------------


@router.get("/login")
def read_login_page(request: Request, settings: SettingsDep) -> Response:
    response = _page("login.html")
    ensure_csrf_cookie(request, response, settings)
    return response


@router.get("")
@router.get("/")
def read_console_page(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE) or ""
    if agents.session_of(session, token) is None:
        return RedirectResponse("/console/login", status.HTTP_303_SEE_OTHER)
    return _page("console.html")


@router.get("/static/{name}")
def read_static(name: str) -> Response:
    path = STATIC / name
    if (
        path.suffix not in (".js", ".css")
        or not path.is_file()
        or path.parent != STATIC
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    media = "text/javascript" if path.suffix == ".js" else "text/css"
    return FileResponse(path, media_type=media, headers=SECURITY_HEADERS)


# -- signing in and out ------------------------------------------------------------


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=200)


class MePublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: AgentRole
    languages: list[str]
    skills: list[str]
    csrf_token: str


def _me(agent: Agent, csrf_token: str) -> MePublic:
    return MePublic(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,
        languages=list(agent.languages or []),
        skills=list(agent.skills or []),
        csrf_token=csrf_token,
    )


@router.post("/api/login", response_model=MePublic)
def log_in(
    body: LoginBody,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> MePublic:
    check_login_csrf(request)
    try:
        agent, token, opened = agents.log_in(session, body.username, body.password)
    except agents.LoginLockedError as error:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(error)) from error
    except agents.LoginRefusedError as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from error
    lifetime = int(agents.SESSION_LIFETIME.total_seconds())
    set_cookie(response, request, settings, SESSION_COOKIE, token, True, lifetime)
    set_cookie(response, request, settings, CSRF_COOKIE, opened.csrf_token, False)
    response.headers["Cache-Control"] = "no-store"
    return _me(agent, opened.csrf_token)


@router.post("/api/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(request: Request, _found: ConsoleSessionDep, session: SessionDep) -> None:
    agents.log_out(session, request.cookies.get(SESSION_COOKIE) or "")


@router.get("/api/me", response_model=MePublic)
def read_me(found: ConsoleSessionDep) -> MePublic:
    return _me(found.agent, found.csrf_token)


# -- the queue ---------------------------------------------------------------------


@router.get("/api/queue")
def read_queue(agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    agents.mark_seen(session, agent.id, now)
    queue = handoffs.queue(session, agent)
    return {
        "waiting": [views.handoff_item(session, h, now) for h in queue.waiting],
        "active": [views.handoff_item(session, h, now) for h in queue.active],
        "now": now.isoformat(),
    }


@router.get("/api/events")
async def stream_events(
    request: Request, agent: CurrentAgent, gateway: GatewayDep
) -> StreamingResponse:
    """Queue and transcript changes, pushed as server-sent events; the page
    reads again what changed. Published through the coordinator, so every
    process behind a load balancer sees every other's changes."""
    agent_id = agent.id
    token = request.cookies.get(SESSION_COOKIE) or ""
    factory = request.app.state.session_factory
    sees_all = agent.role is AgentRole.SUPERVISOR

    def visible(event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as this agent may see it: a change to a conversation
        they may not read says only that the queue changed."""
        conversation_id = event.get("conversation_id")
        if sees_all or not conversation_id:
            return event
        with factory() as session:
            if handoffs.can_read(session, agent, conversation_id):
                return event
        if event.get("event") == "queue":
            return {"event": "queue", "what": event.get("what")}
        return None

    def seen() -> bool:
        """Counts the agent online again; False once the session has ended
        (logged out, deactivated), which ends the stream."""
        with factory() as session:
            if agents.session_of(session, token) is None:
                return False
            agents.mark_seen(session, agent_id)
            return True

    async def events() -> AsyncIterator[str]:
        async with gateway.coordinator.subscribe(CONSOLE_TOPIC) as live:
            await run_in_threadpool(seen)
            yield "event: hello\ndata: {}\n\n"
            last_seen = asyncio.get_running_loop().time()
            async for data in live_messages(request, live, KEEPALIVE_SECONDS):
                if asyncio.get_running_loop().time() - last_seen > SEEN_EVERY_SECONDS:
                    if not await run_in_threadpool(seen):
                        return
                    last_seen = asyncio.get_running_loop().time()
                if data is None:
                    yield ": keep-alive\n\n"
                    continue
                event = await run_in_threadpool(visible, json.loads(data))
                if event is None:
                    continue
                kind = event.pop("event", "queue")
                yield f"event: {kind}\ndata: {json.dumps(event)}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- one conversation -----------------------------------------------------------------


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.session_factory


Sessions = Annotated[sessionmaker[Session], Depends(_sessions)]


async def in_db(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Runs ``work`` with a session of its own, off the event loop; the
    connection goes back to the pool before the route awaits anything else
    (a channel, Rasa), so slow platforms never starve the pool."""

    def run() -> T:
        with sessions() as session:
            return work(session)

    return await run_in_threadpool(run)


def _readable(session: Session, agent: Agent, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    if not handoffs.can_read(session, agent, conversation_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "this conversation is not assigned to you"
        )
    return conversation


def _owned(session: Session, agent: Agent, conversation_id: str) -> handoffs.Handoff:
    try:
        return handoffs.owned(session, conversation_id, agent)
    except CrmError as error:
        raise _crm_error(error) from error


def _crm_error(error: CrmError) -> HTTPException:
    if isinstance(error, handoffs.HandoffTakenError | handoffs.AlreadyHandedOffError):
        return HTTPException(status.HTTP_409_CONFLICT, str(error))
    if isinstance(error, handoffs.NoOpenHandoffError):
        return HTTPException(status.HTTP_409_CONFLICT, str(error))
    if isinstance(error, handoffs.NotYoursError):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(error))
    if isinstance(error, handoffs.ConversationNotFoundError):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(error))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error))


def _crm(work: Callable[[Session], T]) -> Callable[[Session], T]:
    """``work`` with the CRM's refusals turned into HTTP answers."""

    def run(session: Session) -> T:
        try:
            return work(session)
        except CrmError as error:
            raise _crm_error(error) from error

    return run


@router.get("/api/conversations/{conversation_id}")
async def read_conversation(
    conversation_id: str, agent: CurrentAgent, sessions: Sessions, gateway: GatewayDep
) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        conversation = _readable(session, agent, conversation_id)
        return views.conversation_view(session, conversation, agent)

    view = await in_db(sessions, read)
    view["case"] = await _case(gateway, conversation_id)
    return view


async def _case(gateway: Gateway, conversation_id: str) -> dict[str, Any] | None:
    """What the assistant was filling: its active form and the slots so far."""
    try:
        tracker = await gateway.rasa.tracker(conversation_id)
    except RasaUnavailableError:
        logger.warning(
            "case slots of %s unavailable: Rasa did not answer", conversation_id
        )
        return None
    known = tracker.get("slots") or {}
    slots = {
        name: known[name]
        for name in views.CASE_SLOTS
        if known.get(name) not in (None, "", [], {})
    }
    loop = (tracker.get("active_loop") or {}).get("name") or None
    return {"active_form": loop, "slots": slots, "settable": list(views.CASE_SLOTS)}


@router.get("/api/conversations")
def read_bot_conversations(
    _agent: Supervisor,
    session: SessionDep,
    scope: Literal["bot"] = "bot",
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {"conversations": views.recent_bot_conversations(session, now)}


@router.post("/api/conversations/{conversation_id}/claim")
async def claim_conversation(
    conversation_id: str, agent: CurrentAgent, sessions: Sessions, gateway: GatewayDep
) -> dict[str, Any]:
    """Takes a waiting conversation; 409 names who has it when someone else
    was first."""
    summary = await _handoff_step(
        sessions, lambda session: handoffs.claim(session, conversation_id, agent)
    )
    await _say_who_joined(gateway, sessions, conversation_id, agent)
    await _tell_queue(gateway, conversation_id, summary, "claimed")
    return summary


@router.post(
    "/api/conversations/{conversation_id}/takeover",
    status_code=status.HTTP_201_CREATED,
)
async def take_over_conversation(
    conversation_id: str, agent: Supervisor, sessions: Sessions, gateway: GatewayDep
) -> dict[str, Any]:
    """A supervisor takes a conversation from the assistant, mid-flow."""
    summary = await _handoff_step(
        sessions, lambda session: handoffs.takeover(session, conversation_id, agent)
    )
    try:
        # The form the assistant was in stops: the person now leads.
        await gateway.rasa.append_events(
            conversation_id,
            [
                {"event": "active_loop", "name": None},
                {"event": "slot", "name": "requested_slot", "value": None},
            ],
        )
    except RasaUnavailableError:
        logger.warning("takeover of %s: the form could not be stopped", conversation_id)
    await _say_who_joined(gateway, sessions, conversation_id, agent)
    await _tell_queue(gateway, conversation_id, summary, "claimed")
    return summary


@router.post("/api/conversations/{conversation_id}/release")
async def release_conversation(
    conversation_id: str, agent: Supervisor, sessions: Sessions, gateway: GatewayDep
) -> dict[str, Any]:
    """A supervisor puts a conversation an agent holds back in the queue (the
    agent went home); the next agent claims it."""
    summary = await _handoff_step(
        sessions, lambda session: handoffs.release(session, conversation_id, agent)
    )
    await _tell_queue(gateway, conversation_id, summary, "released")
    return summary


async def _handoff_step(
    sessions: sessionmaker[Session], step: Callable[[Session], handoffs.Handoff]
) -> dict[str, Any]:
    """Runs one step of a handoff (claim, take over, release, close) and
    returns the handoff as the console shows it."""
    return await in_db(
        sessions, _crm(lambda session: views.handoff_summary(step(session)) or {})
    )


async def _tell_queue(
    gateway: Gateway, conversation_id: str, summary: dict[str, Any], what: str
) -> None:
    await gateway.tell_console(
        "queue",
        conversation_id=conversation_id,
        handoff_id=summary["handoff_id"],
        what=what,
    )


async def _say_who_joined(
    gateway: Gateway,
    sessions: sessionmaker[Session],
    conversation_id: str,
    agent: Agent,
) -> None:
    """The person learns a person is with them now, and who (a call was put
    through to the agents' line instead)."""
    conversation = await in_db(
        sessions, lambda session: session.get_one(Conversation, conversation_id)
    )
    if conversation.channel == "voice":
        return
    name = agent.display_name.split()[0] if agent.display_name.split() else ""
    language = conversation.language or "es"
    await gateway.push(conversation_id, notice("agent_joined", language, name=name))


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NonBlankText = Field(max_length=4000)


@router.post(
    "/api/conversations/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
)
async def create_agent_message(
    conversation_id: str,
    body: TextBody,
    agent: CurrentAgent,
    sessions: Sessions,
    gateway: GatewayDep,
) -> dict[str, Any]:
    """Sends the agent's text to the person on their own channel.

    A call cannot take written replies: it was put through to the agents'
    line, and the person is called back on their number.
    """

    def check(session: Session) -> str:
        _owned(session, agent, conversation_id)
        return session.get_one(Conversation, conversation_id).channel

    if await in_db(sessions, check) == "voice":
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "this is a phone call: it was put through to the agents' line; "
            "call the customer back on the number shown",
        )
    message_id = await gateway.push(conversation_id, body.text, agent_id=agent.id)
    await in_db(
        sessions,
        lambda session: handoffs.record_reply(
            session, _owned(session, agent, conversation_id), agent, message_id
        ),
    )
    return {"message_id": message_id, "status": "queued"}


@router.post(
    "/api/conversations/{conversation_id}/notes",
    status_code=status.HTTP_201_CREATED,
)
async def create_note(
    conversation_id: str,
    body: TextBody,
    agent: CurrentAgent,
    sessions: Sessions,
    gateway: GatewayDep,
) -> dict[str, Any]:
    """An internal note: agents and supervisors see it, the person never.
    Written by the agent holding the conversation, or a supervisor."""

    def write(session: Session) -> dict[str, Any]:
        if agent.role is AgentRole.SUPERVISOR:
            _readable(session, agent, conversation_id)
        else:
            _owned(session, agent, conversation_id)
        note = handoffs.add_note(session, conversation_id, agent, body.text)
        return {
            "id": note.id,
            "author": agent.display_name,
            "text": note.text,
            "created_at": views.iso(note.created_at),
        }

    note = await in_db(sessions, write)
    await gateway.tell_console(
        "message", conversation_id=conversation_id, message_id=None, direction="note"
    )
    return note


class TicketBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: NonBlankText = Field(max_length=2000)


@router.post(
    "/api/conversations/{conversation_id}/tickets",
    status_code=status.HTTP_201_CREATED,
)
def create_conversation_ticket(
    conversation_id: str, body: TicketBody, agent: CurrentAgent, session: SessionDep
) -> dict[str, Any]:
    """Records the conversation's case: the handoff's own case gets the
    description (a new one is opened when it was closed)."""
    handoff = _owned(session, agent, conversation_id)
    ticket = handoff.ticket
    if ticket.status is TicketStatus.CLOSED:
        ticket = handoffs.new_handoff_ticket(session, conversation_id)
        handoff.ticket = ticket
    ticket.fault_description = body.description
    ticket.events.append(
        TicketEvent(
            kind="described_by_agent",
            detail={"description": body.description},
            actor=f"agent:{agent.username}",
        )
    )
    session.commit()
    return {
        "number": ticket.number,
        "kind": ticket.kind.value,
        "status": ticket.status.value,
    }


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=2000)


@router.patch("/api/tickets/{number}")
def update_ticket(
    number: str, body: TicketUpdate, agent: CurrentAgent, session: SessionDep
) -> dict[str, Any]:
    """Updates a case of the conversation the agent holds (a supervisor: any)."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    allowed = ticket is not None and (
        handoffs.can_read(session, agent, ticket.conversation_id)
        if agent.role is AgentRole.SUPERVISOR
        else handoffs.holds(session, agent, ticket.conversation_id)
    )
    if ticket is None or not allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket")
    if body.description is not None and body.description.strip():
        ticket.fault_description = body.description.strip()
    ticket.events.append(
        TicketEvent(
            kind="updated_by_agent",
            detail={
                key: value
                for key, value in body.model_dump().items()
                if value is not None
            },
            actor=f"agent:{agent.username}",
        )
    )
    session.commit()
    return {
        "number": ticket.number,
        "kind": ticket.kind.value,
        "status": ticket.status.value,
        "description": ticket.fault_description,
    }


# A value the assistant keeps: a line of text, not a document.
SlotValue = Annotated[str, Field(max_length=500)] | None


class HandBackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slots: dict[str, SlotValue] = Field(default_factory=dict, max_length=30)


def _slots_to_set(given: dict[str, str | None]) -> dict[str, str | None]:
    unknown = sorted(set(given) - set(views.CASE_SLOTS))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"slots {unknown} cannot be set; these can: {list(views.CASE_SLOTS)}",
        )
    slots = {
        name: storable(value).strip() or None if isinstance(value, str) else None
        for name, value in given.items()
    }
    if slots.get("language") not in (None, "es", "en"):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"language {slots['language']!r} is not es or en",
        )
    return slots


@router.post("/api/conversations/{conversation_id}/hand-back")
async def hand_back_conversation(
    conversation_id: str,
    body: HandBackBody,
    agent: CurrentAgent,
    sessions: Sessions,
    gateway: GatewayDep,
) -> dict[str, Any]:
    """Gives the conversation back to the assistant, with the values the agent
    set; the person is told, and the assistant answers what comes next."""
    slots = _slots_to_set(body.slots)
    await in_db(sessions, lambda session: _owned(session, agent, conversation_id))
    try:
        await gateway.rasa.append_events(
            conversation_id,
            [{"event": "active_loop", "name": None}]
            + [
                {"event": "slot", "name": name, "value": value}
                for name, value in slots.items()
            ],
        )
    except RasaUnavailableError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the assistant is not available: keep the conversation for now",
        ) from error

    def hand_back(session: Session) -> tuple[dict[str, Any], str]:
        handoff = handoffs.hand_back(session, conversation_id, agent, slots)
        return views.handoff_summary(handoff) or {}, handoff.language or "es"

    summary, language = await in_db(sessions, _crm(hand_back))
    await gateway.push(conversation_id, notice("handed_back", language))
    await _tell_queue(gateway, conversation_id, summary, "handed_back")
    return summary


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: NonBlankText = Field(max_length=2000)
    resolved_first_contact: bool = False


@router.post("/api/conversations/{conversation_id}/close")
async def close_conversation(
    conversation_id: str,
    body: CloseBody,
    agent: CurrentAgent,
    sessions: Sessions,
    gateway: GatewayDep,
) -> dict[str, Any]:
    """Ends the handoff and closes its case with the resolution; the
    customer is invited to the satisfaction survey."""
    summary = await _handoff_step(
        sessions,
        lambda session: handoffs.close(
            session,
            conversation_id,
            agent,
            body.resolution,
            body.resolved_first_contact,
        ),
    )
    await gateway.invite_now(conversation_id)
    await _tell_queue(gateway, conversation_id, summary, "closed")
    return summary


@router.get("/api/attachments/{attachment_id}")
def read_attachment(
    attachment_id: int, agent: CurrentAgent, session: SessionDep
) -> Response:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.content is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    _readable(session, agent, attachment.conversation_id)
    inline = attachment.content_type in INLINE_TYPES
    media = attachment.content_type if inline else "application/octet-stream"
    disposition = "inline" if inline else "attachment"
    return Response(
        attachment.content,
        media_type=media,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": f'{disposition}; filename="file-{attachment.id}"',
        },
    )


# -- supervisors: the team ---------------------------------------------------------


class AgentPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: AgentRole
    languages: list[str]
    skills: list[str]
    active: bool
    online: bool


Language = Literal["es", "en"]
Skill = Literal["warranty", "orders", "display"]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=50, pattern=r"^[A-Za-z0-9.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    # The length is checked by the service, whose refusal says the minimum.
    password: str = Field(max_length=200)
    role: AgentRole = AgentRole.AGENT
    languages: list[Language] = Field(default_factory=lambda: ["es", "en"])
    skills: list[Skill] = Field(default_factory=lambda: list(MODULES[:3]))


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, max_length=200)
    role: AgentRole | None = None
    languages: list[Language] | None = None
    skills: list[Skill] | None = None
    active: bool | None = None


def _agent_public(agent: Agent, now: dt.datetime, online_seconds: int) -> AgentPublic:
    return AgentPublic(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,
        languages=list(agent.languages or []),
        skills=list(agent.skills or []),
        active=agent.active,
        online=agents.is_online(agent, online_seconds, now),
    )


def _online_seconds(request: Request) -> int:
    return request.app.state.gateway.policy.online_seconds


OnlineSeconds = Annotated[int, Depends(_online_seconds)]


@router.get("/api/agents")
def read_agents(
    _supervisor: Supervisor, session: SessionDep, online_seconds: OnlineSeconds
) -> dict[str, list[AgentPublic]]:
    now = dt.datetime.now(dt.UTC)
    return {
        "agents": [
            _agent_public(agent, now, online_seconds)
            for agent in agents.list_agents(session)
        ]
    }


@router.post("/api/agents", status_code=status.HTTP_201_CREATED)
def create_agent(
    body: AgentCreate,
    supervisor_: Supervisor,
    session: SessionDep,
    online_seconds: OnlineSeconds,
) -> AgentPublic:
    try:
        agent = agents.create_agent(
            session,
            body.username,
            body.display_name,
            body.password,
            body.role,
            body.languages,
            body.skills,
        )
    except agents.AgentExistsError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except InvalidValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
    logger.info("agent %s created by %s", agent.username, supervisor_.username)
    return _agent_public(agent, dt.datetime.now(dt.UTC), online_seconds)


@router.patch("/api/agents/{agent_id}")
async def update_agent(
    agent_id: int,
    body: AgentUpdate,
    supervisor_: Supervisor,
    sessions: Sessions,
    gateway: GatewayDep,
    online_seconds: OnlineSeconds,
) -> AgentPublic:
    """Changes an account. A deactivated agent's conversations go back to the
    queue, where the next agent claims them."""
    if agent_id == supervisor_.id and (
        body.active is False or body.role is AgentRole.AGENT
    ):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "you cannot deactivate or demote yourself; ask another supervisor",
        )

    def update(session: Session) -> tuple[AgentPublic, list[str]]:
        try:
            agent = agents.update_agent(session, agent_id, **body.model_dump())
        except agents.AgentNotFoundError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
        except agents.LastSupervisorError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        except InvalidValueError as error:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)
            ) from error
        released = []
        if not agent.active:
            for conversation_id in handoffs.held_by(session, agent.id):
                handoffs.release(session, conversation_id, supervisor_, "deactivated")
                released.append(conversation_id)
        return _agent_public(agent, dt.datetime.now(dt.UTC), online_seconds), released

    public, released = await in_db(sessions, update)
    for conversation_id in released:
        await gateway.tell_console(
            "queue", conversation_id=conversation_id, what="released"
        )
    return public
