"""Shared database and app fixtures.

Database tests run twice: on an SQLite file and on a throwaway PostgreSQL
database created from ``TEST_POSTGRES_URL`` (marked ``postgres``). Both are
migrated with Alembic once per session and emptied after every test.

A test folder that only needs one backend can pin it in its own conftest::

    @pytest.fixture(scope="session")
    def db_backend() -> str:
        return "sqlite"
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_engine, make_session_factory, migrate
from crm_bridge.main import create_app
from crm_bridge.models import Base

TEST_SERVICE_TOKEN = "test-service-token"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_settings(database_url: str, **overrides: str) -> Settings:
    """Settings for tests: never read from a developer's ``.env``."""
    values = {
        "ENVIRONMENT": "local",
        "DATABASE_URL": database_url,
        "CRM_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Skipped when the server is down, except on CI (CI=true) where it fails.
    """
    server_url = make_url(
        os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    )
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"ipsm_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {server_url.render_as_string()} is unavailable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)

    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "crm.db"
    return f"sqlite:///{path}"


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def migrated_settings(db_backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at a database of ``db_backend`` migrated to head."""
    settings = make_settings(request.getfixturevalue(f"{db_backend}_url"))
    migrate(settings)
    return settings


@pytest.fixture(scope="session")
def db_engine(migrated_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(migrated_settings)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # Break the cycles (tickets <-> display_requests) before deleting.
            for table in tables:
                for key in table.foreign_keys:
                    if key.use_alter and key.parent.nullable:
                        connection.execute(table.update().values({key.parent: None}))
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def clean_db(db_engine: Engine) -> Iterator[Engine]:
    """The migrated engine; every table is emptied after the test."""
    yield db_engine
    empty_tables(db_engine)


@pytest.fixture
def db(clean_db: Engine) -> Iterator[Session]:
    with make_session_factory(clean_db)() as session:
        yield session


@pytest.fixture
def app(migrated_settings: Settings, clean_db: Engine) -> FastAPI:
    return create_app(migrated_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the services app that sends the service token."""
    headers = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
    with TestClient(app, headers=headers) as test_client:
        yield test_client
