"""Pytest fixtures serving the fakes; import them into a conftest to use them.

from tests.fakes.fixtures import fake_telegram, fake_twilio  # noqa: F401
"""

from collections.abc import Iterator

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A fresh Twilio fake on its own loopback port, stopped after the test."""
    with FakeTwilio().running() as fake:
        yield fake


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fresh Bot API fake on its own loopback port, stopped after the test."""
    with FakeTelegram().running() as fake:
        yield fake
