"""Measures how well the assistant understands messages it was never trained on.

`make nlu-eval` trains an NLU-only model on data/ into a temporary folder (never
touching models/), parses the held-out set in tests/nlu/ and prints, per language,
intent accuracy and macro-F1, the Spanish-English gap, entity precision, recall and
F1, out-of-scope recall and the worst confusions; a JSON report is written too. On
tests/nlu it exits with status 1 when a target is missed:

- intent macro-F1 >= 0.95 in Spanish and in English;
- Spanish macro-F1 at most 3 points below English;
- out-of-scope recall >= 0.90 (an out_of_scope message answered as out_of_scope or
  as nlu_fallback).

Conventions: a prediction of nlu_fallback counts as out_of_scope (the person gets a
"cannot help with that" answer either way), so an in-scope message that falls back
is a miss. Macro-F1 averages the F1 of the intents present in the test examples.
An entity is found only when its type, start and end match the annotation.
Language: tests/nlu/es.yml and en.yml by file name (also `*_es.yml`, `*_en.yml`);
examples of any other file by actions.language.detect_language, and those it cannot
tell are reported as "unknown".

Usage (Rasa environment):
    python scripts/nlu_eval.py                       # tests/nlu, targets checked
    python scripts/nlu_eval.py --file other.yml      # any Rasa NLU YAML file
    python scripts/nlu_eval.py --model models/x.tar.gz  # skip training
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from actions.language import detect_language  # noqa: E402

HELD_OUT = ROOT / "tests" / "nlu"
DEFAULT_REPORT = ROOT / "var" / "nlu_eval_report.json"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
LANGUAGES = ("es", "en")

MIN_MACRO_F1 = 0.95
MAX_GAP_POINTS = 3.0
MIN_OOS_RECALL = 0.90

# [text](entity) or [text]{"entity": "name", ...}
_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|(?P<json>\{[^}]*\}))"
)


@dataclass(frozen=True)
class Entity:
    """One entity occurrence: its type and character span in the text."""

    entity: str
    start: int
    end: int
    value: str = ""


@dataclass
class Example:
    """One test message with its expected intent and entities."""

    text: str
    intent: str
    entities: list[Entity] = field(default_factory=list)
    language: str = "unknown"


@dataclass
class Prediction:
    """What the model made of one message."""

    intent: str
    confidence: float = 0.0
    entities: list[Entity] = field(default_factory=list)


def parse_annotated(annotated: str) -> tuple[str, list[Entity]]:
    """Splits a training-data sentence into plain text and entity spans.

    Args:
        annotated: a sentence in Rasa's format, e.g. "pedido [4512](order_number)".

    Returns:
        The plain text and its entities, with offsets into the plain text.
    """
    text_parts: list[str] = []
    entities: list[Entity] = []
    position = 0
    length = 0
    for match in _ANNOTATION.finditer(annotated):
        before = annotated[position : match.start()]
        text_parts.append(before)
        length += len(before)
        value = match.group("text")
        name = match.group("name")
        if name is None:
            name = json.loads(match.group("json"))["entity"]
        name = name.split(":", 1)[0]
        entities.append(Entity(name, length, length + len(value), value))
        text_parts.append(value)
        length += len(value)
        position = match.end()
    text_parts.append(annotated[position:])
    return "".join(text_parts), entities


def language_of_file(path: Path) -> str | None:
    """The language a test file is written in, from its name, or None."""
    stem = path.stem.lower()
    for language in LANGUAGES:
        if stem == language or stem.endswith(f"_{language}"):
            return language
    return None


def load_examples(path: Path) -> list[Example]:
    """Reads the intent examples of a Rasa NLU YAML file.

    Raises:
        ValueError: the file has no `nlu:` list of intent examples.
    """
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = document.get("nlu")
    if not isinstance(items, list):
        raise ValueError(f"{path}: no 'nlu:' list, not a Rasa NLU YAML file")
    file_language = language_of_file(path)
    examples: list[Example] = []
    for item in items:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        for line in str(item.get("examples", "")).splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text, entities = parse_annotated(line[2:].strip())
            language = file_language or detect_language(text) or "unknown"
            examples.append(Example(text, item["intent"], entities, language))
    if not examples:
        raise ValueError(f"{path}: no intent examples")
    return examples


def effective_intent(intent: str) -> str:
    """A fallback answers like out_of_scope, so it is scored as one."""
    return OUT_OF_SCOPE if intent == FALLBACK else intent


def _f1(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def intent_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and per-intent precision/recall/F1.

    Args:
        gold: the expected intent of each example.
        predicted: the predicted intent of each example (nlu_fallback allowed).

    Returns:
        {"examples", "accuracy", "macro_f1", "per_intent": {intent: {...}}}; the
        macro average is over the intents present in `gold`.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    predicted = [effective_intent(intent) for intent in predicted]
    per_intent = {}
    for intent in sorted(set(gold)):
        true_positive = sum(
            g == intent and p == intent for g, p in zip(gold, predicted, strict=True)
        )
        support = sum(g == intent for g in gold)
        predicted_count = sum(p == intent for p in predicted)
        precision = _ratio(true_positive, predicted_count)
        recall = _ratio(true_positive, support)
        per_intent[intent] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": support,
        }
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    macro = sum(m["f1"] for m in per_intent.values()) / len(per_intent) if gold else 0
    return {
        "examples": len(gold),
        "accuracy": _ratio(correct, len(gold)),
        "macro_f1": macro,
        "per_intent": per_intent,
    }


def entity_metrics(
    gold: Sequence[Iterable[Entity]], predicted: Sequence[Iterable[Entity]]
) -> dict:
    """Precision, recall and F1 of entities per type and overall (micro).

    An entity counts as found when type, start and end all match.
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    for gold_entities, predicted_entities in zip(gold, predicted, strict=True):
        expected = {(e.entity, e.start, e.end) for e in gold_entities}
        found = {(e.entity, e.start, e.end) for e in predicted_entities}
        for name, *_ in expected & found:
            counts[name]["tp"] += 1
        for name, *_ in found - expected:
            counts[name]["fp"] += 1
        for name, *_ in expected - found:
            counts[name]["fn"] += 1

    def scores(count: Counter) -> dict:
        precision = _ratio(count["tp"], count["tp"] + count["fp"])
        recall = _ratio(count["tp"], count["tp"] + count["fn"])
        return {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": count["tp"] + count["fn"],
        }

    total = sum(counts.values(), Counter())
    return {
        "per_entity": {name: scores(counts[name]) for name in sorted(counts)},
        "overall": scores(total),
    }


