"""The bilingual message catalogue and every message the actions send."""

import ast
import string
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.claim import CONTACT_SLOTS
from actions.claim_questions import ActionAskCustomerName, _AskContactField
from actions.messages import (
    CATALOGUE,
    LANGUAGES,
    MissingMessageError,
    catalogue,
    load_files,
    placeholders,
    render,
    say,
)
from tests.actions.factories import make_tracker

ACTIONS_DIR = Path(actions.__file__).resolve().parent
RAW_CATALOGUE = load_files(CATALOGUE)

# The statuses of the CRM's warranty decision (crm_bridge.models.WarrantyStatus).
WARRANTY_STATUSES = ("valid", "expired", "unknown")

# Keys built at run time, by the source text of their f-string.
F_STRING_KEYS = {
    "f'warranty_{status}'": {f"warranty_{status}" for status in WARRANTY_STATUSES},
    "f'ask_{self.slot}'": {
        f"ask_{action.slot}" for action in _AskContactField.__subclasses__()
    },
    "f'invalid_{slot}'": {f"invalid_{slot}" for slot in CONTACT_SLOTS},
    "f'ask_{self.slot}_for_customer'": {
        f"ask_{action.slot}_for_customer"
        for action in _AskContactField.__subclasses__()
    },
}


def fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def say_calls() -> list[tuple[str, ast.Call, ast.FunctionDef | None]]:
    """Every say(...) call in actions/*.py, with the function around it."""
    calls = []
    for path in sorted(ACTIONS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "say"
                ):
                    calls.append((f"{path.name}:{node.lineno}", node, function))
    return calls


def keys_of(expression: ast.expr, function: ast.AST) -> set[str]:
    """The catalogue keys a say() key argument can take.

    Literals are read as they are; `a if c else b` gives both; an f-string
    gives the keys listed for it in F_STRING_KEYS; a variable gives every
    literal it is assigned in the same function.
    """
    if isinstance(expression, ast.Constant):
        return {expression.value}
    if isinstance(expression, ast.IfExp):
        return keys_of(expression.body, function) | keys_of(expression.orelse, function)
    if isinstance(expression, ast.JoinedStr):
        source = ast.unparse(expression)
        assert source in F_STRING_KEYS, f"list the keys {source} can take"
        return F_STRING_KEYS[source]
    if isinstance(expression, ast.Name):
        keys: set[str] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == expression.id
                for target in node.targets
            ):
                keys |= keys_of(node.value, function)
        return keys
    raise AssertionError(f"cannot read the message key {ast.dump(expression)}")


SAY_CALLS = say_calls()


@pytest.mark.parametrize("key", sorted(RAW_CATALOGUE))
def test_every_message_has_a_spanish_and_an_english_text(key: str) -> None:
    for language in LANGUAGES:
        assert RAW_CATALOGUE[key].get(language, {}).get("text"), (key, language)


@pytest.mark.parametrize("key", sorted(RAW_CATALOGUE))
def test_both_languages_of_a_message_need_the_same_values(key: str) -> None:
    spanish, english = (fields(RAW_CATALOGUE[key][lang]["text"]) for lang in LANGUAGES)

    assert spanish == english, key


@pytest.mark.parametrize("key", sorted(RAW_CATALOGUE))
def test_both_languages_offer_the_same_buttons(key: str) -> None:
    payloads = [
        [button["payload"] for button in RAW_CATALOGUE[key][lang].get("buttons", [])]
        for lang in LANGUAGES
    ]

    assert payloads[0] == payloads[1], key


def test_the_catalogue_loads_with_every_message_of_the_file() -> None:
    assert set(catalogue()) == set(RAW_CATALOGUE)


def test_placeholders_lists_the_values_a_message_needs() -> None:
    assert placeholders("ticket_assigned") == {"ticket_number", "centre", "postal_code"}
    assert placeholders("crm_unavailable") == set()


def test_the_source_is_read_completely() -> None:
    # Guards the two tests below against a parser that silently finds nothing.
    assert len(SAY_CALLS) >= 25


@pytest.mark.parametrize(
    ("where", "call", "function"), SAY_CALLS, ids=[where for where, _, _ in SAY_CALLS]
)
def test_every_message_the_actions_send_is_in_the_catalogue(
    where: str, call: ast.Call, function: ast.AST
) -> None:
    keys = keys_of(call.args[2], function)

    assert keys, f"{where}: no catalogue key matches"
    assert keys <= set(RAW_CATALOGUE), f"{where}: {keys - set(RAW_CATALOGUE)}"


@pytest.mark.parametrize(
    ("where", "call", "function"), SAY_CALLS, ids=[where for where, _, _ in SAY_CALLS]
)
def test_every_message_the_actions_send_gets_all_its_values(
    where: str, call: ast.Call, function: ast.AST
) -> None:
    given = {keyword.arg for keyword in call.keywords}

    for key in keys_of(call.args[2], function):
        assert placeholders(key) <= given, f"{where}: {key} lacks a value"


def test_runtime_keys_cover_every_status_and_contact_question() -> None:
    assert F_STRING_KEYS["f'warranty_{status}'"] <= set(RAW_CATALOGUE)
    assert "ask_customer_name" in F_STRING_KEYS["f'ask_{self.slot}'"]
    assert ActionAskCustomerName().name() == "action_ask_customer_name"


def test_render_fills_in_the_values_in_the_language_asked() -> None:
    spanish = render("serial_unknown", "es", serial="XX-1")
    english = render("serial_unknown", "en", serial="XX-1")

    assert spanish["text"] == "No encuentro el número XX-1 en nuestro registro."
    assert english["text"] == "I can't find XX-1 in our records."


def test_render_gives_the_buttons_of_the_language() -> None:
    message = render("check_advice", "en", advice="Clean the filter.")
    assert [button["title"] for button in message["buttons"]] == [
        "Yes, it works now",
        "No, still the same",
    ]
    assert message["text"] == "Clean the filter. Has that fixed it?"


def test_render_falls_back_to_spanish_for_another_language() -> None:
    assert render("ask_phone_number", "fr") == render("ask_phone_number", "es")


def test_render_names_a_missing_value() -> None:
    with pytest.raises(MissingMessageError, match="serial_unknown.*serial"):
        render("serial_unknown", "es")


def test_render_names_an_unknown_message() -> None:
    with pytest.raises(MissingMessageError, match="no_such_message"):
        render("no_such_message", "es")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "¿En qué teléfono le puede llamar el técnico?"),
        ("en", "Which phone number can the technician call you on?"),
        (None, "¿En qué teléfono le puede llamar el técnico?"),
    ],
)
def test_say_answers_in_the_language_of_the_conversation(
    language: str | None, expected: str
) -> None:
    dispatcher = CollectingDispatcher()

    say(dispatcher, make_tracker(language=language), "ask_phone_number")

    assert [message["text"] for message in dispatcher.messages] == [expected]


def test_say_uses_the_buttons_it_is_given_instead_of_the_catalogue_ones() -> None:
    dispatcher = CollectingDispatcher()
    buttons = [{"title": "Lavadora", "payload": "Lavadora"}]

    say(dispatcher, make_tracker(), "ask_product_category", buttons=buttons)

    assert dispatcher.messages[0]["buttons"] == buttons


@pytest.mark.parametrize("key", sorted(RAW_CATALOGUE))
def test_button_titles_are_text(key: str) -> None:
    """An unquoted No in YAML is the boolean False, shown as "False"."""
    for language in LANGUAGES:
        for button in RAW_CATALOGUE[key][language].get("buttons", []):
            assert isinstance(button["title"], str), (key, language, button)
