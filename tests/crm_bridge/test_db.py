from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from crm_bridge.core.db import current_revision, head_revision, make_engine, migrate
from crm_bridge.models import Base
from tests.conftest import make_settings


def test_engine_creation_makes_the_sqlite_folder_but_does_not_connect(
    tmp_path: Path,
) -> None:
    database = tmp_path / "nested" / "var" / "crm.db"

    engine = make_engine(make_settings(f"sqlite:///{database}"))

    assert database.parent.is_dir()
    assert not database.exists()
    engine.dispose()


def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(make_settings(f"sqlite:///{tmp_path / 'fk.db'}"))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_migrate_upgrades_an_empty_sqlite_database_to_head(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'fresh.db'}")
    engine = make_engine(settings)
    assert current_revision(engine) is None

    migrate(settings)

    assert current_revision(engine) == head_revision(settings)
    assert "tickets" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrations_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'updown.db'}")
    migrate(settings)

    migrate_down = __import__("alembic.command", fromlist=["downgrade"]).downgrade
    from crm_bridge.core.db import alembic_config

    migrate_down(alembic_config(settings), "base")
    engine = make_engine(settings)
    assert inspect(engine).get_table_names() == ["alembic_version"]

    migrate(settings)
    assert current_revision(engine) == head_revision(settings)
    engine.dispose()


def test_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_check_constraints_refuse_values_outside_the_vocabulary(
    clean_db: Engine,
) -> None:
    with pytest.raises(IntegrityError), clean_db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (name, phone, postal_code, language) "
                "VALUES ('Ana', '+34600000001', '46001', 'fr')"
            )
        )
