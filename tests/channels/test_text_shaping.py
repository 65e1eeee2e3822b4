"""Replies shaped for SMS, voice and Telegram: cost, readability, safe cuts."""

import random
import re
import time

import pytest

from channels.rasa_client import Reply
from channels.text_shaping import (
    GSM_BASIC,
    dtmf_choice,
    guess_language,
    sms_encoding,
    sms_segments,
    sms_text,
    split_sms,
    split_telegram,
    utf16_length,
    voice_text,
)

YES_NO_ES = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
YES_NO_EN = [
    {"title": "Yes", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]
CONTACT_ES = (
    "Tengo estos datos de contacto: Lucía M., teléfono +34 6•• ••• 222 y "
    "código postal 46001. ¿Son correctos?"
)
DONE_ES = (
    "Hecho: el caso WAR-2026-000001 está con Servicio Técnico Levante, que cubre "
    "el código postal 46001. Le llamarán en 48 horas…"
)
SUMMARY_ES = (
    "Resumen: lavadora EcoWash 8 kg (WM 4821 7730). "
    "Avería: «hola, la lavadora no centrifuga»."
)
DONE_EN = (
    "Done: case WAR-2026-000872 is with Servicio Técnico Levante, who cover 46001. "
    "They will call you within 48 hours, and we will check on it in 3 to 5 days."
)


# --- SMS encoding and segments -------------------------------------------------


def test_the_gsm_basic_alphabet_has_its_127_printable_characters() -> None:
    assert len(GSM_BASIC) == 127


@pytest.mark.parametrize(
    "character", list("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà")
)
def test_gsm_letters_and_symbols_keep_gsm7(character: str) -> None:
    assert sms_encoding(f"Pedido {character} 48213") == "GSM-7"


@pytest.mark.parametrize("character", list("áíóúÁÍÓÚ«»•“”‘’çâ") + ["😀", "✅"])
def test_one_character_outside_gsm_makes_the_message_ucs2(character: str) -> None:
    assert sms_encoding(f"Pedido {character} 48213") == "UCS-2"


def test_spanish_with_only_e_and_n_accents_stays_gsm7() -> None:
    assert sms_encoding("¿El técnico viene mañana? ¡Sí, a las 9!") == "UCS-2"
    assert sms_encoding("¿El técnico viene mañana? ¡Si, a las 9!") == "GSM-7"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("á" * 70, 1),
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
    ],
)
def test_segment_sizes_are_160_153_septets_and_70_67_units(
    text: str, segments: int
) -> None:
    assert sms_segments(text) == segments


def test_extension_characters_count_as_two_septets() -> None:
    assert sms_encoding("{precio} [€]") == "GSM-7"
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 80 + "a") == 2


def test_an_escape_pair_is_never_split_between_segments() -> None:
    # 306 septets would fill two parts exactly, but the euro would straddle them.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3


def test_emoji_count_as_two_units_and_are_never_split() -> None:
    assert sms_segments("😀" * 35) == 1
    assert sms_segments("😀" * 36) == 2
    # 134 units would be two parts, but the emoji does not fit at unit 67.
    assert sms_segments("á" * 66 + "😀" + "á" * 66) == 3


# --- SMS body ------------------------------------------------------------------


def test_contact_check_fits_one_gsm7_sms_with_typed_answers() -> None:
    body = sms_text([Reply(CONTACT_ES, YES_NO_ES)], "es")

    assert body == (
        "Tengo estos datos de contacto: Lucia M., teléfono +34 6** *** 222 y "
        "codigo postal 46001. ¿Son correctos?\nResponda: Si / No"
    )
    assert sms_encoding(body) == "GSM-7"
    assert sms_segments(body) == 1
    assert sms_segments(CONTACT_ES) == 2


def test_english_buttons_become_a_reply_line() -> None:
    buttons = [
        {"title": "Yes", "payload": "/affirm"},
        {"title": "Change", "payload": "/change_contact"},
    ]
    body = sms_text([Reply("Is that right?", buttons)], "en")

    assert body == "Is that right?\nReply: Yes / Change"


def test_replies_are_separated_by_a_blank_line_and_quotes_become_ascii() -> None:
    body = sms_text([Reply(DONE_ES), Reply(SUMMARY_ES)], "es")

    assert body == (
        "Hecho: el caso WAR-2026-000001 esta con Servicio Técnico Levante, que "
        "cubre el codigo postal 46001. Le llamaran en 48 horas...\n\n"
        'Resumen: lavadora EcoWash 8 kg (WM 4821 7730). Averia: "hola, la '
        'lavadora no centrifuga".'
    )
    assert sms_encoding(body) == "GSM-7"


