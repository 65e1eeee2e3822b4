"""The agent console in a real browser against the whole running stack.

A Telegram customer asks the trained assistant for a person while agent Ana
already has the console open: the conversation appears in her queue live, she
claims it, and a second agent who tries too is refused. Ana answers through
the reply box and the customer's Telegram receives her words; everything the
customer writes meanwhile (a photo and a script-injection attempt among it)
reaches her transcript and never the assistant. Ana hands back, the customer is
told, and the assistant answers again.
"""

import datetime as dt
import os
import re
import secrets
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from channels.notices import notice
from crm_bridge.models import AgentRole
from crm_bridge.services.agents import create_agent
from crm_bridge.services.handoff_policy import load_policy
from tests.e2e.browser import AgentConsole, chromium, tiny_png
from tests.e2e.channels import TelegramUser
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import photo_update, text_update

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

ANA = "Ana Ortega"
BRUNO = "Bruno Diaz"
PASSWORD = "consola-e2e-2026"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
PHOTO_CAPTION = "la foto del ticket de compra"
# Written while the conversation waits in the queue, nobody has claimed it yet.
WHILE_WAITING = [
    "sigo aqui esperando",
    "la lavadora hace un ruido muy fuerte al centrifugar",
    "es el modelo que compre en marzo",
    "me atiende alguien?",
]
# Written while Ana owns it; the photo carries PHOTO_CAPTION.
WHILE_OWNED = [
    "hola Ana, gracias",
    "el ruido empezo hace una semana",
    "solo pasa con cargas grandes",
    PHOTO_CAPTION,
    "ahi va la foto del ticket",
    XSS,
    "perdon, eso lo pego mi hijo",
    "la compre en la tienda del centro",
    "el numero de serie no lo encuentro",
    "esta detras, abajo a la derecha?",
    "vale, ya lo veo",
    "pone WM 4821 7730",
    "tambien pierde un poco de agua",
    "no se si tiene que ver",
    "puedo seguir usandola mientras?",
    "gracias por la paciencia",
]
ALL_AFTER_HANDOFF = WHILE_WAITING + WHILE_OWNED
AGENT_REPLY = "Hola, soy Ana del equipo de iPSM. Reviso su caso ahora mismo."
# The gateway's announcement of a handoff, in each of its forms.
QUEUE_FORMS = (
    r"Es el siguiente en la cola; le atenderán en unos \d+ minutos",
    r"Hay \d+ conversaciones antes que la suya; le atenderán en unos \d+ minutos",
)
CLOSED_FORMS = (
    r"Ahora mismo no hay nadie del equipo conectado\. Su caso {ticket} queda abierto",
    r"Ahora estamos fuera de horario\. Su caso {ticket} queda abierto",
)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def add_agent(db: Engine, username: str, display_name: str) -> None:
    with Session(db) as session:
        create_agent(session, username, display_name, PASSWORD, AgentRole.AGENT)


def wait_until_kept_for_agent(db: Engine, conversation_id: str, update_id: int) -> str:
    """Until the gateway stored the message for the agent (or answered it)."""
    query = text(
        "SELECT status FROM conversation_messages "
        "WHERE conversation_id = :conversation AND platform_message_id = :id"
    )
    params = {"conversation": conversation_id, "id": f"update-{update_id}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.connect() as connection:
            status = connection.scalar(query, params)
        if status not in (None, "queued", "processing"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"update {update_id} in {conversation_id} was never handled")


def write_to_agent(customer: TelegramUser, message: str) -> None:
    """The customer writes while a person has the conversation: no answer."""
    update = text_update(customer.chat_id, message)
    assert customer.post(update).status_code == 200
    status = wait_until_kept_for_agent(
        customer.db, customer.conversation_id, update["update_id"]
    )
    assert status == "with_agent", (message, status)


def send_photo_to_agent(customer: TelegramUser, file_id: str, caption: str) -> None:
    update = photo_update(customer.chat_id, file_id, caption)
    assert customer.post(update).status_code == 200
    status = wait_until_kept_for_agent(
        customer.db, customer.conversation_id, update["update_id"]
    )
    assert status == "with_agent", ("photo", status)


def wait_for_telegram(
    telegram: FakeTelegram, chat_id: int, wanted: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m.get("text") == wanted for m in telegram.sent_messages(chat_id)):
            return
        time.sleep(0.1)
    sent = [m.get("text") for m in telegram.sent_messages(chat_id)]
    raise AssertionError(f"{wanted!r} never sent to chat {chat_id}: {sent!r}")


def handoff_ticket(db: Engine, conversation_id: str) -> str:
    with db.connect() as connection:
        return connection.scalar(
            text(
                "SELECT number FROM tickets WHERE conversation_id = :conversation "
                "AND number LIKE 'GEN-%' ORDER BY id DESC LIMIT 1"
            ),
            {"conversation": conversation_id},
        )


def claim_events(db: Engine, number: str) -> list[str]:
    with db.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT e.actor FROM ticket_events e "
                    "JOIN tickets t ON t.id = e.ticket_id "
                    "WHERE t.number = :number AND e.kind = 'handoff_claimed'"
                ),
                {"number": number},
            )
        )


