"""How numbers, dates and phones are written back to the person."""

import datetime as dt
import re

_PHONE_DIGITS = re.compile(r"\D")


def format_date(value: str | None) -> str:
    """Turns an ISO date into dd/mm/yyyy, the way it is read in Spain."""
    if not value:
        return ""
    return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def normalize_phone(text: str) -> str | None:
    """Returns a Spanish phone in E.164 (+34…), or None if it is not one."""
    digits = _PHONE_DIGITS.sub("", text)
    if text.strip().startswith("+") and not digits.startswith("34"):
        return None
    if digits.startswith("0034"):
        digits = digits[4:]
    elif digits.startswith("34") and len(digits) == 11:
        digits = digits[2:]
    if len(digits) != 9 or digits[0] not in "6789":
        return None
    return f"+34{digits}"


def mask_phone(phone: str) -> str:
    """Hides all but the last three digits: +34 6•• ••• 222."""
    digits = _PHONE_DIGITS.sub("", phone)[-9:]
    if len(digits) < 9:
        return "•••"
    return f"+34 {digits[0]}•• ••• {digits[-3:]}"


def mask_name(name: str) -> str:
    """Keeps the first name and the initial of the rest: "Lucía M."."""
    parts = name.split()
    if len(parts) < 2:
        return name
    return " ".join([parts[0], *(f"{part[0]}." for part in parts[1:])])


def looks_like_serial(text: str) -> bool:
    """A serial has letters and digits, at least three digits, no long words."""
    compact = re.sub(r"[\s\-./]", "", text)
    digits = sum(char.isdigit() for char in compact)
    return 5 <= len(compact) <= 30 and compact.isalnum() and digits >= 3


def normalize_postal_code(text: str) -> str | None:
    """Returns a five-digit Spanish postal code found in the text, or None."""
    match = re.search(r"(?<!\d)(\d{5})(?!\d)", text)
    if match is None:
        return None
    code = match.group(1)
    if not 1 <= int(code[:2]) <= 52:
        return None
    return code


def clean_name(text: str) -> str | None:
    """Takes a person's name out of "me llamo …" / "my name is …" phrasing."""
    name = re.sub(
        r"^\s*(me llamo|mi nombre es|soy|my name is|i am|i'm|name:)\s+",
        "",
        text,
        flags=re.IGNORECASE,
    ).strip(" .,!")
    letters = sum(char.isalpha() for char in name)
    if letters < 2 or len(name) > 120 or any(char.isdigit() for char in name):
        return None
    return " ".join(
        part.capitalize() if part.islower() else part for part in name.split()
    )
