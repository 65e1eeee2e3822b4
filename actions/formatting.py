"""How numbers, dates and phones are written back to the person."""

import datetime as dt
import re
import unicodedata

_PHONE_DIGITS = re.compile(r"\D")


def fold(text: str) -> str:
    """Lower case without accents or extra spaces: "Frigorífico " → "frigorifico"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.replace("_", " ").split())


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


_SERIAL_SEPARATORS = re.compile(r"[\s\-./]")

# Short words that come before a serial in a sentence but are not part of it.
_NOT_A_PREFIX = frozenset("es el la de mi my is its the num no nº n°".split())


def looks_like_serial(text: str) -> bool:
    """Letters and digits, at least three digits, and no word around them."""
    if any(len(word) >= 4 and word.isalpha() for word in text.split()):
        return False
    compact = _SERIAL_SEPARATORS.sub("", text)
    digits = sum(char.isdigit() for char in compact)
    return 5 <= len(compact) <= 30 and compact.isalnum() and digits >= 3


def extract_serial(text: str) -> str | None:
    """Finds the serial in "mi numero de serie es WM 4821 7730" and the like.

    The serial starts at the first token with a digit, or at a short letter
    prefix (WM, BX) right before it, and runs while the tokens carry digits.
    """
    tokens = text.replace(",", " ").replace(":", " ").split()
    start = next(
        (i for i, token in enumerate(tokens) if any(c.isdigit() for c in token)),
        None,
    )
    if start is None:
        return None
    end = start + 1
    while end < len(tokens) and any(c.isdigit() for c in tokens[end]):
        end += 1
    before = tokens[start - 1] if start > 0 else ""
    if before.isalpha() and len(before) <= 3 and before.lower() not in _NOT_A_PREFIX:
        start -= 1
        # A prefix spelt letter by letter, as speech gives it: "B X 2024 55812".
        spelt = [before] if len(before) == 1 else []
        while spelt and start > 0 and len(spelt) < 3:
            letter = tokens[start - 1]
            if not (letter.isalpha() and len(letter) == 1 and letter.lower() != "y"):
                break
            spelt.insert(0, letter)
            start -= 1
        if len(spelt) > 1:
            tokens = [*tokens[:start], "".join(spelt), *tokens[start + len(spelt) :]]
            end -= len(spelt) - 1
    candidate = " ".join(tokens[start:end]).strip(".;")
    return candidate if looks_like_serial(candidate) else None


def normalize_postal_code(text: str) -> str | None:
    """Returns a five-digit Spanish postal code found in the text, or None."""
    joined = re.sub(r"\b(\d{2})[\s.](\d{3})\b", r"\1\2", text)
    match = re.search(r"(?<!\d)(\d{5})(?!\d)", joined)
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
        part.capitalize() if part.islower() and part not in _PARTICLES else part
        for part in name.split()
    )


_PARTICLES = frozenset("de del la las los y e van von da di".split())
