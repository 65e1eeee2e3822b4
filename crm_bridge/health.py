"""Health of the services app and of what it depends on."""

import asyncio
import logging
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/health/live")
def read_liveness() -> dict[str, str]:
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/health")
async def read_health(request: Request, response: Response) -> dict[str, Any]:
    """Reports each dependency: the database, Rasa, the action server and,
    when the services share one, Redis.

    Answers 503 when any of them is down, so a load balancer can take this
    instance out of rotation.
    """
    settings = request.app.state.settings
    checks = await asyncio.gather(
        asyncio.to_thread(_check_database, request.app.state.engine),
        _check_http(f"{settings.RASA_URL.rstrip('/')}/"),
        _check_http(f"{settings.ACTION_SERVER_URL.rstrip('/')}/health"),
    )
    report = dict(zip(("database", "rasa", "action_server"), checks, strict=True))
    coordinator = request.app.state.gateway.coordinator
    if hasattr(coordinator, "ping"):
        report["redis"] = await _check_redis(coordinator)
    healthy = all(check["status"] == "ok" for check in report.values())
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        logger.warning(
            "health degraded: %s",
            {name: check["status"] for name, check in report.items()},
        )
    return {"status": "ok" if healthy else "degraded", "checks": report}


def _check_database(engine: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "down"
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok", "latency_ms": _since(started)}


async def _check_http(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_SECONDS) as client:
            answer = await client.get(url)
    except httpx.HTTPError as error:
        return {"status": "down", "error": type(error).__name__, "url": url}
    if answer.status_code >= 400:
        return {"status": "down", "error": f"HTTP {answer.status_code}", "url": url}
    return {"status": "ok", "latency_ms": _since(started)}


async def _check_redis(coordinator: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(coordinator.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure means "down"
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok", "latency_ms": _since(started)}


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
