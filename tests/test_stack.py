"""What `make run` tells a newcomer once the assistant is up."""

import sys
from pathlib import Path

from crm_bridge.cli import DEMO_ACCOUNTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import stack  # noqa: E402 - a script, not a package


def test_the_ready_message_says_where_agents_sign_in_and_with_what():
    config = stack.StackConfig(services_port=8100)

    message = stack.ready_message(config, {})

    assert "http://127.0.0.1:8100/chat" in message
    assert "Agents:      http://127.0.0.1:8100/console" in message
    for username, _name, password, role in DEMO_ACCOUNTS:
        assert f"{role.value}: {username} / {password}" in message
