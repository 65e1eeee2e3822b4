import pytest
from pydantic import ValidationError

from crm_bridge.core.config import PLACEHOLDER_SERVICE_TOKEN, Settings


def test_local_defaults_work_without_any_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ENVIRONMENT", "DATABASE_URL", "CRM_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings(_env_file=None)

    assert settings.ENVIRONMENT == "local"
    assert settings.DATABASE_URL == "sqlite:///var/ipsm.db"
    assert settings.CRM_SERVICE_TOKEN == PLACEHOLDER_SERVICE_TOKEN
    assert settings.RASA_URL == "http://127.0.0.1:5005"
    assert settings.ACTION_SERVER_URL == "http://127.0.0.1:5055"
    assert settings.PUBLIC_BASE_URL == "http://127.0.0.1:8000"


def test_settings_come_from_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("CRM_SERVICE_TOKEN", "s3cret-from-vault")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://crm@db/crm")
    monkeypatch.setenv("RASA_API_TOKEN", "rasa-api-s3cret")

    settings = Settings(_env_file=None)

    assert settings.ENVIRONMENT == "production"
    assert settings.CRM_SERVICE_TOKEN == "s3cret-from-vault"
    assert settings.DATABASE_URL == "postgresql+psycopg://crm@db/crm"


def test_production_refuses_the_placeholder_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CRM_SERVICE_TOKEN", raising=False)

    with pytest.raises(ValidationError, match="CRM_SERVICE_TOKEN is the development"):
        Settings(_env_file=None, ENVIRONMENT="production")


def test_production_needs_a_token_for_rasas_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)

    with pytest.raises(ValidationError, match="RASA_API_TOKEN must be set"):
        Settings(_env_file=None, ENVIRONMENT="production", CRM_SERVICE_TOKEN="x" * 20)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError, match="ENVIRONMENT"):
        Settings(_env_file=None, ENVIRONMENT="staging")


def test_sqlite_path_is_known_only_for_sqlite_files() -> None:
    sqlite = Settings(_env_file=None, DATABASE_URL="sqlite:///var/ipsm.db")
    memory = Settings(_env_file=None, DATABASE_URL="sqlite://")
    postgres = Settings(_env_file=None, DATABASE_URL="postgresql+psycopg://h/db")

    assert str(sqlite.sqlite_path) == "var/ipsm.db"
    assert memory.sqlite_path is None
    assert postgres.sqlite_path is None
