"""People on SMS, on the phone and on Telegram, driving the running stack.

Each driver posts what the platform would post (signed as the platform signs
it) to the services app, and reads the assistant's answers where they go: the
fake Twilio or Telegram API for SMS and Telegram, the TwiML for a call.
"""

import re
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, text

from tests.e2e.chat import Transcript
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import callback_update, photo_update, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_webhooks import (
    TEST_AUTH_TOKEN,
    gather_params,
    new_sid,
    sign,
    sms_params,
    status_params,
    voice_params,
)

FINISHED = ("answered", "ignored", "needs_human")


def wait_for_turn(db: Engine, conversation_id: str, platform_id: str) -> None:
    """Until the message is answered and every reply to it has gone out."""
    query = text(
        """
        SELECT m.status,
               (SELECT count(*) FROM conversation_messages r
                WHERE r.reply_to_id = m.id AND r.status = 'pending') AS pending
        FROM conversation_messages m
        WHERE m.conversation_id = :conversation AND m.platform_message_id = :id
        """
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.connect() as connection:
            row = connection.execute(
                query, {"conversation": conversation_id, "id": platform_id}
            ).first()
        if row is not None and row.status in FINISHED and row.pending == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{platform_id} in {conversation_id} was not answered")


class _Transcript(Transcript):
    http: httpx.Client

    def close(self) -> None:
        self.http.close()


class SmsPhone(_Transcript):
    """A mobile phone texting the assistant's Twilio number."""

    def __init__(
        self,
        services_url: str,
        twilio: FakeTwilio,
        db: Engine,
        number: str,
        assistant_number: str,
    ) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=services_url, timeout=60)
        self.url = f"{services_url}/channels/twilio/sms"
        self.twilio = twilio
        self.db = db
        self.number = number
        self.assistant_number = assistant_number
        self.conversation_id = "sms-" + re.sub(r"\D", "", number)

    def post(self, body: str, sid: str | None = None, **extra: Any) -> httpx.Response:
        params = sms_params(self.number, self.assistant_number, body, sid, **extra)
        return self.http.post(
            self.url, data=params, headers=sign(self.url, params, TEST_AUTH_TOKEN)
        )

    def text(self, body: str, **extra: Any) -> str:
        """Texts ``body``; returns the SMS bodies that came back, joined."""
        seen = len(self.twilio.messages_to(self.number))
        sid = new_sid("MM" if extra.get("media") else "SM")
        answer = self.post(body, sid, **extra)
        assert answer.status_code == 200, answer.text
        wait_for_turn(self.db, self.conversation_id, sid)
        replies = [m.body for m in self.twilio.messages_to(self.number)[seen:]]
        self.transcript.append(("person", body))
        self.transcript.extend(("assistant", reply) for reply in replies)
        return "\n".join(replies)


class PhoneCall(_Transcript):
    """One call to the assistant's number, answered by speech or keypad."""

    def __init__(self, services_url: str, number: str, assistant_number: str) -> None:
        super().__init__()
        self.base = services_url
        self.http = httpx.Client(timeout=60)
        self.number = number
        self.assistant_number = assistant_number
        self.call_sid = new_sid("CA")
        self.twiml: ET.Element | None = None

    def _post(self, url: str, params: dict[str, str]) -> ET.Element:
        answer = self.http.post(
            url, data=params, headers=sign(url, params, TEST_AUTH_TOKEN)
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(answer.text)
        # Follow hold-and-redirect until the answer is there, as Twilio does.
        while (redirect := root.find("Redirect")) is not None:
            follow = gather_params(self.call_sid, from_=self.number)
            answer = self.http.post(
                redirect.text or "",
                data=follow,
                headers=sign(redirect.text or "", follow, TEST_AUTH_TOKEN),
            )
            root = ET.fromstring(answer.text)
        self.twiml = root
        self.transcript.append(("assistant", self.said()))
        return root

    def dial(self) -> str:
        params = voice_params(self.number, self.assistant_number, self.call_sid)
        self._post(f"{self.base}/channels/twilio/voice", params)
        return self.said()

    def _action(self) -> str:
        assert self.twiml is not None
        gather = self.twiml.find("Gather")
        assert gather is not None, ET.tostring(self.twiml, encoding="unicode")
        return gather.attrib["action"]

    def say(self, speech: str, confidence: float = 0.92) -> str:
        self.transcript.append(("person", speech))
        params = gather_params(
            self.call_sid, speech=speech, confidence=confidence, from_=self.number
        )
        self._post(self._action(), params)
        return self.said()

    def press(self, digits: str) -> str:
        self.transcript.append(("person", f"[keys {digits}]"))
        params = gather_params(self.call_sid, digits=digits, from_=self.number)
        self._post(self._action(), params)
        return self.said()

    def said(self) -> str:
        """Everything the assistant says in the current TwiML."""
        assert self.twiml is not None
        return " ".join((say.text or "") for say in self.twiml.iter("Say"))

    def gather_language(self) -> str:
        assert self.twiml is not None
        gather = self.twiml.find("Gather")
        return gather.attrib["language"] if gather is not None else ""

    def hang_up(self) -> int:
        url = f"{self.base}/channels/twilio/voice/status"
        params = status_params(self.call_sid, "completed", 95, from_=self.number)
        return self.http.post(
            url, data=params, headers=sign(url, params, TEST_AUTH_TOKEN)
        ).status_code

    @property
    def conversation_id(self) -> str:
        return f"voice-{self.call_sid}"


class TelegramUser(_Transcript):
    """A person in a private chat with the bot."""

    def __init__(
        self,
        services_url: str,
        telegram: FakeTelegram,
        db: Engine,
        chat_id: int,
        secret: str,
        language_code: str = "es",
    ) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=services_url, timeout=60)
        self.telegram = telegram
        self.db = db
        self.chat_id = chat_id
        self.secret = secret
        self.language_code = language_code
        self.conversation_id = f"telegram-{chat_id}"
        self.last: list[dict[str, Any]] = []

    def post(self, update: dict[str, Any], secret: str | None = None) -> httpx.Response:
        return self.http.post(
            "/channels/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret or self.secret},
        )

    def send(self, update: dict[str, Any], said: str) -> str:
        seen = len(self.telegram.sent_messages(self.chat_id))
        answer = self.post(update)
        assert answer.status_code == 200, answer.text
        wait_for_turn(self.db, self.conversation_id, f"update-{update['update_id']}")
        self.last = self.telegram.sent_messages(self.chat_id)[seen:]
        self.transcript.append(("person", said))
        self.transcript.extend(("assistant", m.get("text", "")) for m in self.last)
        return "\n".join(message.get("text", "") for message in self.last)

    def write(self, message: str) -> str:
        update = text_update(self.chat_id, message, language_code=self.language_code)
        return self.send(update, message)

    def send_photo(self, file_id: str, caption: str | None = None) -> str:
        return self.send(photo_update(self.chat_id, file_id, caption), "[photo]")

    def buttons(self) -> list[tuple[str, str, int]]:
        """(title, callback data, message id) of the inline keyboards shown."""
        found = []
        for message in self.last:
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    found.append(
                        (button["text"], button["callback_data"], message["message_id"])
                    )
        return found

    def press(self, title: str) -> str:
        for shown, data, message_id in self.buttons():
            if shown == title:
                update = callback_update(self.chat_id, data, message_id)
                return self.send(update, f"[{title}]")
        raise AssertionError(f"no button {title!r} in {self.buttons()}")


def path_of(url: str) -> str:
    return urlsplit(url).path
