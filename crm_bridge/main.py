"""The services app: the CRM API today, channel webhooks and health checks next.

Run it with ``uvicorn --factory crm_bridge.main:create_app``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_bridge.api.main import API_V1_PREFIX, api_router
from crm_bridge.core.config import Settings
from crm_bridge.core.db import make_engine, make_session_factory


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the services app.

    The database engine is created here but connects only on the first
    request. ``app.state`` carries ``settings``, ``engine`` and
    ``session_factory`` for the routers mounted on the app.
    """
    settings = settings or Settings()
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="iPSM Assistant services",
        summary="CRM of the post-sales service and the assistant's channels.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.include_router(api_router, prefix=API_V1_PREFIX)
    return app
