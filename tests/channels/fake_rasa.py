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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                status, answer = fake._turn(json.loads(self.rfile.read(length)))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler
