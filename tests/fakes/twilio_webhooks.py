"""Build the form bodies Twilio POSTs to our webhooks, and sign them as Twilio does.

Field names and values follow Twilio's webhook documentation for Programmable
Messaging (incoming message, status callback) and Voice (incoming call,
``<Gather>`` action, status callback). Every value is a string, as in the real
``application/x-www-form-urlencoded`` body, so a signature computed here matches
the one the server computes from the parsed form.
"""

import secrets
from collections.abc import Iterable

from twilio.request_validator import RequestValidator

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_VERSION = "2010-04-01"

# Where the caller is, as Twilio geolocates a Spanish mobile number.
DEFAULT_FROM_COUNTRY = "ES"
DEFAULT_FROM_CITY = ""


def new_sid(prefix: str) -> str:
    """A Twilio-shaped sid: a two-letter type prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def sms_params(
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    media: Iterable[tuple[str, str]] = (),
    *,
    account_sid: str = TEST_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
    num_segments: int = 1,
    from_country: str = DEFAULT_FROM_COUNTRY,
    from_city: str = DEFAULT_FROM_CITY,
) -> dict[str, str]:
    """The body of Twilio's incoming-message webhook (SMS, or MMS with media).

    Args:
        from_: The sender, E.164.
        to: Our Twilio number, E.164.
        body: The text; may be empty for a picture-only MMS.
        message_sid: Defaults to a new ``SM…`` sid, ``MM…`` when media is given.
        media: ``(url, content_type)`` pairs, sent as ``MediaUrlN`` and
            ``MediaContentTypeN``.
        messaging_service_sid: Present only when the number belongs to a
            Messaging Service, as on Twilio.

    Returns:
        The form fields, every value a string.
    """
    media = list(media)
    sid = message_sid or new_sid("MM" if media else "SM")
    params = {
        "ToCountry": "ES",
        "ToState": "",
        "ToCity": "",
        "ToZip": "",
        "FromCountry": from_country,
        "FromState": "",
        "FromCity": from_city,
        "FromZip": "",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "MessageSid": sid,
        "SmsStatus": "received",
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": str(num_segments),
        "ReferralNumMedia": "0",
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid is not None:
        params["MessagingServiceSid"] = messaging_service_sid
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return params


def message_status_params(
    message_sid: str,
    to: str,
    from_: str,
    status: str = "delivered",
    *,
    error_code: int | None = None,
    account_sid: str = TEST_ACCOUNT_SID,
) -> dict[str, str]:
    """The body of the ``StatusCallback`` Twilio POSTs as an outbound message moves.

    ``ErrorCode`` is only present on ``failed`` / ``undelivered``, e.g. 30006
    (landline) or 30007 (carrier filtering).
    """
    params = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def _call_params(
    call_sid: str, from_: str, to: str, status: str, account_sid: str
) -> dict[str, str]:
    """Fields Twilio repeats in every Voice webhook of one inbound call."""
    return {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": "inbound",
        "From": from_,
        "Caller": from_,
        "FromCountry": DEFAULT_FROM_COUNTRY,
        "CallerCountry": DEFAULT_FROM_COUNTRY,
        "FromCity": "",
        "CallerCity": "",
        "FromState": "",
        "CallerState": "",
        "FromZip": "",
        "CallerZip": "",
        "To": to,
        "Called": to,
        "ToCountry": "ES",
        "CalledCountry": "ES",
        "ToCity": "",
        "CalledCity": "",
        "ToState": "",
        "CalledState": "",
        "ToZip": "",
        "CalledZip": "",
    }


def voice_params(
    from_: str,
    to: str,
    call_sid: str | None = None,
    *,
    account_sid: str = TEST_ACCOUNT_SID,
) -> dict[str, str]:
    """The body of Twilio's incoming-call webhook: a new call, still ringing."""
    return _call_params(call_sid or new_sid("CA"), from_, to, "ringing", account_sid)


def gather_params(
    call_sid: str,
    speech: str | None = None,
    confidence: float | None = None,
    digits: str | None = None,
    *,
    from_: str = "+34600000000",
    to: str = "+34900000000",
    account_sid: str = TEST_ACCOUNT_SID,
) -> dict[str, str]:
    """The body Twilio POSTs to a ``<Gather>`` action once the caller answered.

    ``SpeechResult``/``Confidence`` appear only for speech input, ``Digits`` only
    for key presses; a gather that timed out has neither.
    """
    params = _call_params(call_sid, from_, to, "in-progress", account_sid)
    if speech is not None:
        params["SpeechResult"] = speech
        params["Confidence"] = f"{0.9 if confidence is None else confidence:.8f}"
    if digits is not None:
        params["Digits"] = digits
        params["FinishedOnKey"] = ""
    return params


def status_params(
    call_sid: str,
    status: str = "completed",
    duration: int | None = None,
    *,
    from_: str = "+34600000000",
    to: str = "+34900000000",
    account_sid: str = TEST_ACCOUNT_SID,
) -> dict[str, str]:
    """The body of a call's ``statusCallback``.

    ``CallDuration`` (seconds) is only sent once the call is ``completed``.
    """
    params = _call_params(call_sid, from_, to, status, account_sid)
    params["CallbackSource"] = "call-progress-events"
    params["SequenceNumber"] = "0"
    if status == "completed":
        params["CallDuration"] = str(duration or 0)
    return params


def sign(url: str, params: dict[str, str], auth_token: str) -> dict[str, str]:
    """The ``X-Twilio-Signature`` header Twilio would send for this POST.

    Args:
        url: The full URL Twilio was configured with, query string included;
            the server must rebuild the same one (scheme and host as seen by
            Twilio, not by a proxy behind it).
        params: The form fields, exactly as posted.
        auth_token: The account's auth token.
    """
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature}
