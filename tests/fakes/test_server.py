import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.fakes.server import BackgroundServer


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def test_serves_the_app_on_loopback_and_releases_the_port_on_exit() -> None:
    app = Starlette(routes=[Route("/", hello)])

    with BackgroundServer(app) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(server.base_url).text == "hello"

    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}", timeout=1)


def test_base_url_before_start_says_what_is_wrong() -> None:
    server = BackgroundServer(Starlette())

    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
