"""Database engine, sessions and migrations, all built from a Settings object.

Nothing here runs at import time: callers build the engine when they need it.
"""

import datetime as dt
import logging
from pathlib import Path
from typing import Any, overload

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.core.config import Settings

logger = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


@overload
def as_utc(moment: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A timestamp read from the database, with its zone: SQLite gives them
    back naive, and they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def as_stored(session: Session, moment: dt.datetime) -> dt.datetime:
    """A moment to compare with stored timestamps: SQLite keeps them as naive
    UTC text, PostgreSQL with their zone."""
    if session.get_bind().dialect.name == "sqlite" and moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Write-ahead log: readers do not wait for the writer, and a commit
    # survives a crash of the process without waiting for the disk each time
    # (only a power cut may lose the last commits; production runs PostgreSQL).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the engine for ``settings.DATABASE_URL`` without connecting.

    For an SQLite file the parent folder is created, foreign keys are
    enforced and the write-ahead log is on for every connection.
    """
    sqlite_path = settings.sqlite_path
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {}
    if settings.DATABASE_URL.startswith("sqlite"):
        # The API serves requests from a thread pool.
        connect_args["check_same_thread"] = False
    else:
        kwargs.setdefault("pool_pre_ping", True)

    engine = create_engine(settings.DATABASE_URL, connect_args=connect_args, **kwargs)

    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(settings: Settings) -> Config:
    """The Alembic configuration of the CRM, pointed at ``settings``' database."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["settings"] = settings
    # The caller owns logging; alembic.ini's logging section is for its CLI.
    config.attributes["configure_logging"] = False
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the database of ``settings`` to ``revision`` (default: head)."""
    logger.info("migrating database to %s", revision)
    command.upgrade(alembic_config(settings), revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None when never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    """The newest revision shipped with the code."""
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
