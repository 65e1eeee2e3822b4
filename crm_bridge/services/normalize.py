"""Canonical forms of the identifiers people type: serials, phones, postal codes.

Shared by the API and the CSV importer so both store the same thing.
"""

import hashlib
import re

from crm_bridge.services.errors import InvalidValueError

_NOT_SERIAL_CHARS = re.compile(r"[^A-Z0-9]")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_SPANISH_NATIONAL = re.compile(r"[6-9]\d{8}")
_POSTAL_CODE = re.compile(r"\d{5}")


def serial_key(serial_number: str) -> str:
    """The lookup key of a serial: upper case, letters and digits only.

    ``"wm 4821-7730"`` and ``"WM48217730"`` have the same key.
    """
    return _NOT_SERIAL_CHARS.sub("", serial_number.upper())


def normalize_phone(phone: str, field: str = "phone") -> str:
    """Return ``phone`` in E.164 form; 9-digit Spanish numbers get ``+34``.

    Raises:
        InvalidValueError: when the number is neither E.164 nor a Spanish number.
    """
    compact = _PHONE_SEPARATORS.sub("", phone.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _SPANISH_NATIONAL.fullmatch(compact):
        return "+34" + compact
    if compact.startswith("+34") and not _SPANISH_NATIONAL.fullmatch(compact[3:]):
        raise InvalidValueError(
            field, phone, "is not a Spanish phone number (+34 and 9 digits)"
        )
    if _E164.fullmatch(compact):
        return compact
    raise InvalidValueError(
        field, phone, "is not a phone number (9 Spanish digits or +country code)"
    )


def normalize_postal_code(postal_code: str, field: str = "postal_code") -> str:
    """Return a Spanish postal code: 5 digits, province 01 to 52.

    Raises:
        InvalidValueError: when the code is not a Spanish postal code.
    """
    code = postal_code.strip()
    if not _POSTAL_CODE.fullmatch(code):
        raise InvalidValueError(field, postal_code, "is not a postal code (5 digits)")
    if not 1 <= int(code[:2]) <= 52:
        raise InvalidValueError(
            field, postal_code, "is not a Spanish postal code (province 01 to 52)"
        )
    return code


def mask_phone(phone: str | None) -> str:
    """Hide all but the country code and the last 3 digits, for logs."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "*" * len(phone)
    head = 3 if phone.startswith("+") else 0
    return phone[:head] + "*" * (len(phone) - head - 3) + phone[-3:]


def registration_code_hash(code: str) -> str | None:
    """SHA-256 of a shop's registration code, compared without case or spaces.

    ``"turia-4471"`` and ``"TURIA 4471"`` are the same code. None when the
    code has fewer than 6 letters or digits (too easy to guess).
    """
    compact = _NOT_SERIAL_CHARS.sub("", code.upper())
    if len(compact) < 6:
        return None
    return hashlib.sha256(compact.encode()).hexdigest()
