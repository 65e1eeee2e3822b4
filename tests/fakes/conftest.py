from tests.fakes.fixtures import fake_telegram, fake_twilio  # noqa: F401
