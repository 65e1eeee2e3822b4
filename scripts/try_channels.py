"""Try SMS, calls and Telegram on this machine, without Twilio or Telegram.

Three terminals:

    # 1. stand-ins for the Twilio and Telegram APIs; shows what the assistant sends
    .venv/bin/python scripts/try_channels.py fakes

    # 2. the assistant, with both channels pointed at them
    eval "$(.venv/bin/python scripts/try_channels.py env)" && make run

    # 3. a person: texting, calling, writing on Telegram
    .venv/bin/python scripts/try_channels.py sms "hola, la lavadora no centrifuga"
    .venv/bin/python scripts/try_channels.py telegram "WM 4821 7730"
    .venv/bin/python scripts/try_channels.py call "my boiler shows E04" "BX-2024-55812"

Each message is posted to the assistant's webhook the way the platform posts it
(Twilio's signature, Telegram's secret header). SMS and Telegram answers arrive
through the platform API, so they appear in terminal 1; a call's answers are
the spoken TwiML, printed here. Everything stays on 127.0.0.1.
"""

import argparse
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.telegram_api import TEST_BOT_TOKEN, FakeTelegram  # noqa: E402
from tests.fakes.telegram_updates import text_update  # noqa: E402
from tests.fakes.twilio_api import FakeTwilio  # noqa: E402
from tests.fakes.twilio_webhooks import (  # noqa: E402
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    gather_params,
    new_sid,
    sign,
    sms_params,
    voice_params,
)

TWILIO_PORT = 8010
TELEGRAM_PORT = 8011
ASSISTANT_NUMBER = "+34900000000"
WEBHOOK_SECRET = "local-webhook-secret"
SERVICES_URL = "http://127.0.0.1:8000"


def environment() -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": ASSISTANT_NUMBER,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{TWILIO_PORT}",
        "TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{TELEGRAM_PORT}",
    }


def serve(app: object, port: int) -> None:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    threading.Thread(target=uvicorn.Server(config).run, daemon=True).start()


def run_fakes() -> None:
    twilio, telegram = FakeTwilio(), FakeTelegram()
    serve(twilio.app, TWILIO_PORT)
    serve(telegram.app, TELEGRAM_PORT)
    print(
        f"Twilio API stand-in on http://127.0.0.1:{TWILIO_PORT}, Telegram Bot API "
        f"stand-in on http://127.0.0.1:{TELEGRAM_PORT}.\n"
        "Start the assistant with these variables (try_channels.py env); what it "
        "sends shows here. Ctrl-C stops.\n",
        flush=True,
    )
    shown_sms = shown_telegram = 0
    try:
        while True:
            sent = twilio.messages
            for message in sent[shown_sms:]:
                print(f"SMS to {message.to}:\n  {message.body}\n", flush=True)
            shown_sms = len(sent)
            calls = telegram.calls("sendMessage")
            for call in calls[shown_telegram:]:
                keyboard = call.params.get("reply_markup") or {}
                buttons = [
                    button["text"]
                    for row in keyboard.get("inline_keyboard", [])
                    for button in row
                ]
                extra = f"  [{' | '.join(buttons)}]" if buttons else ""
                print(
                    f"Telegram to chat {call.params.get('chat_id')}:\n"
                    f"  {call.params.get('text')}{extra}\n",
                    flush=True,
                )
            shown_telegram = len(calls)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass


def send_sms(services: str, number: str, text: str) -> None:
    url = f"{services}/channels/twilio/sms"
    params = sms_params(number, ASSISTANT_NUMBER, text)
    answer = httpx.post(url, data=params, headers=sign(url, params, TEST_AUTH_TOKEN))
    print(f"{answer.status_code}: sent; the answer arrives as an SMS (terminal 1)")


def send_telegram(services: str, chat_id: int, text: str) -> None:
    answer = httpx.post(
        f"{services}/channels/telegram/webhook",
        json=text_update(chat_id, text, update_id=time.time_ns() // 1000),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    print(f"{answer.status_code}: sent; the answer arrives on Telegram (terminal 1)")


def place_call(services: str, number: str, answers: list[str]) -> None:
    """A whole call: each answer is speech, or keys when it is only digits."""
    call_sid = new_sid("CA")
    url = f"{services}/channels/twilio/voice"
    params = voice_params(number, ASSISTANT_NUMBER, call_sid)
    with httpx.Client(timeout=60) as client:
        for answer in [None, *answers]:
            if answer is not None:
                print(f"caller: {answer}")
                keys = answer.replace(" ", "")
                params = gather_params(
                    call_sid,
                    speech=None if keys.isdigit() else answer,
                    digits=keys if keys.isdigit() else None,
                    from_=number,
                    to=ASSISTANT_NUMBER,
                )
            while True:
                reply = client.post(
                    url, data=params, headers=sign(url, params, TEST_AUTH_TOKEN)
                )
                twiml = ET.fromstring(reply.text)
                said = " ".join(say.text or "" for say in twiml.iter("Say"))
                print(f"assistant: {said}")
                redirect = twiml.find("Redirect")
                if redirect is None:
                    break
                url = redirect.text or ""
                params = gather_params(call_sid, from_=number, to=ASSISTANT_NUMBER)
            gather = twiml.find("Gather")
            if gather is None:
                print("(the assistant hung up)")
                return
            url = gather.attrib["action"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("--services-url", default=SERVICES_URL)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fakes", help="run the Twilio and Telegram stand-ins")
    commands.add_parser("env", help="print the variables that point make run at them")
    sms = commands.add_parser("sms", help="text the assistant")
    sms.add_argument("text")
    sms.add_argument("--from", dest="number", default="+34612000111")
    telegram = commands.add_parser("telegram", help="write to the bot")
    telegram.add_argument("text")
    telegram.add_argument("--chat", type=int, default=5551234)
    call = commands.add_parser("call", help="call and say (or key in) each answer")
    call.add_argument("answers", nargs="*")
    call.add_argument("--from", dest="number", default="+34612000111")
    args = parser.parse_args()

    if args.command == "fakes":
        run_fakes()
    elif args.command == "env":
        for name, value in environment().items():
            print(f"export {name}='{value}'")
    elif args.command == "sms":
        send_sms(args.services_url, args.number, args.text)
    elif args.command == "telegram":
        send_telegram(args.services_url, args.chat, args.text)
    else:
        place_call(args.services_url, args.number, args.answers)


if __name__ == "__main__":
    main()
