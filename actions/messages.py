"""The action server's messages, in the language of the conversation."""

import functools
import string
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

# One YAML file per area (warranty.yml, orders.yml…); a key lives in one file.
CATALOGUE = Path(__file__).resolve().parent / "catalogue"
LANGUAGES = ("es", "en")


class MissingMessageError(KeyError):
    """A message key or one of its values is missing from the catalogue."""


@functools.cache
def catalogue() -> dict[str, dict[str, dict[str, Any]]]:
    """Loads the catalogue once; every message must exist in both languages."""
    messages = load_files(CATALOGUE)
    for key, variants in messages.items():
        missing = [language for language in LANGUAGES if language not in variants]
        if missing:
            raise MissingMessageError(f"message {key!r} has no text in {missing}")
    return messages


def load_files(folder: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Every message of the folder's YAML files; a key found twice is an error."""
    messages: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.yml")):
        for key, variants in (yaml.safe_load(path.read_text("utf-8")) or {}).items():
            if key in messages:
                raise MissingMessageError(f"message {key!r} again in {path.name}")
            messages[key] = variants
    return messages


def placeholders(key: str) -> set[str]:
    """The {names} a message needs, in any language."""
    names = set()
    for variant in catalogue()[key].values():
        names.update(
            field
            for _, field, _, _ in string.Formatter().parse(variant["text"])
            if field
        )
    return names


def render(key: str, language: str, **values: Any) -> dict[str, Any]:
    """Returns the text and buttons of a message, with its values filled in."""
    variants = catalogue().get(key)
    if variants is None:
        raise MissingMessageError(f"no message {key!r} in {CATALOGUE.name}/")
    variant = variants.get(language) or variants["es"]
    try:
        text = variant["text"].format(**values)
    except KeyError as error:
        raise MissingMessageError(
            f"message {key!r} needs a value for {error}"
        ) from error
    return {"text": text, "buttons": list(variant.get("buttons", []))}


def say(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    key: str,
    buttons: list[dict[str, str]] | None = None,
    **values: Any,
) -> None:
    """Sends a catalogue message in the conversation's language."""
    message = render(key, tracker.get_slot("language") or "es", **values)
    dispatcher.utter_message(
        text=message["text"],
        buttons=buttons if buttons is not None else message["buttons"],
    )
