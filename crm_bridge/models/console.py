"""People behind the assistant: agents, their console sessions, handoffs.

A handoff is one stretch of a conversation that a person owns: it opens
waiting (the person asked, the assistant did not understand twice, a rule
matched, a supervisor took it over), an agent claims it, and it ends handed
back to the assistant or closed with a resolution. While one is open the
assistant says nothing in that conversation.
"""

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.models.core import Base, Ticket, enum_column

_json = JSON().with_variant(JSONB(), "postgresql")


class AgentRole(str, enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class HandoffStatus(str, enum.Enum):
    WAITING = "waiting"
    ACTIVE = "active"
    HANDED_BACK = "handed_back"
    CLOSED = "closed"


class Agent(Base):
    """A contact-centre agent or supervisor who signs in to the console."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # scrypt, with its parameters and salt (services/agents.py).
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[AgentRole] = mapped_column(enum_column(AgentRole, "role"))
    # Languages the agent answers in, and the modules they know.
    languages: Mapped[list[str]] = mapped_column(_json, default=list)
    skills: Mapped[list[str]] = mapped_column(_json, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Wrong passwords in a row, and when the latest was given (a limit stops
    # guessing).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_login_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    # The latest sign of an open console: who counts as online.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AgentSession(Base):
    """A signed-in console; the cookie holds the token, the table its hash."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    agent: Mapped[Agent] = relationship()


class Handoff(Base):
    """A conversation in the hands of a person, from request to hand-back."""

    __tablename__ = "handoffs"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The conversation's id while the handoff is open, NULL once it ended:
    # unique, so a conversation has at most one open handoff on every
    # database (NULLs never collide).
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[HandoffStatus] = mapped_column(
        enum_column(HandoffStatus, "handoff_status"), index=True
    )
    # requested, not_understood, rule, agent
    reason: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str | None] = mapped_column(String(50))
    # warranty, orders, display or general: which agents' skills it needs.
    module: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(2))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    resolved_first_contact: Mapped[bool] = mapped_column(default=False)
    # When the person was told what happens next (the gateway tells once).
    announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any]] = mapped_column(_json, default=dict)

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[Agent | None] = relationship()


class ConversationNote(Base):
    """An agent's internal note on a conversation: never sent to the person."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    agent: Mapped[Agent] = relationship()
