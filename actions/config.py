"""Settings of the action server, read from the environment."""

import os
from dataclasses import dataclass

LOCAL_TOKEN = "local-dev-token"


@dataclass(frozen=True)
class ActionSettings:
    """Where the CRM is and how to authenticate against it."""

    crm_url: str
    crm_token: str
    crm_timeout_seconds: float


def load_settings() -> ActionSettings:
    """Reads the settings; the local token is refused in production."""
    environment = os.environ.get("ENVIRONMENT", "local")
    token = os.environ.get("CRM_SERVICE_TOKEN", LOCAL_TOKEN)
    if environment != "local" and token == LOCAL_TOKEN:
        raise RuntimeError(
            "CRM_SERVICE_TOKEN must be set to a real secret when "
            f"ENVIRONMENT={environment!r}"
        )
    return ActionSettings(
        crm_url=os.environ.get("CRM_URL", "http://127.0.0.1:8000").rstrip("/"),
        crm_token=token,
        crm_timeout_seconds=float(os.environ.get("CRM_TIMEOUT_SECONDS", "8")),
    )
