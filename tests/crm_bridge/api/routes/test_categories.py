from fastapi.testclient import TestClient
from sqlalchemy.orm import Session


def test_categories_are_named_in_the_language_asked(
    client: TestClient, demo_data: Session
) -> None:
    spanish = client.get("/api/v1/categories").json()
    english = client.get("/api/v1/categories?language=en").json()

    assert {"code": "washing_machine", "name": "Lavadora"} in spanish
    assert {"code": "washing_machine", "name": "Washing machine"} in english
    assert {"code": "boiler", "name": "Caldera"} in spanish
    assert [c["code"] for c in spanish] == [c["code"] for c in english]


def test_guided_checks_come_in_order_in_each_language(
    client: TestClient, demo_data: Session
) -> None:
    spanish = client.get("/api/v1/categories/washing_machine/checks").json()
    english = client.get(
        "/api/v1/categories/washing_machine/checks", params={"language": "en"}
    ).json()

    assert [check["position"] for check in spanish] == [1, 2]
    assert "edredón" in spanish[0]["question"]
    assert "toallas" in spanish[0]["advice"]
    assert "filtro" in spanish[1]["question"]
    assert "duvet" in english[0]["question"]
    assert english[1]["advice"].startswith("Clean the drain filter")
    assert all(check["question"].endswith("?") for check in spanish + english)


def test_boiler_checks_start_with_the_pressure(
    client: TestClient, demo_data: Session
) -> None:
    checks = client.get("/api/v1/categories/boiler/checks?language=en").json()

    assert "below 1 bar" in checks[0]["question"]
    assert "filling key" in checks[0]["advice"]


def test_checks_of_an_unknown_category_are_404(
    client: TestClient, demo_data: Session
) -> None:
    response = client.get("/api/v1/categories/spaceship/checks")

    assert response.status_code == 404
    assert response.json() == {"detail": "product category 'spaceship' not found"}


def test_an_unsupported_language_is_422(client: TestClient, demo_data: Session) -> None:
    for url in ("/api/v1/categories", "/api/v1/categories/boiler/checks"):
        response = client.get(url, params={"language": "fr"})

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "language"]
