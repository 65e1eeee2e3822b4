"""Display units and repairs end to end through the channel webhooks: a
customer on SMS follows their own repair and not someone else's, a web chat
proves the case with its phone, a unit repaired twice is replaced, and a shop
requests display units on Telegram."""

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.e2e.channels import SmsPhone, TelegramUser
from tests.e2e.chat import WebChat
from tests.e2e.conftest import ASSISTANT_NUMBER, CRM_SERVICE_TOKEN
from tests.fakes.telegram_updates import contact_update
from tests.fakes.twilio_api import FakeTwilio

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

TURIA_STAFF = "34611000111"


def open_ticket(services_url: str, **values: Any) -> dict[str, Any]:
    """A case opened through the CRM API, as a finished claim opens it."""
    body = {
        "idempotency_key": f"e2e-{secrets.token_hex(8)}",
        "kind": "warranty",
        "channel": "sms",
        "conversation_id": f"e2e-{secrets.token_hex(4)}",
        "language": "es",
        **values,
    }
    response = httpx.post(
        f"{services_url}/api/v1/tickets",
        json=body,
        headers={"Authorization": f"Bearer {CRM_SERVICE_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def sms_from(
    services_url: str, twilio_api: FakeTwilio, stack_db: Engine
) -> Iterator[Any]:
    phones: list[SmsPhone] = []

    def open_phone(number: str) -> SmsPhone:
        phone = SmsPhone(services_url, twilio_api, stack_db, number, ASSISTANT_NUMBER)
        phones.append(phone)
        return phone

    yield open_phone
    for phone in phones:
        phone.close()


def test_a_customer_on_sms_sees_their_repair_and_not_someone_elses(
    services_url: str, sms_from: Any
) -> None:
    number = f"+3469{secrets.randbelow(10**7):07d}"
    theirs = open_ticket(
        services_url,
        serial_number="DW-60-10001",
        customer={"name": "Elena Ruiz", "phone": number, "postal_code": "03003"},
    )
    lucias = open_ticket(services_url, serial_number="WM 4821 7730")
    phone = sms_from(number)

    status = phone.text("hola, como va mi reparacion?")

    assert theirs["number"] in status, phone.printable()
    assert "Levante" in status and "48 horas" in status

    other = phone.text(f"y como va el caso {lucias['number']}?")
    missing = phone.text("y como va el caso WAR-2026-999999?")

    assert "No encuentro" in other, phone.printable()
    assert other == missing
    assert "EcoWash" not in other and "Levante" not in other


def test_web_chat_needs_the_phone_on_the_case(services_url: str) -> None:
    ticket = open_ticket(services_url, serial_number="BX-2024-55812", language="en")

    with WebChat(services_url) as stranger:
        stranger.say("when is the technician coming?")
        asked_phone = stranger.say(ticket["number"])
        assert "phone" in asked_phone, stranger.printable()
        refused = stranger.say("611 222 333")
        assert "can't find a case" in refused, stranger.printable()

    with WebChat(services_url) as owner:
        owner.say(f"whats the status of case {ticket['number']}")
        shown = owner.say("655 123 222")
        assert ticket["number"] in shown and "HeatPro 24" in shown, owner.printable()


def test_a_unit_repaired_twice_is_replaced(
    services_url: str, sms_from: Any, stack_db: Engine
) -> None:
    serial = "DW-60-10001"  # a dishwasher of no registered customer
    repaired = [open_ticket(services_url, serial_number=serial) for _ in range(2)]
    close = text(
        "UPDATE tickets SET status = :status, closed_at = now(), "
        "resolution = 'bomba cambiada' WHERE number = :n"
    )
    with stack_db.begin() as connection:
        for ticket in repaired:
            connection.execute(close, {"status": "closed", "n": ticket["number"]})
    number = f"+3469{secrets.randbelow(10**7):07d}"
    phone = sms_from(number)
    try:
        phone.text("hola, el lavavajillas pierde agua")
        phone.text(serial)
        asked = phone.text("no")
        for answer in ("no", "no"):
            if "nombre" in asked:
                break
            asked = phone.text(answer)
        assert "nombre" in asked, phone.printable()
        phone.text("Elena Ruiz")
        phone.text(number[3:])
        phone.text("03003")
        done = phone.text("si, abralo")
    finally:
        with stack_db.begin() as connection:
            # Later claims on the demo dishwasher are repairs again.
            for ticket in repaired:
                connection.execute(close, {"status": "assigned", "n": ticket["number"]})

    assert "RPL-" in done and "nuevo" in done, phone.printable()
    assert "dos veces" in done
    with stack_db.connect() as connection:
        row = connection.execute(
            text(
                "SELECT kind, status, service_centre_id FROM tickets WHERE number = :n"
            ),
            {"n": phone.ticket_number()},
        ).one()
    assert tuple(row) == ("replacement", "open", None)


def test_a_shop_requests_display_units_on_telegram(
    telegram_user: TelegramUser, stack_db: Engine
) -> None:
    chat_id = telegram_user.chat_id
    telegram_user.send(
        contact_update(chat_id, TURIA_STAFF, user_id=chat_id), "[contact]"
    )

    offer = telegram_user.write("hola, queremos pedir expositores para la tienda")
    assert "CleanLine 45 cm" in offer and "HeatPro" not in offer, (
        telegram_user.printable()
    )
    assert "Cuántas" in telegram_user.write("el lavavajillas")
    assert "de 1 a 2" in telegram_user.write("5")
    more = telegram_user.write("2")
    assert "2 CleanLine 45 cm" in more, telegram_user.printable()
    summary = telegram_user.press("No, es todo")
    assert "Electrodomésticos Turia" in summary, telegram_user.printable()
    done = telegram_user.press("Sí, envíela")

    number = telegram_user.ticket_number()
    assert number.startswith("DSP-") and number in done, telegram_user.printable()
    with stack_db.connect() as connection:
        row = connection.execute(
            text(
                """
                SELECT t.kind, t.service_centre_id, p.code, l.quantity, pr.sku
                FROM tickets t
                JOIN display_requests r ON r.ticket_id = t.id
                JOIN points_of_sale p ON p.id = r.point_of_sale_id
                JOIN display_request_lines l ON l.request_id = r.id
                JOIN products pr ON pr.id = l.product_id
                WHERE t.number = :n
                """
            ),
            {"n": number},
        ).one()
    assert tuple(row) == ("display_request", None, "PV-VLC-01", 2, "DW-CL45")

    status = telegram_user.write("cuando viene el instalador de los expositores?")
    assert "10/12/2026" in status and "Montajes Levante" in status, (
        telegram_user.printable()
    )
    other = telegram_user.write("como va la solicitud DSP-2026-000002")
    assert "No encuentro ninguna solicitud" in other, telegram_user.printable()
