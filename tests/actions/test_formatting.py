"""How phones, postal codes, names and dates are read from and written back."""

import pytest

from actions.formatting import (
    clean_name,
    extract_serial,
    format_date,
    looks_like_serial,
    mask_name,
    mask_phone,
    normalize_phone,
    normalize_postal_code,
)


@pytest.mark.parametrize(
    "text",
    [
        "612345222",
        "612 34 52 22",
        "612 345 222",
        "612-345-222",
        "612.345.222",
        "+34 612 345 222",
        "+34612345222",
        "0034 612 345 222",
        "34612345222",
        "(+34) 612-345-222",
        "mi teléfono es el 612 345 222",
    ],
)
def test_spanish_mobiles_are_written_in_e164(text: str) -> None:
    assert normalize_phone(text) == "+34612345222"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("912 345 678", "+34912345678"), ("7 1 2 3 4 5 6 7 8", "+34712345678")],
)
def test_landlines_and_newer_ranges_are_accepted(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "61234522",  # one digit short
        "6123452222",  # one digit too many
        "512345678",  # no Spanish number starts with 5
        "+44 7700 900123",  # a foreign number
        "+1 612 345 2222",
        "+34 34 612 345 222",
        "llámame al 612345222 de 9 a 14",  # more digits than a phone
    ],
)
def test_anything_else_is_not_a_phone(text: str) -> None:
    assert normalize_phone(text) is None


def test_a_masked_phone_shows_only_its_last_three_digits() -> None:
    assert mask_phone("+34612345222") == "+34 6•• ••• 222"
    assert "345" not in mask_phone("+34612345222")


@pytest.mark.parametrize("phone", ["", "123", "+34 61"])
def test_a_phone_too_short_to_mask_is_hidden_entirely(phone: str) -> None:
    assert mask_phone(phone) == "•••"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("46001", "46001"),
        ("08014", "08014"),
        ("01001", "01001"),
        ("52001", "52001"),
        ("CP 46001", "46001"),
        ("cp: 28013 madrid", "28013"),
        ("Calle Colón 5, 46001 Valencia", "46001"),
        ("612345222 46001", "46001"),
    ],
)
def test_postal_codes_are_found_in_the_text(text: str, expected: str) -> None:
    assert normalize_postal_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234",
        "460011",  # six digits
        "53001",  # no province 53
        "00123",  # no province 00
        "99999",
        "código postal",
    ],
)
def test_anything_else_is_not_a_postal_code(text: str) -> None:
    assert normalize_postal_code(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lucía Martín", "Lucía Martín"),
        ("me llamo lucía martín", "Lucía Martín"),
        ("Mi nombre es Lucía Martín", "Lucía Martín"),
        ("Soy Ana", "Ana"),
        ("my name is john smith", "John Smith"),
        ("I'm James Walker", "James Walker"),
        ("i am sarah thompson", "Sarah Thompson"),
        ("name: Sarah", "Sarah"),
        ("Lucía.", "Lucía"),
        ("John   Smith", "John Smith"),
    ],
)
def test_names_are_taken_out_of_their_phrasing(text: str, expected: str) -> None:
    assert clean_name(text) == expected


def test_names_written_with_capitals_keep_them() -> None:
    assert clean_name("JOHN SMITH") == "JOHN SMITH"
    assert clean_name("Ronald McDonald") == "Ronald McDonald"


@pytest.mark.parametrize(
    "text", ["", "   ", "a", "123", "Juan 2", "👍", "me llamo 612345222", "x" * 121]
)
def test_text_that_is_not_a_name_is_refused(text: str) -> None:
    assert clean_name(text) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Lucía Martín", "Lucía M."),
        ("Antonio García Pérez", "Antonio G. P."),
        ("Lucía", "Lucía"),
        ("", ""),
    ],
)
def test_a_masked_name_keeps_the_first_name_and_initials(
    name: str, expected: str
) -> None:
    assert mask_name(name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-09-02", "02/09/2027"),
        ("2024-02-29", "29/02/2024"),
        ("2027-09-02T10:00:00+00:00", "02/09/2027"),
        (None, ""),
        ("", ""),
    ],
)
def test_dates_are_written_day_first(value: str | None, expected: str) -> None:
    assert format_date(value) == expected


@pytest.mark.parametrize(
    "text",
    [
        "WM 4821 7730",
        "wm-4821-7730",
        "WM48217730",
        "WM.4821.7730",
        "BX-2024-55812",
        "FR-7700-1234",
    ],
)
def test_serials_as_printed_or_typed_look_like_serials(text: str) -> None:
    assert looks_like_serial(text)


@pytest.mark.parametrize(
    "text",
    ["", "hola", "12", "ABCDEF", "no lo encuentro", "no sé dónde está", "WM 48 ✓"],
)
def test_words_and_short_answers_do_not_look_like_serials(text: str) -> None:
    assert not looks_like_serial(text)


@pytest.mark.parametrize(
    "text", ["Mi numero de serie es WM 4821 7730", "el número es WM 4821 7730"]
)
def test_a_sentence_around_a_serial_is_not_a_serial(text: str) -> None:
    assert not looks_like_serial(text)


@pytest.mark.parametrize(
    ("said", "serial"),
    [
        ("B X 2024 55812", "BX 2024 55812"),
        ("es la W M 4821 7730", "WM 4821 7730"),
        ("mi numero de serie es wm 4821 7730", "wm 4821 7730"),
        ("W M-2019-00417", "W M-2019-00417"),
    ],
)
def test_a_prefix_spelt_letter_by_letter_is_joined(said: str, serial: str) -> None:
    assert extract_serial(said) == serial
