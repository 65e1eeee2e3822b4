"""Shop orders end to end: the Twilio SMS and Telegram webhooks signed as the
platforms sign them, the trained model, the action server, the CRM on
PostgreSQL with the demo data, and loopback fakes of the platforms' APIs.

Turia's staff phone (+34611000111) is known to the CRM, so its SMS are the
shop's at once; a Telegram user proves the shop with its registration code.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.e2e.channels import SmsPhone, TelegramUser
from tests.e2e.conftest import ASSISTANT_NUMBER, CRM_SERVICE_TOKEN
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

TURIA_STAFF_PHONE = "+34611000111"


@pytest.fixture
def turia_sms(
    services_url: str, twilio_api: FakeTwilio, stack_db: Engine
) -> Iterator[SmsPhone]:
    """Turia's staff phone texting the assistant."""
    phone = SmsPhone(
        services_url, twilio_api, stack_db, TURIA_STAFF_PHONE, ASSISTANT_NUMBER
    )
    yield phone
    phone.close()


def order_cases(db: Engine, conversation_id: str) -> list[dict[str, Any]]:
    query = text(
        """
        SELECT t.number, t.kind, t.carrier, t.quantity, t.fault_description,
               o.number AS order_number, p.code AS shop,
               (SELECT count(*) FROM attachments a WHERE a.ticket_id = t.id)
                   AS photos
        FROM tickets t
        JOIN orders o ON o.id = t.order_id
        JOIN points_of_sale p ON p.id = t.point_of_sale_id
        WHERE t.conversation_id = :conversation
        ORDER BY t.id
        """
    )
    with db.connect() as connection:
        rows = connection.execute(query, {"conversation": conversation_id})
        return [dict(row._mapping) for row in rows]


def test_a_shop_follows_its_order_by_sms_and_cannot_see_another_shops(
    turia_sms: SmsPhone, stack_db: Engine
) -> None:
    status = turia_sms.text("hola, estado del pedido 48213")

    assert "48213" in status and "TransNorte" in status, turia_sms.printable()
    assert "03/12/2026" in status
    # The difference is pointed out, and a claim offered for it.
    assert "10" in status and "8" in status and "DW-CL45" in status
    opened = turia_sms.text("si")
    assert "ORD-" in opened and "48213" in opened, turia_sms.printable()
    [case] = [c for c in order_cases(stack_db, turia_sms.conversation_id)]
    assert (case["kind"], case["order_number"], case["shop"]) == (
        "divergence",
        "48213",
        "PV-VLC-01",
    )
    assert (case["quantity"], case["carrier"]) == (2, "TransNorte")
    assert case["number"] in opened

    other = turia_sms.text("estado del pedido 4530")
    missing = turia_sms.text("estado del pedido 99999")

    # Castellana's order reads exactly like one that does not exist.
    assert "4530" in other and "99999" in missing, turia_sms.printable()
    assert other.replace("4530", "N") == missing.replace("99999", "N")
    assert "TransNorte" not in other and "Castellana" not in other


def test_damage_reported_by_telegram_keeps_the_photo_on_the_case(
    telegram_user: TelegramUser,
    telegram_api: FakeTelegram,
    services_url: str,
    stack_db: Engine,
) -> None:
    asked_code = telegram_user.write("ha llegado el frigo con un golpe en la puerta")
    assert "código" in asked_code.lower(), telegram_user.printable()

    asked_order = telegram_user.write("TURIA-4471")
    assert "Turia" in asked_order and "pedido" in asked_order
    assert "foto" in asked_order, telegram_user.printable()

    telegram_api.add_file("fridge-dent", b"\xff\xd8\xff a dented fridge door")
    done = telegram_user.send_photo("fridge-dent", caption="es el pedido 4512")

    assert "DMG-" in done and "4512" in done and "TransNorte" in done, (
        telegram_user.printable()
    )
    [case] = order_cases(stack_db, telegram_user.conversation_id)
    assert case["kind"] == "delivery_damage"
    assert case["carrier"] == "TransNorte" and case["shop"] == "PV-VLC-01"
    assert "golpe en la puerta" in case["fault_description"]
    assert case["photos"] == 1
    answer = httpx.get(
        f"{services_url}/api/v1/tickets/{case['number']}",
        headers={"Authorization": f"Bearer {CRM_SERVICE_TOKEN}"},
    )
    [photo] = answer.json()["attachments"]
    content = httpx.get(
        f"{services_url}/api/v1/tickets/{case['number']}/attachments/{photo['id']}",
        headers={"Authorization": f"Bearer {CRM_SERVICE_TOKEN}"},
    )
    assert content.content == b"\xff\xd8\xff a dented fridge door"


def test_a_customer_reports_damage_by_sms_without_a_shop_code(
    services_url: str, twilio_api: FakeTwilio, stack_db: Engine
) -> None:
    # Lucía Martín's phone: the CRM knows her as a customer, not a shop.
    phone = SmsPhone(
        services_url, twilio_api, stack_db, "+34612345222", ASSISTANT_NUMBER
    )
    try:
        asked = phone.text("ha llegado el frigo con un golpe en la puerta")
        done = phone.text("48217")
    finally:
        phone.close()

    assert "pedido" in asked and "codigo" not in asked.lower(), phone.printable()
    assert "DMG-" in done and "48217" in done, phone.printable()
    query = text(
        "SELECT t.kind, t.order_id, c.name FROM tickets t "
        "JOIN customers c ON c.id = t.customer_id WHERE t.number = :number"
    )
    with stack_db.connect() as connection:
        row = connection.execute(query, {"number": phone.ticket_number()}).one()
    assert (row.kind, row.order_id, row.name) == (
        "delivery_damage",
        None,
        "Lucía Martín",
    )
