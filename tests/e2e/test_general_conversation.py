"""General conversation chatted end to end through web chat: the greeting, the
menu, out-of-scope questions, suggestions when a message is not understood, a
person asked for, and a claim left half-way for another request."""

import re
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.e2e.chat import WebChat

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


def ticket(db: Engine, number: str) -> dict[str, Any]:
    query = text(
        """
        SELECT t.number, t.kind, t.status, t.conversation_id, t.language,
               u.serial_number
        FROM tickets t LEFT JOIN units u ON u.id = t.unit_id
        WHERE t.number = :number
        """
    )
    with db.connect() as connection:
        return dict(connection.execute(query, {"number": number}).mappings().one())


# What a person is told when the conversation goes to the agents' queue;
# which one depends on the clock (crm_bridge/handoff.yml) and who is online.
QUEUE_TOLD_ES = re.compile(
    "siguiente en la cola|antes que la suya|no hay nadie del equipo conectado"
    "|fuera de horario"
)
QUEUE_TOLD_EN = re.compile(
    "next in the queue|ahead of yours|Nobody from our team is online"
    "|outside opening hours"
)


def handoff_of(db: Engine, conversation_id: str) -> tuple[str, str]:
    query = text(
        "SELECT reason, status FROM handoffs WHERE conversation_id = :id "
        "ORDER BY id DESC LIMIT 1"
    )
    with db.connect() as connection:
        row = connection.execute(query, {"id": conversation_id}).one()
    return row.reason, row.status


def tickets_of(db: Engine, conversation_id: str) -> list[str]:
    query = text("SELECT number FROM tickets WHERE conversation_id = :id")
    with db.connect() as connection:
        return list(connection.scalars(query, {"id": conversation_id}))


def test_the_greeting_says_what_the_assistant_does_es(chat: WebChat) -> None:
    reply = chat.say("buenas tardes")

    for what in ("garantía", "reparación", "pedidos", "entrega", "expositores"):
        assert what in reply, reply
    assert "persona" in reply


def test_the_greeting_says_what_the_assistant_does_en(chat: WebChat) -> None:
    reply = chat.say("hello there")

    for what in ("warranty", "repair", "orders", "delivery", "display units"):
        assert what in reply, reply
    assert "person" in reply


def test_the_menu_offers_every_flow_and_a_button_starts_one(chat: WebChat) -> None:
    reply = chat.say("que puedes hacer?")

    assert "pedido" in reply and "expositores" in reply
    assert chat.buttons() == [
        "Avería en garantía",
        "Estado de mi reparación",
        "Consultar un pedido",
        "Problema con una entrega",
        "Pedir expositores",
        "Hablar con una persona",
    ]
    assert "número de serie" in chat.press(0)


def test_the_menu_in_english(chat: WebChat) -> None:
    chat.say("what can you do for me")

    assert "Check an order" in chat.buttons()
    assert "Talk to a person" in chat.buttons()


def test_out_of_scope_is_declined_with_what_it_can_do(chat: WebChat) -> None:
    reply = chat.say("me puedes recomendar una pelicula para esta noche?")

    assert "no lo puedo resolver" in reply
    assert "garantía" in reply and "pedidos" in reply
    assert chat.buttons() == ["Ver opciones", "Hablar con una persona"]


def test_not_understood_offers_suggestions_then_a_rephrase(chat: WebChat) -> None:
    reply = chat.say("lo que le comente")

    assert "¿Quería decir" in reply, chat.printable()
    titles = chat.buttons()
    assert len(titles) == 3 and titles[-1] == "Otra cosa", titles

    assert "con otras palabras" in chat.press(2)
    assert "número de serie" in chat.say("mi lavadora no centrifuga"), chat.printable()


def test_a_suggestion_pressed_starts_its_flow(chat: WebChat) -> None:
    reply = chat.say("so whats up with it")
    assert "Did you mean" in reply, chat.printable()

    started = chat.press(0)

    assert started and "?" in started, chat.printable()
    assert "Did you mean" not in started and "Sorry" not in started


def test_not_understood_twice_in_a_row_goes_to_a_person(
    chat: WebChat, stack_db: Engine
) -> None:
    assert "¿Quería decir" in chat.say("lo que le comente"), chat.printable()
    reply = chat.say("lo que hablamos")

    assert "Sigo sin entenderle, así que le paso con una persona" in reply, (
        chat.printable()
    )
    assert QUEUE_TOLD_ES.search(reply), chat.printable()
    number = chat.ticket_number()
    assert number.startswith("GEN-")
    assert ticket(stack_db, number)["kind"] == "handoff"
    assert handoff_of(stack_db, chat.conversation_id) == ("not_understood", "waiting")
    # From now on the person writes to the agents: the assistant keeps quiet.
    assert chat.say("hola?") == "", chat.printable()


