from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from crm_bridge.core.config import Settings
from crm_bridge.main import create_app
from tests.conftest import make_settings


def test_create_app_leaves_settings_and_sessions_on_the_state(
    migrated_settings: Settings,
) -> None:
    app = create_app(migrated_settings)

    assert isinstance(app, FastAPI)
    assert app.state.settings is migrated_settings
    assert isinstance(app.state.session_factory, sessionmaker)
    app.state.engine.dispose()


def test_create_app_does_not_connect_to_the_database() -> None:
    app = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))

    assert app.state.engine.pool.checkedout() == 0


def test_openapi_documents_the_routes_with_their_docstrings(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()

    operation = spec["paths"]["/api/v1/tickets"]["post"]
    assert operation["description"].startswith("Open a ticket for a conversation.")
    assert {"201", "200", "422"} <= set(operation["responses"])
    schemas = set(spec["components"]["schemas"])
    assert {"TicketCreate", "TicketPublic", "UnitPublic", "WarrantyPublic"} <= schemas
    assert client.get("/docs").status_code == 200