def out_of_scope_recall(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    """Share of out_of_scope examples answered as out_of_scope or nlu_fallback."""
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if g == OUT_OF_SCOPE]
    if not pairs:
        return None
    return sum(effective_intent(p) == OUT_OF_SCOPE for _, p in pairs) / len(pairs)


def worst_confusions(
    examples: Sequence[Example], predictions: Sequence[Prediction], limit: int = 10
) -> list[dict]:
    """The most frequent (expected, predicted) intent mistakes, with samples."""
    mistakes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for example, prediction in zip(examples, predictions, strict=True):
        predicted = effective_intent(prediction.intent)
        if predicted != example.intent:
            mistakes[(example.intent, predicted)].append(example.text)
    ranked = sorted(mistakes.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {"expected": g, "predicted": p, "count": len(texts), "examples": texts[:3]}
        for (g, p), texts in ranked[:limit]
    ]


def build_report(
    examples: Sequence[Example], predictions: Sequence[Prediction]
) -> dict:
    """Every number the evaluation prints, per language and overall."""
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_language[example.language].append(index)

    languages = {}
    for language in sorted(by_language):
        indexes = by_language[language]
        gold = [examples[i].intent for i in indexes]
        predicted = [predictions[i].intent for i in indexes]
        languages[language] = {
            **intent_metrics(gold, predicted),
            "out_of_scope_recall": out_of_scope_recall(gold, predicted),
            "entities": entity_metrics(
                [examples[i].entities for i in indexes],
                [predictions[i].entities for i in indexes],
            ),
        }

    gold = [example.intent for example in examples]
    predicted = [prediction.intent for prediction in predictions]
    gap = None
    if "es" in languages and "en" in languages:
        gap = 100 * (languages["en"]["macro_f1"] - languages["es"]["macro_f1"])
    return {
        "examples": len(examples),
        "languages": languages,
        "overall": intent_metrics(gold, predicted),
        "gap_points_en_minus_es": gap,
        "out_of_scope_recall": out_of_scope_recall(gold, predicted),
        "entities": entity_metrics(
            [example.entities for example in examples],
            [prediction.entities for prediction in predictions],
        ),
        "confusions": worst_confusions(examples, predictions),
        "errors": [
            {
                "text": example.text,
                "language": example.language,
                "expected": example.intent,
                "predicted": prediction.intent,
                "confidence": round(prediction.confidence, 3),
            }
            for example, prediction in zip(examples, predictions, strict=True)
            if effective_intent(prediction.intent) != example.intent
        ],
    }


def missed_targets(report: dict) -> list[str]:
    """The targets of the held-out evaluation that the report misses."""
    missed = []
    for language in LANGUAGES:
        metrics = report["languages"].get(language)
        if metrics is None:
            missed.append(f"no {language} examples")
        elif metrics["macro_f1"] < MIN_MACRO_F1:
            missed.append(
                f"{language} macro-F1 {metrics['macro_f1']:.3f} < {MIN_MACRO_F1}"
            )
    gap = report["gap_points_en_minus_es"]
    if gap is not None and gap > MAX_GAP_POINTS:
        missed.append(f"Spanish is {gap:.1f} points below English (> {MAX_GAP_POINTS})")
    recall = report["out_of_scope_recall"]
    if recall is None:
        missed.append("no out_of_scope examples")
    elif recall < MIN_OOS_RECALL:
        missed.append(f"out-of-scope recall {recall:.3f} < {MIN_OOS_RECALL}")
    return missed


def format_report(report: dict) -> str:
    """The report as a few readable lines."""
    lines = [f"{report['examples']} examples"]
    lines.append(
        f"{'language':<9}{'n':>5}{'accuracy':>10}{'macro-F1':>10}{'OOS rec.':>10}"
    )
    for language, metrics in report["languages"].items():
        oos = metrics["out_of_scope_recall"]
        lines.append(
            f"{language:<9}{metrics['examples']:>5}{metrics['accuracy']:>10.3f}"
            f"{metrics['macro_f1']:>10.3f}{'-' if oos is None else f'{oos:.3f}':>10}"
        )
    overall = report["overall"]
    oos = report["out_of_scope_recall"]
    lines.append(
        f"{'all':<9}{overall['examples']:>5}{overall['accuracy']:>10.3f}"
        f"{overall['macro_f1']:>10.3f}{'-' if oos is None else f'{oos:.3f}':>10}"
    )
    if report["gap_points_en_minus_es"] is not None:
        lines.append(
            f"Spanish-English gap: {report['gap_points_en_minus_es']:+.1f} points "
            "(English minus Spanish macro-F1)"
        )
    lines.append("")
    lines.append(f"{'entity':<16}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}")
    entities = report["entities"]
    for name, scores in [
        *entities["per_entity"].items(),
        ("overall", entities["overall"]),
    ]:
        lines.append(
            f"{name:<16}{scores['precision']:>7.3f}{scores['recall']:>7.3f}"
            f"{scores['f1']:>7.3f}{scores['support']:>5}"
        )
    lines.append("")
    lines.append("worst confusions (expected -> predicted):")
    for confusion in report["confusions"] or [{"expected": "none", "predicted": "-"}]:
        count = confusion.get("count", 0)
        pair = f"{confusion['expected']} -> {confusion['predicted']}"
        samples = "; ".join(confusion.get("examples", []))
        lines.append(f"  {count:>3}  {pair}  {samples}")
    return "\n".join(lines)


def _quiet_rasa() -> None:
    """Rasa's and TensorFlow's notices would bury the report; warnings stay."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def train_model(output: Path) -> Path:
    """Trains an NLU-only model on data/ with config.yml into `output`."""
    _quiet_rasa()
    from rasa.model_training import train_nlu

    model = train_nlu(
        config=str(ROOT / "config.yml"),
        nlu_data=str(ROOT / "data"),
        output=str(output),
        fixed_model_name="nlu-eval",
        domain=str(ROOT / "bot" / "domain"),
    )
    if model is None:
        raise RuntimeError("NLU training produced no model")
    return Path(model)


def predict(model: Path, examples: Sequence[Example]) -> list[Prediction]:
    """Parses every example with the trained model."""
    import asyncio

    _quiet_rasa()
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def parse_all() -> list[Prediction]:
        predictions = []
        for example in examples:
            parsed = await agent.parse_message(example.text)
            intent = parsed.get("intent") or {}
            predictions.append(
                Prediction(
                    intent=intent.get("name") or FALLBACK,
                    confidence=float(intent.get("confidence") or 0.0),
                    entities=[
                        Entity(e["entity"], e["start"], e["end"], str(e.get("value")))
                        for e in parsed.get("entities", [])
                    ],
                )
            )
        return predictions

    return asyncio.run(parse_all())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--file", type=Path, help="a Rasa NLU YAML test file (default: tests/nlu)"
    )
    parser.add_argument(
        "--model", type=Path, help="evaluate this trained model instead of training"
    )
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT)
    args = parser.parse_args(argv)

    files = [args.file] if args.file else sorted(HELD_OUT.glob("*.yml"))
    examples = [example for path in files for example in load_examples(path)]

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as folder:
        model = args.model or train_model(Path(folder))
        training_seconds = None if args.model else time.monotonic() - started
        predictions = predict(model, examples)

    report = build_report(examples, predictions)
    report["files"] = [str(path) for path in files]
    report["model"] = str(args.model) if args.model else "trained on data/"
    report["training_seconds"] = training_seconds
    held_out = args.file is None
    report["targets_checked"] = held_out
    report["missed_targets"] = missed_targets(report) if held_out else []

    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(format_report(report))
    if training_seconds is not None:
        print(f"\ntraining took {training_seconds:.0f} s")
    print(f"report: {args.report}")
    if report["missed_targets"]:
        print("TARGETS MISSED: " + "; ".join(report["missed_targets"]))
        return 1
    if held_out:
        print("targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
