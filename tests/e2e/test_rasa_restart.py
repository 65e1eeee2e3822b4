"""A conversation survives a restart of Rasa: the production configuration
keeps trackers in Redis, and the gateway keeps the messages sent meanwhile."""

import pytest

from scripts.stack import Stack
from tests.e2e.chat import WebChat

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


def test_a_claim_goes_on_after_rasa_restarts(stack: Stack, chat: WebChat):
    assert "número de serie" in chat.say("hola, la lavadora no centrifuga")

    stack.restart("rasa")

    # Rasa remembers it asked for the serial: the answer is the warranty.
    reply = chat.say("wm 4821 7730")
    assert "14/03/2029" in reply, chat.printable()
