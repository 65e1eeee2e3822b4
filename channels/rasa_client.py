"""Sends a person's message to Rasa's REST channel and returns its replies.

Messages the assistant starts itself (a survey invitation) go through Rasa's
HTTP API (``rasa run --enable-api``): an intent triggered in the conversation,
whose replies come back in the response.
"""

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailableError(Exception):
    """Rasa could not be reached, timed out or failed on the turn."""


@dataclass(frozen=True)
class Reply:
    """One message of the assistant: text and optional buttons."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons}


class RasaClient:
    """A thin client of Rasa's `rest` input channel."""

    def __init__(
        self, base_url: str, timeout_seconds: float = 30.0, api_token: str = ""
    ) -> None:
        self._base = base_url.rstrip("/")
        # Rasa's --auth-token: its HTTP API (not the REST channel) needs it.
        self._api_token = api_token
        self._url = f"{self._base}/webhooks/rest/webhook"
        self._timeout = timeout_seconds
        # One client, kept open: its connections to Rasa are reused.
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> list[Reply]:
        """Runs one turn of the conversation.

        Raises:
            RasaUnavailableError: Rasa did not answer the turn.
        """
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.post(self._url, json=body)
            response.raise_for_status()
            messages = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailableError(
                f"Rasa failed the turn of conversation {conversation_id}: {error!r}"
            ) from error
        return [reply for reply in map(_to_reply, messages) if reply is not None]

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, Any]
    ) -> list[Reply]:
        """Runs the intent in the conversation as if the person had sent it.

        Rasa answers with the assistant's messages (its collector output
        channel, the default of ``POST /conversations/{id}/trigger_intent``).

        Raises:
            RasaUnavailableError: Rasa did not run it.
        """
        body = await self._api(
            "POST",
            f"/conversations/{quote(conversation_id, safe='')}/trigger_intent",
            {"name": intent, "entities": entities},
        )
        messages = body.get("messages") or [] if isinstance(body, dict) else []
        return [reply for reply in map(_to_reply, messages) if reply is not None]

    async def active_loop(
        self, conversation_id: str
    ) -> tuple[str | None, float | None]:
        """The form the conversation is in the middle of, if any, and the time
        of its latest event (a Unix timestamp; None for a new conversation).

        Raises:
            RasaUnavailableError: Rasa did not answer.
        """
        body = await self._api(
            "GET", f"/conversations/{quote(conversation_id, safe='')}/tracker"
        )
        if not isinstance(body, dict):
            return None, None
        loop = (body.get("active_loop") or {}).get("name") or None
        latest = body.get("latest_event_time")
        return loop, float(latest) if isinstance(latest, int | float) else None

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's state in Rasa: its slots and active form.

        Raises:
            RasaUnavailableError: Rasa did not answer.
        """
        body = await self._api(
            "GET", f"/conversations/{quote(conversation_id, safe='')}/tracker"
        )
        return body if isinstance(body, dict) else {}

    async def append_events(
        self, conversation_id: str, events: list[dict[str, Any]]
    ) -> None:
        """Adds events to the conversation (slots an agent set, a form ended).

        Raises:
            RasaUnavailableError: Rasa did not take them.
        """
        await self._api(
            "POST",
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            events,
        )

    async def _api(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | list[dict[str, Any]] | None = None,
    ) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.request(
                method,
                f"{self._base}{path}",
                params={
                    "include_events": "NONE",
                    **({"token": self._api_token} if self._api_token else {}),
                },
                json=json,
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailableError(
                f"Rasa failed {method} {path}: {error!r}"
            ) from error


def _to_reply(message: dict[str, Any]) -> Reply | None:
    text = message.get("text")
    if not text:
        logger.debug("skipping a Rasa message without text: %s", sorted(message))
        return None
    buttons = [
        {
            "title": str(button.get("title", "")),
            "payload": str(button.get("payload", "")),
        }
        for button in message.get("buttons") or []
    ]
    return Reply(text=text, buttons=buttons)