def last_status(db: Engine, conversation_id: str) -> str:
    """What became of the customer's last message."""
    with db.connect() as connection:
        return connection.scalar(
            text(
                "SELECT status FROM conversation_messages "
                "WHERE conversation_id = :conversation AND direction = 'in' "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"conversation": conversation_id},
        )


def check_announcement(reply: str, number: str, asked_at: dt.datetime) -> None:
    """The case number, and a queue position while open (Ana is online)
    or the out-of-hours notice when closed."""
    assert number in reply, reply
    policy = load_policy(os.environ.get("HANDOFF_CONFIG") or None)
    now = dt.datetime.now(dt.UTC)
    closed = [form.format(ticket=re.escape(number)) for form in CLOSED_FORMS]
    if policy.is_open(asked_at) and policy.is_open(now):
        forms = QUEUE_FORMS
    elif not policy.is_open(asked_at) and not policy.is_open(now):
        forms = (closed[1],)
    else:  # the opening hours began or ended during the turn
        forms = QUEUE_FORMS + tuple(closed)
    assert any(re.search(form, reply) for form in forms), (forms, reply)


def test_agent_takes_over_a_telegram_customer_and_hands_back(
    browser: Browser,
    services_url: str,
    stack_db: Engine,
    telegram_api: FakeTelegram,
    telegram_user: TelegramUser,
) -> None:
    suffix = secrets.token_hex(3)
    ana_user, bruno_user = f"ana-{suffix}", f"bruno-{suffix}"
    add_agent(stack_db, ana_user, ANA)
    add_agent(stack_db, bruno_user, BRUNO)
    customer = telegram_user
    cid = customer.conversation_id
    chat_id = customer.chat_id

    ana = AgentConsole(browser, services_url)
    bruno: AgentConsole | None = None
    try:
        # Ana is at her console before the customer asks for anyone.
        ana.log_in(ana_user, PASSWORD)
        expect(ana.queue_row("queue-waiting", cid)).to_have_count(0)

        assert customer.write("hola, tengo un problema con la lavadora")
        asked_at = dt.datetime.now(dt.UTC)
        reply = customer.write("quiero hablar con una persona")
        number = handoff_ticket(stack_db, cid)
        assert number and number.startswith("GEN-"), reply
        check_announcement(reply, number, asked_at)
        bot_messages = len(telegram_api.sent_messages(chat_id))

        # The conversation arrives in her queue live, without a reload.
        waiting_row = ana.queue_row("queue-waiting", cid)
        expect(waiting_row).to_have_count(1)
        expect(waiting_row).to_have_attribute("data-status", "waiting")
        expect(waiting_row).to_contain_text("Telegram")
        assert ana.never_reloaded(), ana.navigations

        # The customer goes on writing before anybody claims it: nothing
        # answers, and Ana sees it all in the (read only) conversation.
        for message in WHILE_WAITING:
            write_to_agent(customer, message)
        waiting_row.click()
        expect(ana.transcript("customer")).to_have_count(2 + len(WHILE_WAITING))
        expect(ana.transcript("bot")).to_have_count(bot_messages)
        expect(ana.header_claim()).to_be_visible()
        ana.screenshot("queue.png")

        # Bruno has the same conversation open when Ana claims it. His page
        # gets no live events, so it still offers the claim, as when both
        # click at the same moment.
        bruno = AgentConsole(browser, services_url)
        bruno.context.route("**/console/api/events", lambda route: route.abort())
        bruno.log_in(bruno_user, PASSWORD, live=False)
        bruno.queue_row("queue-waiting", cid).click()
        expect(bruno.header_claim()).to_be_visible()

        waiting_row.get_by_test_id("claim-button").click()
        active_row = ana.queue_row("queue-active", cid)
        expect(active_row).to_have_count(1)
        expect(active_row).to_have_attribute("data-status", "active")
        expect(ana.queue_row("queue-waiting", cid)).to_have_count(0)
        expect(ana.page.get_by_test_id("reply-text")).to_be_visible()

        bruno.header_claim().click()
        expect(bruno.page.get_by_test_id("alert")).to_be_visible()
        expect(bruno.page.get_by_test_id("alert")).to_contain_text(
            f"already taken by {ANA}"
        )
        refused = bruno.page.evaluate(
            """async (cid) => {
                const me = await (await fetch("/console/api/me")).json();
                const answer = await fetch(
                    "/console/api/conversations/" + encodeURIComponent(cid) + "/claim",
                    {method: "POST", headers: {"X-CSRF-Token": me.csrf_token}},
                );
                return {status: answer.status, body: await answer.json()};
            }""",
            cid,
        )
        assert refused == {
            "status": 409,
            "body": {"detail": f"already taken by {ANA}"},
        }
        assert claim_events(stack_db, number) == [f"agent:{ana_user}"]

        # Ana answers; the customer's Telegram gets exactly her words.
        ana.page.get_by_test_id("reply-text").fill(AGENT_REPLY)
        ana.page.get_by_test_id("reply-send").click()
        expect(ana.transcript("agent")).to_have_count(1)
        expect(ana.transcript("agent")).to_contain_text(AGENT_REPLY)
        wait_for_telegram(telegram_api, chat_id, AGENT_REPLY)

        # The customer writes on, a photo and an injection attempt among it.
        telegram_api.add_file(
            "receipt-photo", tiny_png(), file_path="photos/receipt.png"
        )
        for message in WHILE_OWNED:
            if message == PHOTO_CAPTION:
                send_photo_to_agent(customer, "receipt-photo", PHOTO_CAPTION)
            else:
                write_to_agent(customer, message)

        customer_texts = ana.page.get_by_test_id("transcript").locator(
            "[data-testid='msg'][data-author='customer'] .msg-text"
        )
        expect(customer_texts).to_have_count(2 + len(ALL_AFTER_HANDOFF))
        expect(customer_texts).to_have_text(
            [
                "hola, tengo un problema con la lavadora",
                "quiero hablar con una persona",
                *ALL_AFTER_HANDOFF,
            ]
        )
        # The assistant answered none of them, here or on Telegram.
        expect(ana.transcript("bot")).to_have_count(bot_messages)
        after = [m.get("text") for m in telegram_api.sent_messages(chat_id)]
        # Only the people: who joined, then Ana's reply.
        joined = notice("agent_joined", "es", name="Ana")
        assert after[bot_messages:] == [joined, AGENT_REPLY], after

        photo = ana.transcript("customer").filter(has_text=PHOTO_CAPTION)
        expect(photo.locator(".attachments a.attachment")).to_have_count(1)
        expect(photo.locator(".attachments")).to_contain_text("receipt.png")
        thumbnail = photo.locator("img.thumbnail")
        expect(thumbnail).to_have_attribute("src", re.compile(r"/attachments/\d+$"))
        thumbnail.scroll_into_view_if_needed()
        ana.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 64",
            arg=thumbnail.element_handle(),
        )

        # The injection attempt is shown as text and never runs.
        expect(ana.transcript("customer").filter(has_text=XSS)).to_have_count(1)
        transcript = ana.page.get_by_test_id("transcript")
        expect(transcript.locator("script")).to_have_count(0)
        expect(transcript.locator("img[src='x']")).to_have_count(0)
        assert ana.page.evaluate("typeof window.__pwned") == "undefined"
        ana.transcript("customer").filter(has_text=XSS).evaluate(
            "(node) => node.scrollIntoView({block: 'center'})"
        )
        ana.screenshot("conversation.png")
        assert ana.never_reloaded(), ana.navigations

        # Ana hands back with the serial number she found out: the customer
        # is told, and the assistant answers again knowing the unit.
        ana.page.get_by_test_id("handback-add-slot").select_option("serial_number")
        ana.page.get_by_test_id("handback-add").click()
        ana.page.locator(
            '[data-testid="handback-slot"][data-slot="serial_number"]'
        ).fill("WM 4821 7730")
        ana.page.get_by_test_id("handback-button").click()
        expect(ana.queue_row("queue-active", cid)).to_have_count(0)
        handed_back = notice("handed_back", "es")
        wait_for_telegram(telegram_api, chat_id, handed_back)
        before_thanks = len(telegram_api.sent_messages(chat_id))
        answer = customer.write("gracias, nada mas")
        new = [m.get("text") for m in telegram_api.sent_messages(chat_id)]
        new = new[before_thanks:]
        assert answer.strip() and new, new
        assert AGENT_REPLY not in new and handed_back not in new, new
        assert last_status(stack_db, cid) == "answered"
        claim = customer.write("la lavadora no centrifuga")
        assert "número de serie" not in claim, claim
        assert "EcoWash" in claim or "4821" in claim, claim

        assert ana.never_reloaded(), ana.navigations
        assert not ana.script_errors, ana.script_errors
        assert not ana.console_errors, (ana.console_errors, ana.failed_requests)
        assert not bruno.script_errors, bruno.script_errors
    finally:
        ana.close()
        if bruno is not None:
            bruno.close()
