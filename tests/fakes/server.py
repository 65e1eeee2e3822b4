"""Run an ASGI app with uvicorn in a background thread, on a free loopback port.

The fakes must be reachable over real HTTP: the ``twilio`` client speaks through
``requests`` and python-telegram-bot through its own ``httpx`` client, neither of
which can be handed an in-process ASGI transport.
"""

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


class BackgroundServer:
    """An ASGI app served on ``127.0.0.1`` at a port the system picks.

    Use it as a context manager, or call ``start()`` and ``stop()`` from a
    session-scoped fixture. A server runs once: build a new one to serve again::

        with BackgroundServer(app) as server:
            httpx.get(f"{server.base_url}/health")
    """

    def __init__(self, app: ASGIApp, *, startup_timeout: float = 10.0) -> None:
        # The event loop stays plain asyncio: "auto" would install uvloop's policy
        # for the whole process, changing the loop of the tests themselves.
        # Websockets stay off: uvicorn's websockets module warns on import, and
        # pytest turns warnings into errors.
        config = uvicorn.Config(
            app,
            loop="asyncio",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._startup_timeout = startup_timeout
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        if self._thread is None:
            raise RuntimeError("the server is not running: call start() first")
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> "BackgroundServer":
        """Bind a free port, start serving and wait until uvicorn has started."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")

        # Binding here, not in uvicorn, tells us the port before the thread runs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._thread.start()

        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for its thread and release the port."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError(f"uvicorn on port {self.port} did not stop")
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._socket = None

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
