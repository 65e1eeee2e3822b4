"""detect_language on the short, informal messages people actually send."""

import pytest

from actions.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "Hola, mi lavadora no centrifuga",
        "hola mi lavadora no centrifuga",
        "HOLA, LA LAVADORA PIERDE AGUA",
        "la caldera no calienta",
        "el frigo no enfria",
        "mi labadora hace un ruido raro",
        "¿cuánto dura la garantía?",
        "cuanto dura la garantia",
        "quiero hablar con una persona",
        "dejalo",
        "no funciona",
        "Sí",
        "si",
        "vale",
        "gracias",
        "me llamo Juan",
        "Lavadora",
    ],
)
def test_spanish_messages_with_or_without_accents_are_spanish(text: str) -> None:
    assert detect_language(text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        "Hi, my washing machine won't spin",
        "my dishwasher is leaking water",
        "The boiler doesn't heat",
        "the boiler doesnt heat",
        "how long is the warranty?",
        "HOW LONG IS THE WARRANTY",
        "I want to talk to a person",
        "can i talk to a human",
        "my washng machine is brokn",
        "it’s broken",
        "yes",
        "thanks",
        "Fridge",
    ],
)
def test_english_messages_with_typos_and_any_case_are_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ok",
        "OK",
        "no",
        "WM 4821 7730",
        "wm-4821-7730",
        "612 345 222",
        "46001",
        "👍",
        "🙂🙂",
        "/affirm",
        '/inform{"serial_number": "WM 4821 7730"}',
        "/request_human",
        "Sarah Thompson",
    ],
)
def test_messages_with_no_sign_of_a_language_give_none(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["¿y ahora?", "¡vaya!", "España"])
def test_spanish_punctuation_or_enye_decides_alone(text: str) -> None:
    assert detect_language(text) == "es"


def test_the_language_with_more_signs_wins_in_a_mixed_message() -> None:
    assert detect_language("Hola, my washing machine is broken") == "en"
    assert detect_language("hello, mi lavadora no funciona") == "es"


def test_a_tie_gives_none_rather_than_a_guess() -> None:
    assert detect_language("hola thanks") is None