def test_emoji_are_dropped_without_leaving_gaps() -> None:
    body = sms_text(
        [Reply("¡Estupendo! 👍 Lo dejo registrado como resuelto ✅.")], "es"
    )

    assert body == "¡Estupendo! Lo dejo registrado como resuelto."


def test_letters_that_gsm7_has_keep_their_accent() -> None:
    body = sms_text([Reply("Año, pingüino, café, Ñandú, ÉL, à")], "es")

    assert body == "Año, pingüino, café, Ñandu, ÉL, à"


def test_decomposed_accents_are_folded_too() -> None:
    assert sms_text([Reply("garanti\u0301a")], "es") == "garantia"


def test_a_reply_made_only_of_buttons_still_asks() -> None:
    assert sms_text([Reply(" ", YES_NO_EN)], "en") == "Reply: Yes / No"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="'fr'"):
        sms_text([Reply("Bonjour")], "fr")  # type: ignore[arg-type]


# --- Splitting -----------------------------------------------------------------


def assert_pieces_of(original: str, parts: list[str]) -> None:
    """Each part is a stripped slice of the original, in order, with only
    whitespace between them."""
    position = 0
    for part in parts:
        assert part and part == part.strip()
        found = original.find(part, position)
        assert found >= 0, part
        assert not original[position:found].strip()
        position = found + len(part)
    assert not original[position:].strip()


def test_a_short_body_is_one_message() -> None:
    assert split_sms("  Gracias, hasta pronto.\n") == ["Gracias, hasta pronto."]


@pytest.mark.parametrize("blank", ["", " ", "\n\n \t"])
def test_a_blank_body_gives_no_message(blank: str) -> None:
    assert split_sms(blank) == []
    assert split_telegram(blank) == []


def test_cuts_fall_between_paragraphs_and_short_ones_share_a_message() -> None:
    paragraphs = [
        "Su lavadora EcoWash esta en garantia hasta el 14/03/2029, asi que la "
        "reparacion no tiene coste.",
        "Un tecnico de Servicio Técnico Levante le llamara en 48 horas para "
        "acordar la visita.",
        "Si vuelve a pasar, escribanos con el numero WAR-2026-000871.",
    ]
    body = "\n\n".join(paragraphs)

    assert split_sms(body, max_segments=1) == [
        paragraphs[0],
        f"{paragraphs[1]}\n\n{paragraphs[2]}",
    ]


def test_long_paragraphs_are_cut_after_a_sentence() -> None:
    sentence = "Le llamaremos en 48 horas para acordar la visita del tecnico. "
    parts = split_sms(sentence * 30, max_segments=2)

    assert len(parts) > 1
    assert all(part.endswith("tecnico.") for part in parts)
    assert all(sms_segments(part) <= 2 for part in parts)


def test_text_without_punctuation_is_cut_between_words() -> None:
    words = "hola la lavadora no centrifuga y hace un ruido muy raro".split()
    body = " ".join(words * 40)
    parts = split_sms(body, max_segments=1)

    assert all(len(part) <= 160 for part in parts)
    assert [word for part in parts for word in part.split()] == words * 40


def test_each_part_is_measured_in_its_own_encoding() -> None:
    plain = "Su pedido ha salido del almacen y llegara el jueves. " * 10
    body = plain + "\n\nGracias por su paciencia 🙏"
    parts = split_sms(body, max_segments=4)

    assert len(parts) == 2
    assert sms_encoding(parts[0]) == "GSM-7"
    assert sms_encoding(parts[1]) == "UCS-2"


@pytest.mark.parametrize(
    "word", ["a" * 1000, "€" * 700, "ú" * 500, "😀" * 300, "👨\u200d👩\u200d👧" * 120]
)
def test_a_word_longer_than_a_message_is_hard_cut_safely(word: str) -> None:
    parts = split_sms(f"Codigo: {word} fin", max_segments=2)

    assert_pieces_of(f"Codigo: {word} fin", parts)
    assert all(sms_segments(part) <= 2 for part in parts)
    for part in parts:
        assert part[0] != "\u200d" and part[-1] != "\u200d"


def test_a_flag_is_not_cut_between_its_two_letters() -> None:
    parts = split_telegram("🇪🇸" * 30, limit=10)

    assert all(len(part) % 2 == 0 for part in parts)
    assert "".join(parts) == "🇪🇸" * 30


def test_a_combining_accent_stays_with_its_letter() -> None:
    word = "e\u0301" * 100
    parts = split_telegram(word, limit=15)

    assert all(not part.startswith("\u0301") for part in parts)
    assert "".join(parts) == word


