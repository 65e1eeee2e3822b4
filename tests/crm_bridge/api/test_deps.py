import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import TEST_SERVICE_TOKEN


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_a_request_without_token_gets_401_with_a_bearer_challenge(
    anonymous: TestClient,
) -> None:
    response = anonymous.get("/api/v1/categories")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing bearer token"}


@pytest.mark.parametrize(
    "header", [f"Basic {TEST_SERVICE_TOKEN}", "Bearer", "Bearer ", TEST_SERVICE_TOKEN]
)
def test_a_token_without_the_bearer_scheme_counts_as_missing(
    anonymous: TestClient, header: str
) -> None:
    response = anonymous.get("/api/v1/categories", headers={"Authorization": header})

    assert response.status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        "wrong",
        TEST_SERVICE_TOKEN[:-1],
        TEST_SERVICE_TOKEN + "x",
        TEST_SERVICE_TOKEN.upper(),
    ],
)
def test_a_wrong_token_gets_403(anonymous: TestClient, token: str) -> None:
    response = anonymous.get(
        "/api/v1/categories", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "invalid service token"}


def test_the_right_token_passes(anonymous: TestClient) -> None:
    response = anonymous.get(
        "/api/v1/categories", headers={"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
    )

    assert response.status_code == 200


def test_every_api_route_requires_the_token(
    app: FastAPI, anonymous: TestClient
) -> None:
    routes = [
        route
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/v1")
    ]
    # Every module's routes are behind it: units, tickets, orders, surveys…
    assert len(routes) > 20

    for route in routes:
        path = re.sub(r"\{[a-z_]+\}", "1", route.path)
        for method in route.methods:
            response = anonymous.request(method, path, json={})
            assert response.status_code == 401, (method, path)
