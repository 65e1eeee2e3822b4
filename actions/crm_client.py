"""A small asynchronous client for the CRM HTTP API used by the actions."""

import asyncio
import logging
import re
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.config import ActionSettings, load_settings

logger = logging.getLogger(__name__)


class CrmError(Exception):
    """The CRM answered, but refused the request."""

    def __init__(self, status: int, detail: Any, path: str) -> None:
        super().__init__(f"CRM answered {status} on {path}: {detail}")
        self.status = status
        self.detail = detail
        self.path = path


class CrmUnavailableError(Exception):
    """The CRM could not be reached or answered with a server error."""


class CrmClient:
    """Calls the CRM API with the service token.

    Every call is safe to retry: reads are idempotent, and ticket creation
    carries an idempotency key, so one retry on a network error is made.
    """

    def __init__(self, settings: ActionSettings | None = None) -> None:
        self._settings = settings or load_settings()

    async def get_warranty(self, serial: str) -> dict[str, Any]:
        """Returns the warranty decision for a serial (status unknown if absent)."""
        return await self.request("GET", f"/units/{serial_path(serial)}/warranty")

    async def get_unit(self, serial: str) -> dict[str, Any] | None:
        """Returns the registered unit, or None when the serial is unknown."""
        try:
            return await self.request("GET", f"/units/{serial_path(serial)}")
        except CrmError as error:
            if error.status == 404:
                return None
            raise

    async def list_checks(self, category: str, language: str) -> list[dict[str, Any]]:
        """Returns the guided checks of a product category, in order."""
        return await self.request(
            "GET",
            f"/categories/{_path(category)}/checks",
            params={"language": language},
        )

    async def list_categories(self, language: str) -> list[dict[str, Any]]:
        """Returns the product categories with their names in a language."""
        return await self.request("GET", "/categories", params={"language": language})

    async def open_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Opens a ticket; the same idempotency key returns the same ticket."""
        return await self.request("POST", "/tickets", json=payload)

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        """Calls the CRM API at ``/api/v1{path}`` and returns the JSON body.

        Raises:
            CrmError: the CRM refused the request (4xx), with its detail.
            CrmUnavailableError: the CRM is down or failed (5xx), after a retry.
        """
        url = f"{self._settings.crm_url}/api/v1{path}"
        headers = {"Authorization": f"Bearer {self._settings.crm_token}"}
        timeout = aiohttp.ClientTimeout(total=self._settings.crm_timeout_seconds)
        last_error: Exception | None = None
        for attempt in (1, 2):
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.request(
                        method, url, params=params, json=json, headers=headers
                    ) as response,
                ):
                    body = await response.json(content_type=None)
                    if response.status >= 500:
                        raise CrmUnavailableError(
                            f"CRM answered {response.status} on {method} {path}"
                        )
                    if response.status >= 400:
                        detail = body.get("detail") if isinstance(body, dict) else body
                        raise CrmError(response.status, detail, path)
                    return body
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                last_error = error
                logger.warning(
                    "CRM %s %s failed on attempt %d: %s", method, path, attempt, error
                )
        raise CrmUnavailableError(f"CRM unreachable on {method} {path}") from last_error


def _path(value: str) -> str:
    return quote(value.strip(), safe="")


def conversation_path(conversation_id: str) -> str:
    """Where the CRM keeps what is asked for a conversation (its speaker's
    orders, cases, identity): ``/conversations/<id>``, the id quoted."""
    return f"/conversations/{quote(conversation_id, safe='')}"


def serial_path(serial: str) -> str:
    # The CRM compares serials by letters and digits only; a "/" typed by the
    # person would otherwise split the URL path.
    return _path(re.sub(r"[^0-9A-Za-z]", "", serial)) or "-"
