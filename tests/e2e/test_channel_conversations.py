"""Warranty claims on SMS, on the phone and on Telegram, end to end: the
platforms' webhooks signed as they sign them, the trained model, the action
server, the CRM on PostgreSQL, Redis, and loopback fakes of the Twilio and
Telegram APIs receiving what the assistant sends."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.e2e.channels import SmsPhone, TelegramUser
from tests.e2e.conftest import ASSISTANT_NUMBER, CRM_SERVICE_TOKEN
from tests.e2e.test_warranty_conversations import ticket_row
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import contact_update
from tests.fakes.twilio_api import FakeTwilio

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

LUCIA = "+34612345222"
JAMES = "+34655123222"


def answer_checks(talk, no_words: tuple[str, ...], until: str) -> str:
    """Answers the guided checks "no" until the assistant asks ``until``."""
    reply = ""
    for word in no_words:
        reply = talk(word)
        if until in reply:
            return reply
    raise AssertionError(f"never asked {until!r}; last: {reply!r}")


@pytest.fixture
def owner_sms(
    services_url: str, twilio_api: FakeTwilio, stack_db: Engine
) -> Iterator[Callable[[str], SmsPhone]]:
    """The phone of a demo unit's owner texting the assistant: the CRM knows
    them by it, so their details on file are read back to them."""
    phones: list[SmsPhone] = []

    def open_phone(number: str) -> SmsPhone:
        phones.append(
            SmsPhone(services_url, twilio_api, stack_db, number, ASSISTANT_NUMBER)
        )
        return phones[-1]

    yield open_phone
    for phone in phones:
        phone.close()


def test_sms_claim_es(owner_sms: Callable[[str], SmsPhone], stack_db: Engine):
    sms = owner_sms(LUCIA)
    assert "numero de serie" in sms.text("hola, la lavadora no centrifuga").lower()

    reply = sms.text("wm 4821 7730")
    # One SMS per turn, written for GSM-7: no accents GSM-7 lacks, options as text.
    assert "14/03/2029" in reply and "Responda: Si / No" in reply
    assert "á" not in reply and "í" not in reply

    confirm = answer_checks(sms.text, ("no", "no tampoco", "no"), "correctos")
    assert "46001" in confirm and "222" in confirm
    summary = sms.text("si")
    assert "WM 4821 7730" in summary
    done = sms.text("si, abralo")

    row = ticket_row(stack_db, sms.ticket_number())
    assert row["channel"] == "sms" and row["language"] == "es"
    assert row["conversation_id"] == sms.conversation_id
    assert row["centre"] == "CAT-LEV", sms.printable()
    assert "48 horas" in done


def test_sms_claim_en(owner_sms: Callable[[str], SmsPhone], stack_db: Engine):
    sms = owner_sms(JAMES)
    assert "serial number" in sms.text("hi my boiler shows E04 and wont start")
    assert "02/09/2027" in sms.text("BX-2024-55812")
    confirm = answer_checks(
        sms.text, ("no its at 1.5", "nope", "no still the same", "no"), "right?"
    )
    assert "Reply: Yes" in confirm
    assert "BX-2024-55812" in sms.text("yes")
    sms.text("yes please")

    row = ticket_row(stack_db, sms.ticket_number())
    assert row["channel"] == "sms" and row["language"] == "en"
    assert row["centre"] == "CAT-LEV"


def test_sms_stop_silences_the_number(sms: SmsPhone, twilio_api):
    sms.text("hola")
    # The conversation is in Spanish: the confirmation too, with its keyword.
    assert "Envie ALTA para volver" in sms.text("STOP")
    sent = len(twilio_api.messages_to(sms.number))

    assert sms.text("la lavadora no va") == ""
    assert len(twilio_api.messages_to(sms.number)) == sent
    assert "ayudarle" in sms.text("ALTA")


def test_voice_claim_es_with_speech_and_keypad(call_from, stack_db: Engine):
    call = call_from(LUCIA)  # her own phone: her details are read back
    greeting = call.dial()
    assert call.gather_language() == "es-ES"
    assert "asistente" in greeting.lower()

    assert "serie" in call.say("la lavadora no centrifuga y hace ruido")
    # The serial's digits on the keypad.
    reply = call.press("48217730")
    assert "2029" in reply, call.printable()
    assert "marque 1" in reply

    confirm = ""
    for _ in range(4):
        confirm = call.press("2")
        if "correctos" in confirm:
            break
    assert "que termina en 2 2 2" in confirm, call.printable()
    assert "4 6 0 0 1" in confirm
    call.say("si")
    done = call.say("si, abralo")
    assert "W A R" in done, call.printable()

    with stack_db.connect() as connection:
        number = connection.scalar(
            text("SELECT number FROM tickets WHERE conversation_id = :id"),
            {"id": call.conversation_id},
        )
    row = ticket_row(stack_db, number)
    assert row["channel"] == "voice" and row["language"] == "es"
    assert row["centre"] == "CAT-LEV"

    assert call.hang_up() == 204
    with stack_db.connect() as connection:
        closed = connection.scalar(
            text("SELECT closed_at FROM conversations WHERE id = :id"),
            {"id": call.conversation_id},
        )
    assert closed is not None


def test_voice_claim_en_by_speech(call_from, stack_db: Engine):
    call = call_from("+14155550123")
    call.dial()
    assert call.gather_language() == "en-US"

    assert "serial" in call.say("my boiler shows E04 and won't start")
    reply = call.say("B X 2024 55812")
    assert "2027" in reply, call.printable()
    # A number the CRM does not know: asked for the contact, shown nothing.
    asked = ""
    for answer in ("no it's at 1.5", "no", "no", "no"):
        asked = call.say(answer)
        if "name" in asked:
            break
    assert "name" in asked and "2 2 2" not in call.printable(), call.printable()
    call.say("James Walker")
    call.say("655 123 222")
    call.say("46001")
    done = call.say("yes please")
    assert "W A R" in done, call.printable()
    assert call.gather_language() == "en-US"


def test_voice_silence_is_asked_again_then_a_person_is_offered(call_from):
    call = call_from("+34600999888")
    call.dial()
    assert "repetir" in call.say("mmm", confidence=0.1)
    assert "persona" in call.say("", confidence=0.0)
    handoff = call.press("0")
    assert "persona" in handoff.lower() or "compañero" in handoff.lower(), (
        call.printable()
    )


def test_telegram_claim_es_with_a_photo_on_the_ticket(
    telegram_user: TelegramUser, telegram_api: FakeTelegram, stack_db: Engine
):
    # Her own contact, shared in the chat: the CRM knows who writes.
    telegram_user.send(
        contact_update(telegram_user.chat_id, "34612345222", telegram_user.chat_id),
        "[contact]",
    )
    assert "serie" in telegram_user.write("la lavadora no centrifuga")
    telegram_api.add_file("drum-photo", b"\xff\xd8\xff fake jpeg bytes")
    assert "foto" in telegram_user.send_photo("drum-photo")

    reply = telegram_user.write("WM 4821 7730")
    assert "2029" in reply
    assert [t for t, _, _ in telegram_user.buttons()] == ["Sí", "No"]
    confirm = ""
    for _ in range(4):
        confirm = telegram_user.press("No")
        if "correctos" in confirm:
            break
    assert "correctos" in confirm, telegram_user.printable()
    telegram_user.press("Sí")
    telegram_user.write("si, abralo")

    number = telegram_user.ticket_number()
    row = ticket_row(stack_db, number)
    assert row["channel"] == "telegram" and row["centre"] == "CAT-LEV"
    with stack_db.connect() as connection:
        photos = connection.execute(
            text(
                "SELECT a.size, a.content FROM attachments a "
                "JOIN tickets t ON t.id = a.ticket_id WHERE t.number = :n"
            ),
            {"n": number},
        ).all()
    assert [bytes(p.content) for p in photos] == [b"\xff\xd8\xff fake jpeg bytes"]
    assert telegram_api.calls("answerCallbackQuery")


def test_telegram_claim_en_with_a_photo_after_the_case(
    telegram_user: TelegramUser,
    telegram_api: FakeTelegram,
    stack_db: Engine,
    services_url: str,
):
    telegram_user.language_code = "en"
    telegram_user.send(
        contact_update(telegram_user.chat_id, "34655123222", telegram_user.chat_id),
        "[contact]",
    )
    assert "serial number" in telegram_user.write("hey my boiler wont turn on, E04")
    assert "2027" in telegram_user.write("bx-2024-55812")
    confirm = ""
    for answer in ("no it's at 1.5", "no", "no", "no"):
        confirm = telegram_user.write(answer)
        if "right?" in confirm:
            break
    assert "right?" in confirm, telegram_user.printable()
    telegram_user.press("Yes")
    telegram_user.write("yes go ahead")
    number = telegram_user.ticket_number()
    row = ticket_row(stack_db, number)
    assert row["channel"] == "telegram" and row["language"] == "en"

    # A photo after the case is opened goes straight onto it, with its caption
    # read by the assistant and the thanks in English.
    telegram_api.add_file("boiler-display", b"\x89PNG display showing E04")
    reply = telegram_user.send_photo("boiler-display", caption="thanks, bye")
    assert "got the photo" in reply, telegram_user.printable()
    answer = httpx.get(
        f"{services_url}/api/v1/tickets/{number}",
        headers={"Authorization": f"Bearer {CRM_SERVICE_TOKEN}"},
    )
    [photo] = answer.json()["attachments"]
    assert photo["size"] == len(b"\x89PNG display showing E04")
