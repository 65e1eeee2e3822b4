"""The held-out NLU set stays held out, and both sets cover every intent."""

import unicodedata
from pathlib import Path

import pytest
import yaml

from scripts.nlu_eval import load_examples

ROOT = Path(__file__).resolve().parents[2]
TRAINING = sorted((ROOT / "data" / "nlu").glob("*.yml"))
HELD_OUT = sorted((ROOT / "tests" / "nlu").glob("*.yml"))


def normalise(text: str) -> str:
    """Lower case, without accents, punctuation or repeated spaces (emoji stay)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(
        " " if unicodedata.category(char).startswith("P") else char
        for char in text
        if not unicodedata.combining(char)
    )
    return " ".join(text.split())


def domain_intents() -> set[str]:
    core = yaml.safe_load((ROOT / "bot" / "domain" / "core.yml").read_text())
    return set(core["intents"])


def training_sentences() -> dict[str, str]:
    sentences = {}
    for path in TRAINING:
        if (yaml.safe_load(path.read_text()) or {}).get("nlu") is None:
            continue
        for example in _intent_examples(path):
            sentences[normalise(example.text)] = f"{path.name}: {example.text}"
    return sentences


def _intent_examples(path: Path):
    document = yaml.safe_load(path.read_text())
    if not any("intent" in item for item in document["nlu"]):
        return []
    return load_examples(path)


def test_normalise_ignores_case_accents_and_punctuation():
    assert normalise("¿Sí, DÉJALO!!") == normalise("si dejalo")
    assert normalise("order #4512.") == "order 4512"


def test_no_held_out_sentence_is_in_the_training_data():
    trained = training_sentences()
    overlap = [
        f"{path.name}: {example.text!r} = {trained[normalise(example.text)]}"
        for path in HELD_OUT
        for example in load_examples(path)
        if normalise(example.text) in trained
    ]
    assert overlap == []


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_intent_is_trained_and_tested_in_both_languages(language: str):
    intents = domain_intents()
    trained = {
        e.intent for e in _intent_examples(ROOT / "data/nlu" / f"{language}.yml")
    }
    tested = load_examples(ROOT / "tests" / "nlu" / f"{language}.yml")

    assert trained == intents
    assert {example.intent for example in tested} == intents
    per_intent = {i: sum(e.intent == i for e in tested) for i in intents}
    assert min(per_intent.values()) >= 8, per_intent
    assert per_intent["out_of_scope"] >= 40