def test_a_ten_thousand_character_body_splits_fast_and_correctly() -> None:
    rng = random.Random(10_000)
    body = random_body(rng, 10_000)

    started = time.perf_counter()
    parts = split_sms(body)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert_pieces_of(body, parts)
    assert all(sms_segments(part) <= 4 for part in parts)


WORD_POOL = (
    "hola lavadora garantía técnico mañana pedido 48213 WAR-2026-000001 "
    "boiler warranty the and llamaremos «centrifuga» ¿Son correctos? ¡Gracias! "
    "{precio} €120 [ok] 😀 👍🏽 🇪🇸 pingüino ÁREA Δ ß "
).split()


def random_body(rng: random.Random, length: int) -> str:
    pieces: list[str] = []
    size = 0
    while size < length:
        roll = rng.random()
        if roll < 0.02:
            piece = rng.choice("aú€😀") * rng.randint(50, 400)
        else:
            piece = rng.choice(WORD_POOL)
        separator = rng.choice([" "] * 12 + [". ", "\n", "\n\n", "  "])
        pieces.append(piece + separator)
        size += len(piece) + len(separator)
    return "".join(pieces)


@pytest.mark.parametrize("seed", range(40))
def test_split_sms_properties_on_random_bodies(seed: int) -> None:
    rng = random.Random(seed)
    body = random_body(rng, rng.randint(1, 3000))
    max_segments = rng.randint(1, 5)

    parts = split_sms(body, max_segments=max_segments)

    assert_pieces_of(body, parts)
    assert all(1 <= sms_segments(part) <= max_segments for part in parts)


@pytest.mark.parametrize("seed", range(40))
def test_split_telegram_properties_on_random_bodies(seed: int) -> None:
    rng = random.Random(seed)
    body = random_body(rng, rng.randint(1, 3000))
    limit = rng.choice([2, 3, 17, 100, 500, 4096])

    parts = split_telegram(body, limit=limit)

    assert_pieces_of(body, parts)
    assert all(utf16_length(part) <= limit for part in parts)


def test_split_sms_refuses_zero_segments() -> None:
    with pytest.raises(ValueError, match="max_segments"):
        split_sms("hola", max_segments=0)


# --- Telegram --------------------------------------------------------------------


def test_telegram_counts_emoji_as_two_units() -> None:
    assert split_telegram("😀" * 2048) == ["😀" * 2048]
    assert [len(part) for part in split_telegram("😀" * 2049)] == [2048, 1]


def test_telegram_cuts_a_long_answer_at_paragraphs() -> None:
    first = "Pedido 48213 de Electro Ruiz: entregado ayer por TransNorte. " * 40
    second = "Veo una diferencia: pidió 10 lavavajillas DW-45 y el albarán indica 8."
    body = f"{first.strip()}\n\n{second}"

    assert split_telegram(body, limit=2500) == [first.strip(), second]


# --- Voice -----------------------------------------------------------------------


def test_contact_check_is_read_with_a_masked_phone_and_spoken_options() -> None:
    spoken = voice_text([Reply(CONTACT_ES, YES_NO_ES)], "es")

    assert spoken == (
        "Tengo estos datos de contacto: Lucía M., teléfono que termina en 2 2 2 y "
        "código postal 4 6 0 0 1. ¿Son correctos? "
        "Diga sí o no, o marque 1 para sí y 2 para no."
    )


def test_english_options_and_phone_mask() -> None:
    text = "Is the best number +34 6•• ••• 222?"
    spoken = voice_text([Reply(text, YES_NO_EN)], "en")

    assert spoken == (
        "Is the best number ending in 2 2 2? "
        "Say yes or no, or press 1 for yes, 2 for no."
    )


def test_ticket_serial_and_postcode_are_spelled_short_numbers_are_not() -> None:
    spoken = voice_text([Reply(DONE_ES), Reply(SUMMARY_ES)], "es")

    assert "caso W A R, 2 0 2 6, 0 0 0 0 0 1 está" in spoken
    assert "código postal 4 6 0 0 1." in spoken
    assert "(W M, 4 8 2 1, 7 7 3 0)" in spoken
    assert "en 48 horas" in spoken
    assert "EcoWash 8 kg" in spoken
    assert "Avería: hola, la lavadora no centrifuga." in spoken
    assert not re.search("[«»•]", spoken)


