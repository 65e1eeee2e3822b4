"""The services app: the CRM API, the channels' webhooks, web chat and health.

Run it with ``uvicorn --factory crm_bridge.main:create_app``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from channels import telegram, twilio_sms, twilio_voice, web
from channels.coordination import make_coordinator
from channels.gateway import Gateway
from channels.log import ConversationLog
from channels.rasa_client import RasaClient
from channels.surveys import SurveyInviter
from crm_bridge import health
from crm_bridge.api.main import API_V1_PREFIX, api_router
from crm_bridge.console.routes import router as console_router
from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_engine, make_session_factory
from crm_bridge.services.handoff_policy import load_policy

# Webhook bodies and chat messages are a few kilobytes; a photo is fetched
# by its URL, never posted here.
MAX_BODY_BYTES = 1024 * 1024


class BodySizeLimit:
    """Refuses a request body larger than ``max_bytes`` before it is read.

    The size must be declared (Content-Length), as browsers, Twilio and
    Telegram do; a body without one gets 411.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            declared = headers.get(b"content-length")
            refusal: tuple[int, str] | None = None
            if declared is None:
                if headers.get(b"transfer-encoding"):
                    refusal = (411, "send the body with a Content-Length")
            elif not declared.isdigit() or int(declared) > self.max_bytes:
                refusal = (413, f"the body is larger than {self.max_bytes} bytes")
            if refusal is not None:
                response = JSONResponse({"detail": refusal[1]}, status_code=refusal[0])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the services app.

    The database engine is created here but connects only on the first
    request. ``app.state`` carries ``settings``, ``engine`` and
    ``session_factory`` for the routers mounted on the app.
    """
    settings = settings or Settings()
    engine = make_engine(settings)

    gateway = Gateway(
        ConversationLog(make_session_factory(engine)),
        RasaClient(settings.RASA_URL, api_token=settings.RASA_API_TOKEN),
        make_coordinator(settings.REDIS_URL),
        surveys=SurveyInviter(make_session_factory(engine)),
        policy=load_policy(settings.HANDOFF_CONFIG or None),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.telegram_enabled:
            await telegram.start(app)
        gateway.start()
        yield
        await gateway.stop()
        if settings.telegram_enabled:
            await telegram.stop(app)
        engine.dispose()

    app = FastAPI(
        title="iPSM Assistant services",
        summary="CRM of the post-sales service and the assistant's channels.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.gateway = gateway
    app.add_middleware(BodySizeLimit)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(api_router, prefix=API_V1_PREFIX)
    app.include_router(health.router)
    app.include_router(web.router)
    app.include_router(console_router)
    if settings.twilio_enabled:
        twilio_sms.install(app)
        twilio_voice.install(app)
    if settings.telegram_enabled:
        telegram.install(app)
    return app


async def _validation_error(
    request: Request, error: RequestValidationError
) -> JSONResponse:
    """422 with the reasons; a body that is not JSON at all is a 400."""
    errors = error.errors()
    if any(item.get("type") == "json_invalid" for item in errors):
        return JSONResponse(
            {"detail": "the request body is not valid JSON"},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    reasons = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", "")}
        for item in errors
    ]
    return JSONResponse(
        {"detail": reasons}, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY
    )
