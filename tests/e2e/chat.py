"""A person chatting through the web chat endpoint, as the page does."""

import re
import uuid
from typing import Any

import httpx

TICKET_NUMBER = re.compile(r"\b(WAR|REP|GEN|ORD|DMG|DLY|DSP|RPL)-\d{4}-\d{6}\b")


class Transcript:
    """What a person and the assistant said, on any channel."""

    def __init__(self) -> None:
        self.transcript: list[tuple[str, str]] = []

    def ticket_number(self) -> str:
        """The last ticket number the assistant mentioned."""
        for speaker, text in reversed(self.transcript):
            match = TICKET_NUMBER.search(text)
            if speaker == "assistant" and match:
                return match.group(0)
        raise AssertionError(f"no ticket number in {self.printable()}")

    def printable(self) -> str:
        return "\n".join(f"{who}: {text}" for who, text in self.transcript)


class WebChat(Transcript):
    """One conversation: each `say` posts a message and keeps the replies."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=base_url, timeout=90)
        answer = self.http.post("/channels/web/conversations")
        answer.raise_for_status()
        self.conversation_id: str = answer.json()["conversation_id"]
        self.last: list[dict[str, Any]] = []

    def __enter__(self) -> "WebChat":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def post(self, text: str, message_id: str | None = None) -> httpx.Response:
        return self.http.post(
            "/channels/web/messages",
            json={
                "conversation_id": self.conversation_id,
                "message_id": message_id or uuid.uuid4().hex,
                "text": text,
            },
        )

    def say(self, text: str, message_id: str | None = None) -> str:
        """Sends a message and returns all reply texts joined by newlines."""
        answer = self.post(text, message_id)
        assert answer.status_code == 200, answer.text
        self.last = answer.json()["replies"]
        self.transcript.append(("person", text))
        self.transcript.extend(("assistant", reply["text"]) for reply in self.last)
        return "\n".join(reply["text"] for reply in self.last)

    def buttons(self) -> list[str]:
        return [button["title"] for reply in self.last for button in reply["buttons"]]

    def press(self, index: int) -> str:
        """Presses a button of the last replies, as the page does."""
        pressed = [b for reply in self.last for b in reply["buttons"]][index]
        return self.say(pressed["payload"])
