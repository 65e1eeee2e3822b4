from twilio.request_validator import RequestValidator

from tests.fakes.twilio_webhooks import (
    TEST_AUTH_TOKEN,
    gather_params,
    sign,
    sms_params,
    status_params,
    voice_params,
)

URL = "https://ipsm.example.test/channels/twilio/sms"


def test_an_sms_carries_twilios_field_names() -> None:
    params = sms_params("+34600111222", "+34900123456", "Hola")

    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"]
    assert params["MessageSid"].startswith("SM")
    assert params["NumMedia"] == "0"
    assert params["ApiVersion"] == "2010-04-01"
    assert "MessagingServiceSid" not in params
    assert all(isinstance(value, str) for value in params.values())


def test_an_mms_lists_its_media() -> None:
    params = sms_params(
        "+34600111222",
        "+34900123456",
        "",
        media=[("http://127.0.0.1:1/media/a.jpg", "image/jpeg")],
    )

    assert params["MessageSid"].startswith("MM")
    assert params["NumMedia"] == "1"
    assert params["MediaUrl0"] == "http://127.0.0.1:1/media/a.jpg"
    assert params["MediaContentType0"] == "image/jpeg"


def test_voice_webhooks_follow_one_call() -> None:
    ringing = voice_params("+34600111222", "+34900123456")
    call_sid = ringing["CallSid"]

    speech = gather_params(call_sid, speech="mi lavadora", confidence=0.87)
    digits = gather_params(call_sid, digits="1")
    ended = status_params(call_sid, duration=42)

    assert (ringing["CallStatus"], ringing["Direction"]) == ("ringing", "inbound")
    assert ringing["Caller"] == ringing["From"] == "+34600111222"
    assert speech["CallStatus"] == "in-progress"
    assert speech["SpeechResult"] == "mi lavadora"
    assert float(speech["Confidence"]) == 0.87
    assert "Digits" not in speech
    assert digits["Digits"] == "1" and "SpeechResult" not in digits
    assert (ended["CallStatus"], ended["CallDuration"]) == ("completed", "42")


def test_the_signature_validates_and_a_tampered_body_does_not() -> None:
    params = sms_params("+34600111222", "+34900123456", "Hola")
    signature = sign(URL, params, TEST_AUTH_TOKEN)["X-Twilio-Signature"]
    validator = RequestValidator(TEST_AUTH_TOKEN)

    assert validator.validate(URL, params, signature)
    assert not validator.validate(URL, {**params, "Body": "Adiós"}, signature)
    assert not RequestValidator("another-token").validate(URL, params, signature)