def test_english_durations_stay_as_words() -> None:
    spoken = voice_text([Reply(DONE_EN)], "en")

    assert spoken == (
        "Done: case W A R, 2 0 2 6, 0 0 0 8 7 2 is with Servicio Técnico Levante, "
        "who cover 4 6 0 0 1. They will call you within 48 hours, and we will "
        "check on it in 3 to 5 days."
    )


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("BX-2024-55812", "B X, 2 0 2 4, 5 5 8 1 2."),
        (
            "E04 usually means low water pressure.",
            "E 0 4 usually means low water pressure.",
        ),
        ("Pedido 48213 de Electro Ruiz", "Pedido 4 8 2 1 3 de Electro Ruiz."),
        ("10 lavavajillas DW-45", "10 lavavajillas D W, 4 5."),
        ("Llámenos al +34 612 345 678", "Llámenos al 3 4, 6 1 2, 3 4 5, 6 7 8."),
        (
            "de 9:00 a 19:00, 1,5 bar y 3 a 5 días",
            "de 9:00 a 19:00, 1,5 bar y 3 a 5 días.",
        ),
        ("Cuesta 1.500 euros", "Cuesta 1.500 euros."),
        ("*Pedido* **48213**", "Pedido 4 8 2 1 3."),
        ("su móvil 6•• ••• 222", "su móvil que termina en 2 2 2."),
    ],
)
def test_numbers_for_the_ear(text: str, spoken: str) -> None:
    assert voice_text([Reply(text)], "es") == spoken


def test_dates_are_said_in_words() -> None:
    es = "Comprada el 14/03/2026: está en garantía hasta el 14/03/2029."
    en = "Bought 02/09/2024: under warranty until 02/09/2027."

    assert voice_text([Reply(es)], "es") == (
        "Comprada el 14 de marzo de 2026: está en garantía hasta el "
        "14 de marzo de 2029."
    )
    assert voice_text([Reply(en)], "en") == (
        "Bought 2 September 2024: under warranty until 2 September 2027."
    )


def test_emoji_bullets_and_markup_are_not_read() -> None:
    text = "¡Estupendo! 👍\n*Resumen*:\n• Lavadora\n- Horno 🔥\nNada más #gracias"
    spoken = voice_text([Reply(text)], "es")

    assert spoken == "¡Estupendo! Resumen: Lavadora. Horno. Nada más gracias."


def test_an_english_apostrophe_survives() -> None:
    assert voice_text([Reply("Don’t worry 🙂")], "en") == "Don't worry."


def test_only_the_last_replys_buttons_are_offered() -> None:
    replies = [
        Reply("Gracias.", YES_NO_ES),
        Reply(
            "¿Qué aparato es?",
            [
                {"title": "Lavadora", "payload": "/washer"},
                {"title": "Horno", "payload": "/oven"},
                {"title": "Otro", "payload": "/other"},
            ],
        ),
    ]

    assert voice_text(replies, "es") == (
        "Gracias. ¿Qué aparato es? Diga lavadora, horno u otro, o marque "
        "1 para lavadora, 2 para horno y 3 para otro."
    )


def test_acronym_titles_keep_their_case() -> None:
    buttons = [
        {"title": "SMS", "payload": "/sms"},
        {"title": "Call me", "payload": "/call"},
    ]

    assert voice_text([Reply("How should we reach you?", buttons)], "en") == (
        "How should we reach you? Say SMS or call me, or press 1 for SMS, "
        "2 for call me."
    )


# --- Keypad ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "payload"),
    [("1", "/affirm"), ("2", "/deny"), (" 1 ", "/affirm"), ("3", None), ("0", None)],
)
def test_a_key_picks_the_button_in_order(digits: str, payload: str | None) -> None:
    assert dtmf_choice(digits, YES_NO_ES) == payload


@pytest.mark.parametrize("digits", ["", "12", "#", "*", "١"])
def test_anything_but_one_key_is_no_choice(digits: str) -> None:
    assert dtmf_choice(digits, YES_NO_ES) is None


def test_a_key_without_buttons_is_no_choice() -> None:
    assert dtmf_choice("1", []) is None


# --- Language --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        CONTACT_ES,
        DONE_ES,
        SUMMARY_ES,
        "hola, el tecnico le llamara manana para la visita",
        "Pedido 48213 de Electro Ruiz: entregado ayer por TransNorte.",
        "Gracias",
        "WAR-2026-000871",
    ],
)
def test_spanish_replies_are_recognised(text: str) -> None:
    assert guess_language(text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        DONE_EN,
        "Is the best number +34 6•• ••• 222?",
        "I have Lucía M. as your name. Is that right?",
        "Thanks. HeatPro 24 boiler, bought 02/09/2024: under warranty until "
        "02/09/2027.",
        "Sorry about that 😕 What is the serial number?",
    ],
)
def test_english_replies_are_recognised(text: str) -> None:
    assert guess_language(text) == "en"
