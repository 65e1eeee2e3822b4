import pytest

from crm_bridge.services.errors import InvalidValueError
from crm_bridge.services.normalize import (
    mask_phone,
    normalize_phone,
    normalize_postal_code,
    serial_key,
)


@pytest.mark.parametrize(
    "typed",
    ["WM 4821 7730", "wm-4821-7730", " Wm.4821/7730 ", "WM48217730"],
)
def test_serial_key_ignores_case_spaces_and_punctuation(typed: str) -> None:
    assert serial_key(typed) == "WM48217730"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("612345222", "+34612345222"),
        ("612 34 52 22", "+34612345222"),
        ("612-345-222", "+34612345222"),
        ("+34 612 345 222", "+34612345222"),
        ("0034612345222", "+34612345222"),
        ("963 51 20 40", "+34963512040"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("611", "is not a phone number"),
        ("512345678", "is not a phone number"),
        ("+34 61234", "is not a Spanish phone number"),
        ("call me", "is not a phone number"),
        ("", "is not a phone number"),
    ],
)
def test_bad_phones_are_refused_naming_the_value(typed: str, reason: str) -> None:
    with pytest.raises(InvalidValueError, match=reason) as raised:
        normalize_phone(typed)

    assert raised.value.value == typed
    assert repr(typed) in str(raised.value)


@pytest.mark.parametrize("code", ["46001", "08014", "01001", "52001", " 28013 "])
def test_spanish_postal_codes_are_accepted(code: str) -> None:
    assert normalize_postal_code(code) == code.strip()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("4600", "5 digits"),
        ("460011", "5 digits"),
        ("46O01", "5 digits"),
        ("00001", "province 01 to 52"),
        ("53001", "province 01 to 52"),
    ],
)
def test_bad_postal_codes_are_refused(code: str, reason: str) -> None:
    with pytest.raises(InvalidValueError, match=reason):
        normalize_postal_code(code)


def test_masked_phone_keeps_country_code_and_last_three_digits() -> None:
    assert mask_phone("+34612345222") == "+34******222"
    assert mask_phone(None) == "-"
    assert "612345" not in mask_phone("+34612345222")
