"""The real ``twilio`` client against the fake, as the product will use it."""

import threading

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.fakes.twilio_api import FakeTwilio, count_segments

CUSTOMER = "+34600111222"
OUR_NUMBER = "+34900123456"


def test_a_client_pointed_at_the_fake_sends_and_the_fake_records(
    fake_twilio: FakeTwilio,
) -> None:
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token)
    client.api.base_url = fake_twilio.base_url

    message = client.messages.create(
        to=CUSTOMER,
        from_=OUR_NUMBER,
        body="Tu reparación está lista.",
        status_callback="https://example.test/twilio/status",
    )

    [sent] = fake_twilio.messages
    assert message.sid == sent.sid
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == CUSTOMER
    assert message.from_ == OUR_NUMBER
    assert message.num_segments == "1"
    assert message.date_created is not None
    assert sent.body == "Tu reparación está lista."
    assert sent.status_callback == "https://example.test/twilio/status"


def test_media_urls_make_an_mms(fake_twilio: FakeTwilio) -> None:
    media_url = "https://example.test/receipt.jpg"

    message = fake_twilio.client().messages.create(
        to=CUSTOMER, from_=OUR_NUMBER, media_url=[media_url]
    )

    assert message.sid.startswith("MM")
    assert message.num_media == "1"
    assert fake_twilio.messages_to(CUSTOMER)[0].media_urls == (media_url,)


def test_a_wrong_auth_token_is_a_401(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client(auth_token="wrong-token")

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=CUSTOMER, from_=OUR_NUMBER, body="Hola")

    assert raised.value.status == 401
    assert raised.value.code == 20003
    assert fake_twilio.messages == []


def test_an_unsubscribed_recipient_is_error_21610(fake_twilio: FakeTwilio) -> None:
    fake_twilio.unsubscribe(CUSTOMER)

    with pytest.raises(TwilioRestException) as raised:
        fake_twilio.client().messages.create(to=CUSTOMER, from_=OUR_NUMBER, body="Hola")

    assert raised.value.status == 400
    assert raised.value.code == 21610
    assert "unsubscribed" in raised.value.msg


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500)])
def test_programmed_failures_hit_the_next_requests_only(
    fake_twilio: FakeTwilio, status: int, code: int
) -> None:
    client = fake_twilio.client()
    fake_twilio.fail_next(status=status, count=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=CUSTOMER, from_=OUR_NUMBER, body="Hola")
        assert (raised.value.status, raised.value.code) == (status, code)
    client.messages.create(to=CUSTOMER, from_=OUR_NUMBER, body="Hola")

    assert len(fake_twilio.messages) == 1


def test_a_message_without_body_or_media_is_refused(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as raised:
        fake_twilio.client().messages.create(to=CUSTOMER, from_=OUR_NUMBER)

    assert raised.value.code == 21602


def test_a_call_update_is_recorded(fake_twilio: FakeTwilio) -> None:
    call_sid = "CA" + "ab" * 16
    twiml = "<Response><Say>Un momento, por favor.</Say></Response>"

    call = fake_twilio.client().calls(call_sid).update(twiml=twiml)
    fake_twilio.client().calls(call_sid).update(status="completed")

    assert call.sid == call_sid
    assert call.status == "in-progress"
    first, hang_up = fake_twilio.call_updates
    assert first.twiml == twiml
    assert hang_up.status == "completed"


def test_media_is_served_and_its_downloads_counted(fake_twilio: FakeTwilio) -> None:
    url = fake_twilio.add_media("receipt.jpg", b"\xff\xd8jpeg", "image/jpeg")

    response = httpx.get(url)

    assert response.content == b"\xff\xd8jpeg"
    assert response.headers["content-type"] == "image/jpeg"
    assert fake_twilio.media_fetches("receipt.jpg") == 1
    assert httpx.get(f"{fake_twilio.base_url}/media/missing.jpg").status_code == 404


def test_wait_for_messages_returns_once_they_arrive(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client()

    def send_later() -> None:
        for text in ("uno", "dos"):
            client.messages.create(to=CUSTOMER, from_=OUR_NUMBER, body=text)

    sender = threading.Timer(0.1, send_later)
    sender.start()
    sent = fake_twilio.wait_for_messages(CUSTOMER, count=2, timeout=5)
    sender.join()

    assert [message.body for message in sent] == ["uno", "dos"]


def test_wait_for_messages_fails_with_what_did_arrive(fake_twilio: FakeTwilio) -> None:
    fake_twilio.client().messages.create(to=CUSTOMER, from_=OUR_NUMBER, body="uno")

    with pytest.raises(AssertionError, match=r"got 1: \['uno'\]"):
        fake_twilio.wait_for_messages(CUSTOMER, count=2, timeout=0.2)


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("ñ" * 160, 1),  # ñ is in the GSM alphabet
        ("á" * 70, 1),  # á is not: UCS-2, 70 per SMS
        ("á" * 71, 2),
    ],
)
def test_segments_follow_the_encoding(body: str, segments: int) -> None:
    assert count_segments(body) == segments
