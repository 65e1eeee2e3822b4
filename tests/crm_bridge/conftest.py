"""Fixtures of the CRM bridge tests: the demo data set, a PostgreSQL-only DB."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import crm_bridge
from crm_bridge.core.db import make_engine, make_session_factory, migrate
from crm_bridge.importer import import_directory
from tests.conftest import empty_tables, make_settings

DEMO_DATA = Path(crm_bridge.__file__).parent / "demo_data"


@pytest.fixture
def demo_data(db: Session) -> Session:
    """The database loaded with crm_bridge/demo_data."""
    result = import_directory(db, DEMO_DATA)
    assert result.ok, [str(error) for error in result.errors]
    return db


@pytest.fixture
def postgres_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated PostgreSQL test database, for concurrency tests
    that SQLite cannot run (it has one writer at a time)."""
    settings = make_settings(postgres_url)
    migrate(settings)
    engine = make_engine(settings)
    yield make_session_factory(engine)
    empty_tables(engine)
    engine.dispose()
