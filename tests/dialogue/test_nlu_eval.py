"""`make nlu-eval`: the metrics on hand-made predictions, and the command itself."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from scripts.nlu_eval import (
    Entity,
    Example,
    Prediction,
    build_report,
    entity_metrics,
    format_report,
    intent_metrics,
    load_examples,
    missed_targets,
    out_of_scope_recall,
    parse_annotated,
    worst_confusions,
)
from scripts.stack import ROOT


def test_parse_annotated_gives_plain_text_and_spans():
    text, entities = parse_annotated(
        'faltan [2](quantity) del pedido [48213]{"entity": "order_number"}'
    )

    assert text == "faltan 2 del pedido 48213"
    assert entities == [
        Entity("quantity", 7, 8, "2"),
        Entity("order_number", 20, 25, "48213"),
    ]


def test_intent_metrics_by_hand():
    gold = ["greet", "greet", "deny", "deny", "out_of_scope"]
    predicted = ["greet", "deny", "deny", "deny", "nlu_fallback"]

    metrics = intent_metrics(gold, predicted)

    assert metrics["accuracy"] == pytest.approx(4 / 5)
    # greet P=1 R=1/2 F1=2/3; deny P=2/3 R=1 F1=4/5; out_of_scope F1=1
    assert metrics["per_intent"]["greet"]["f1"] == pytest.approx(2 / 3)
    assert metrics["per_intent"]["deny"]["precision"] == pytest.approx(2 / 3)
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 4 / 5 + 1) / 3)


def test_an_in_scope_fallback_is_a_miss_and_lowers_oos_precision():
    metrics = intent_metrics(["help", "out_of_scope"], ["nlu_fallback", "out_of_scope"])

    assert metrics["per_intent"]["help"]["recall"] == 0
    assert metrics["per_intent"]["out_of_scope"]["precision"] == pytest.approx(0.5)


def test_out_of_scope_recall_counts_fallbacks():
    gold = ["out_of_scope", "out_of_scope", "out_of_scope", "greet"]
    predicted = ["out_of_scope", "nlu_fallback", "greet", "greet"]

    assert out_of_scope_recall(gold, predicted) == pytest.approx(2 / 3)
    assert out_of_scope_recall(["greet"], ["greet"]) is None


def test_entity_metrics_need_type_and_exact_span():
    gold = [[Entity("order_number", 7, 11)], [Entity("quantity", 0, 1)]]
    predicted = [
        [Entity("order_number", 7, 11), Entity("postal_code", 20, 25)],
        [Entity("quantity", 0, 2)],
    ]

    metrics = entity_metrics(gold, predicted)

    assert metrics["per_entity"]["order_number"]["f1"] == 1
    assert metrics["per_entity"]["postal_code"]["precision"] == 0
    assert metrics["per_entity"]["quantity"]["recall"] == 0
    assert metrics["overall"]["precision"] == pytest.approx(1 / 3)
    assert metrics["overall"]["recall"] == pytest.approx(1 / 2)
    assert metrics["overall"]["f1"] == pytest.approx(0.4)


def test_worst_confusions_rank_by_count():
    examples = [Example(f"t{i}", intent) for i, intent in enumerate("aaab")]
    predictions = [Prediction(intent) for intent in ["c", "c", "a", "a"]]

    confusions = worst_confusions(examples, predictions)

    assert [(c["expected"], c["predicted"], c["count"]) for c in confusions] == [
        ("a", "c", 2),
        ("b", "a", 1),
    ]


def _report(es_right: int, en_right: int, oos_right: int) -> dict:
    examples, predictions = [], []
    for language, right in (("es", es_right), ("en", en_right)):
        for i in range(10):
            examples.append(Example(f"{language}{i}", "greet", language=language))
            predictions.append(Prediction("greet" if i < right else "thanks"))
            examples.append(Example(f"{language}t{i}", "thanks", language=language))
            predictions.append(Prediction("thanks"))
    for i in range(10):
        examples.append(Example(f"o{i}", "out_of_scope", language="en"))
        predictions.append(Prediction("out_of_scope" if i < oos_right else "greet"))
    return build_report(examples, predictions)


def test_targets_met_and_missed():
    assert missed_targets(_report(10, 10, 10)) == []

    missed = missed_targets(_report(8, 10, 8))

    assert any(m.startswith("es macro-F1") for m in missed)
    assert any("points below English" in m for m in missed)
    assert any(m.startswith("out-of-scope recall") for m in missed)


def test_report_is_split_by_language():
    report = _report(9, 10, 10)

    assert report["languages"]["es"]["accuracy"] == pytest.approx(19 / 20)
    assert report["languages"]["en"]["accuracy"] == 1
    assert report["gap_points_en_minus_es"] > 0
    assert report["errors"] == [
        {
            "text": "es9",
            "language": "es",
            "expected": "greet",
            "predicted": "thanks",
            "confidence": 0.0,
        }
    ]


def test_printed_report_shows_every_number():
    printed = format_report(_report(9, 10, 10))

    assert "es          20     0.950" in printed
    assert "Spanish-English gap: +" in printed
    assert "greet -> thanks" in printed


def test_languages_of_another_file_are_detected(tmp_path: Path):
    path = tmp_path / "mixed.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n'
        "    - hola buenas tardes\n    - hello there, thanks\n    - 4512\n"
    )

    languages = [example.language for example in load_examples(path)]

    assert languages == ["es", "en", "unknown"]


@pytest.mark.stack
def test_make_nlu_eval_on_a_small_file(tmp_path: Path):
    small = tmp_path / "small.yml"
    small.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: check_order_status\n  examples: |\n"
        "    - donde anda el pedido [4520](order_number)\n"
        "    - has order [48213](order_number) been sent out\n"
        "- intent: out_of_scope\n  examples: |\n"
        "    - que tal juega el levante\n    - sing me a song please\n"
    )
    report_path = tmp_path / "report.json"

    result = subprocess.run(
        ["make", "--no-print-directory", "nlu-eval", f"FILE={small}",
         "NLU_MODEL=models/ipsm.tar.gz", f"REPORT={report_path}"],
        cwd=ROOT,
        env={**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "macro-F1" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["examples"] == 4
    assert set(report["languages"]) == {"es", "en"}
    for metrics in report["languages"].values():
        assert metrics["examples"] == 2
        assert 0 <= metrics["macro_f1"] <= 1
    assert 0 <= report["out_of_scope_recall"] <= 1
    assert "order_number" in report["entities"]["per_entity"]
    assert report["targets_checked"] is False
