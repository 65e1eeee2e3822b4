"""A stand-in for Rasa's REST channel on loopback, recording every turn."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeRasa:
    """Answers each turn with an echo and a Yes/No button pair.

    `down` makes it answer 500; `delay` slows each turn; `turns` records the
    bodies received, and `overlaps` counts turns of one conversation that ran
    at the same time (there must be none).
    """

    def __init__(self) -> None:
        self.turns: list[dict[str, Any]] = []
        self.down = False
        self.delay = 0.0
        self.overlaps = 0
        # Rasa's HTTP API: each conversation's slots and form, and the events
        # added to it (an agent handing a conversation back).
        self.slots: dict[str, dict[str, Any]] = {}
        self.active_loops: dict[str, str] = {}
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeRasa":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _turn(self, body: dict[str, Any]) -> tuple[int, Any]:
        sender = body["sender"]
        with self._lock:
            if sender in self._active:
                self.overlaps += 1
            self._active.add(sender)
            self.turns.append(body)
        try:
            time.sleep(self.delay)
            if self.down:
                return 500, {"error": "engine down"}
            return 200, [
                {"recipient_id": sender, "text": f"echo: {body['message']}"},
                {
                    "recipient_id": sender,
                    "text": "¿Correcto?",
                    "buttons": [
                        {"title": "Sí", "payload": "/affirm"},
                        {"title": "No", "payload": "/deny"},
                    ],
                },
            ]
        finally:
            with self._lock:
                self._active.discard(sender)

    def _tracker(self, conversation_id: str) -> dict[str, Any]:
        loop = self.active_loops.get(conversation_id)
        return {
            "sender_id": conversation_id,
            "slots": dict(self.slots.get(conversation_id, {})),
            "active_loop": {"name": loop} if loop else {},
            "latest_event_time": time.time(),
        }

    def _append(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self.appended.append((conversation_id, events))
            for event in events:
                if event.get("event") == "slot":
                    slots = self.slots.setdefault(conversation_id, {})
                    slots[event["name"]] = event.get("value")
                elif event.get("event") == "active_loop" and not event.get("name"):
                    self.active_loops.pop(conversation_id, None)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._answer(200, fake._tracker(self._conversation()))

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if self.path.split("?")[0].endswith("/tracker/events"):
                    conversation_id = self._conversation()
                    fake._append(conversation_id, body)
                    self._answer(200, fake._tracker(conversation_id))
                    return
                self._answer(*fake._turn(body))

            def _conversation(self) -> str:
                from urllib.parse import unquote

                return unquote(self.path.split("?")[0].split("/")[2])

            def _answer(self, status: int, answer: Any) -> None:
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler
