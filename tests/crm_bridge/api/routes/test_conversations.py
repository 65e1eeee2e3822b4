"""Who is speaking: identity from the channel, or proved with a shop's code."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.models import ChannelContact, Conversation
from crm_bridge.services import identity as identity_service
from crm_bridge.services.identity import MAX_CODE_ATTEMPTS
from tests.crm_bridge.factories import make_conversation


def identity(client: TestClient, conversation_id: str) -> dict:
    response = client.get(f"/api/v1/conversations/{conversation_id}/identity")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_staff_phone_is_its_shop_at_once(
    client: TestClient, demo_data: Session
) -> None:
    conversation = make_conversation(demo_data, phone="+34611000111")

    found = identity(client, conversation.id)

    assert found["kind"] == "shop"
    assert found["verified_by"] == "staff_phone"
    assert found["point_of_sale"]["code"] == "PV-VLC-01"


def test_a_customer_is_known_by_the_phone_they_write_from(
    client: TestClient, demo_data: Session
) -> None:
    conversation = make_conversation(demo_data, phone="+34612345222")

    found = identity(client, conversation.id)

    assert found["kind"] == "customer"
    assert found["customer"]["name"] == "Lucía Martín"
    assert found["point_of_sale"] is None


def test_a_web_chat_and_an_unknown_phone_are_nobody(
    client: TestClient, demo_data: Session
) -> None:
    web = make_conversation(demo_data, channel="web")
    stranger = make_conversation(demo_data, phone="+34699000000")

    assert identity(client, web.id)["kind"] == "unknown"
    assert identity(client, stranger.id)["kind"] == "unknown"
    assert identity(client, "never-seen")["kind"] == "unknown"


def test_a_registration_code_identifies_the_shop_however_it_is_typed(
    client: TestClient, demo_data: Session
) -> None:
    web = make_conversation(demo_data, channel="web")

    response = client.post(
        f"/api/v1/conversations/{web.id}/identity/shop",
        json={"registration_code": " turia 4471 "},
    )

    assert response.status_code == 200, response.text
    assert response.json()["point_of_sale"]["name"] == "Electrodomésticos Turia"
    assert identity(client, web.id)["kind"] == "shop"


def test_a_verified_telegram_user_stays_the_shops_in_later_conversations(
    client: TestClient, demo_data: Session
) -> None:
    first = make_conversation(demo_data, channel="telegram", phone=None)
    contact = ChannelContact(channel="telegram", address="777")
    demo_data.add(contact)
    demo_data.flush()
    first.contact_id = contact.id
    later = Conversation(id="telegram:later", channel="telegram", contact_id=contact.id)
    demo_data.add(later)
    demo_data.commit()

    client.post(
        f"/api/v1/conversations/{first.id}/identity/shop",
        json={"registration_code": "CAST-2290"},
    )

    assert identity(client, later.id)["point_of_sale"]["code"] == "PV-MAD-01"


def test_a_wrong_code_says_nothing_about_shops_and_attempts_are_limited(
    client: TestClient, demo_data: Session
) -> None:
    web = make_conversation(demo_data, channel="web")
    url = f"/api/v1/conversations/{web.id}/identity/shop"

    answers = [
        client.post(url, json={"registration_code": f"WRONG-{n}000"})
        for n in range(MAX_CODE_ATTEMPTS)
    ]
    locked = client.post(url, json={"registration_code": "TURIA-4471"})

    assert [answer.status_code for answer in answers] == [403] * MAX_CODE_ATTEMPTS
    assert answers[0].json()["detail"] == {
        "message": "registration code not recognised",
        "attempts_left": MAX_CODE_ATTEMPTS - 1,
    }
    assert locked.status_code == 429
    assert identity(client, web.id)["kind"] == "unknown"


def test_wrong_codes_older_than_an_hour_are_forgotten(
    client: TestClient, demo_data: Session
) -> None:
    web = make_conversation(
        demo_data,
        channel="web",
        identity_attempts=MAX_CODE_ATTEMPTS,
        identity_attempted_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
    )

    response = client.post(
        f"/api/v1/conversations/{web.id}/identity/shop",
        json={"registration_code": "TURIA-4471"},
    )

    assert response.status_code == 200


def test_new_conversations_do_not_make_guessing_cheap(
    client: TestClient, demo_data: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_service, "MAX_ATTEMPTS_EVERYWHERE", 6)
    for n in range(3):
        for attempt in range(2):
            client.post(
                f"/api/v1/conversations/web-guess-{n}/identity/shop",
                json={"registration_code": f"CAST-{n}{attempt}00"},
            )

    fresh = client.post(
        "/api/v1/conversations/web-guess-new/identity/shop",
        json={"registration_code": "CAST-2290"},
    )

    assert fresh.status_code == 429


def test_a_short_code_is_refused_like_a_wrong_one(
    client: TestClient, demo_data: Session
) -> None:
    response = client.post(
        "/api/v1/conversations/web:x/identity/shop", json={"registration_code": "1"}
    )

    assert response.status_code == 403


def test_identity_needs_the_service_token(
    client: TestClient, demo_data: Session
) -> None:
    response = client.get(
        "/api/v1/conversations/x/identity", headers={"Authorization": "Bearer nope"}
    )

    assert response.status_code == 403