def test_a_person_is_asked_for_and_the_request_recorded(
    chat: WebChat, stack_db: Engine
) -> None:
    reply = chat.say("I want to talk to a real person")

    number = chat.ticket_number()
    assert number.startswith("GEN-") and number in reply
    assert QUEUE_TOLD_EN.search(reply), chat.printable()
    row = ticket(stack_db, number)
    assert row["kind"] == "handoff"
    assert row["status"] == "open"
    assert row["conversation_id"] == chat.conversation_id
    assert row["language"] == "en"


def test_a_person_asked_for_in_the_middle_of_the_claim_gets_what_it_knew(
    chat: WebChat, stack_db: Engine
) -> None:
    chat.say("la caldera no calienta")
    chat.say("BX-2024-55812")

    reply = chat.say("prefiero hablar con una persona")

    number = chat.ticket_number()
    assert number.startswith("GEN-") and QUEUE_TOLD_ES.search(reply)
    row = ticket(stack_db, number)
    assert row["kind"] == "handoff"
    assert row["serial_number"] == "BX-2024-55812"


def test_the_claim_is_left_for_an_order_half_way(
    chat: WebChat, stack_db: Engine
) -> None:
    assert "número de serie" in chat.say("hola, la lavadora no centrifuga")

    reply = chat.say("mejor dime como va mi pedido 4512")

    assert "número de serie" not in reply, chat.printable()
    assert "código de registro" in reply, chat.printable()

    status = chat.say("TURIA-4471")
    assert "4512" in status, chat.printable()
    assert tickets_of(stack_db, chat.conversation_id) == []

    # Nothing of the claim was kept: a new one starts from the beginning.
    again = chat.say("la lavadora sigue sin centrifugar")
    assert again.startswith("Siento la molestia"), chat.printable()


def test_dejalo_stops_the_claim_without_a_case(chat: WebChat, stack_db: Engine) -> None:
    chat.say("el lavavajillas no seca")

    reply = chat.say("dejalo, ya llamare otro dia")

    assert "no he abierto ningún caso" in reply, chat.printable()
    assert tickets_of(stack_db, chat.conversation_id) == []


def test_a_postcode_given_while_the_phone_is_asked(chat: WebChat) -> None:
    chat.say("la nevera no enfria")
    reply = chat.say("FR-7700-1234")
    for answer in ("no", "no", "no", "no"):
        if "nombre" in reply:
            break
        reply = chat.say(answer)
    assert "nombre" in reply, chat.printable()
    assert "teléfono" in chat.say("Ana Torres"), chat.printable()

    reply = chat.say("perdone, el codigo postal es el 46015")

    assert "lo anoto: 46015" in reply, chat.printable()
    assert "teléfono" in reply
    # The postcode is not asked again: the summary comes with the phone.
    summary = chat.say("612 345 222")
    assert "46015" in summary and "612" in summary, chat.printable()

    corrected = chat.say("no, el cp es 46001")
    assert "lo corrijo: 46001" in corrected, chat.printable()
    assert "46001" in corrected.split("lo corrijo")[1], "the summary again"


def test_english_asked_for_in_the_middle_of_the_claim(chat: WebChat) -> None:
    assert "número de serie" in chat.say("mi caldera no enciende")

    reply = chat.say("podemos hablar en ingles?")

    assert "continue in English" in reply, chat.printable()
    assert "serial number" in reply


def test_spanish_asked_for_during_a_guided_check_repeats_it(chat: WebChat) -> None:
    chat.say("my washing machine wont spin")
    question = chat.say("WM 4821 7730").splitlines()[-1]
    assert question.endswith("?"), chat.printable()

    reply = chat.say("puedes hablarme en español porfa")

    assert "español" in reply, chat.printable()
    assert "entendido" not in reply, chat.printable()
    assert "descompensada" in reply, chat.printable()


def test_an_order_is_left_for_a_fault_while_the_shop_code_is_asked(
    chat: WebChat,
) -> None:
    assert "código de registro" in chat.say("estado del pedido 4520"), chat.printable()

    reply = chat.say("mejor le cuento otra cosa, mi lavadora pierde agua")

    assert "número de serie" in reply, chat.printable()
    assert "código" not in reply


def test_writing_in_english_in_the_middle_of_the_claim(chat: WebChat) -> None:
    assert "número de serie" in chat.say("mi caldera no enciende")

    reply = chat.say("sorry i dont speak spanish, the serial is BX-2024-55812")

    assert "under warranty until 02/09/2027" in reply, chat.printable()
