"""Settings of the services app, read from the environment in one place."""

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PLACEHOLDER_SERVICE_TOKEN = "local-dev-token"


class Settings(BaseSettings):
    """Configuration of the CRM bridge and the services app around it.

    Local defaults need nothing else than this repository: an SQLite file under
    ``var/`` and a development token. Production refuses the placeholder token.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    ENVIRONMENT: Literal["local", "production"] = "local"
    DATABASE_URL: str = "sqlite:///var/ipsm.db"
    CRM_SERVICE_TOKEN: str = PLACEHOLDER_SERVICE_TOKEN
    RASA_URL: str = "http://127.0.0.1:5005"
    # The token of Rasa's HTTP API (rasa run --enable-api --auth-token), with
    # which the gateway starts surveys; required in production.
    RASA_API_TOKEN: str = ""
    ACTION_SERVER_URL: str = "http://127.0.0.1:5055"
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"
    # Empty: locks, deduplication, rate limits and live updates stay in this
    # process (one process only). Set it when several processes serve.
    REDIS_URL: str = ""

    # A channel is on when its credentials are set.
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_PHONE_NUMBER: str = ""
    TWILIO_API_BASE_URL: str = "https://api.twilio.com"
    TELEGRAM_BOT_TOKEN: str = ""
    TELEGRAM_WEBHOOK_SECRET: str = ""
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org"
    # How long a voice webhook waits for the assistant before it plays a
    # hold message and asks Twilio to come back (Twilio gives up at 15 s).
    VOICE_TURN_WAIT_SECONDS: float = 6.0
    # Opening hours, languages, skills and handoff rules (a YAML file);
    # empty: crm_bridge/handoff.yml.
    HANDOFF_CONFIG: str = ""
    # Where a call that goes to a person is transferred: a phone number or
    # SIP address the agents answer, or "queue:<name>" for a Twilio queue.
    # Empty: the caller is told when they will be called back.
    AGENTS_PHONE_NUMBER: str = ""

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "Settings":
        if not self.CRM_SERVICE_TOKEN:
            raise ValueError("CRM_SERVICE_TOKEN must not be empty")
        if (
            self.ENVIRONMENT != "local"
            and self.CRM_SERVICE_TOKEN == PLACEHOLDER_SERVICE_TOKEN
        ):
            raise ValueError(
                f"CRM_SERVICE_TOKEN is the development placeholder "
                f"{PLACEHOLDER_SERVICE_TOKEN!r}; set a secret token when "
                f"ENVIRONMENT={self.ENVIRONMENT!r}"
            )
        if self.ENVIRONMENT != "local" and not self.RASA_API_TOKEN:
            raise ValueError(
                "RASA_API_TOKEN must be set outside local use: without it "
                "Rasa's HTTP API would take anyone's requests"
            )
        if self.TELEGRAM_BOT_TOKEN and not self.TELEGRAM_WEBHOOK_SECRET:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_BOT_TOKEN: "
                "without it anyone could post updates to the webhook"
            )
        return self

    @property
    def twilio_enabled(self) -> bool:
        return bool(
            self.TWILIO_ACCOUNT_SID
            and self.TWILIO_AUTH_TOKEN
            and self.TWILIO_PHONE_NUMBER
        )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.TELEGRAM_BOT_TOKEN and self.TELEGRAM_WEBHOOK_SECRET)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when DATABASE_URL points at an SQLite file."""
        url = make_url(self.DATABASE_URL)
        if url.get_backend_name() != "sqlite":
            return None
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database)
