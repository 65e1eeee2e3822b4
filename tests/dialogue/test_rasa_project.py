"""The Rasa project itself: its data validates cleanly and the trained model
holds the conversations in tests/conversations, in Spanish and English."""

import os
import subprocess
from pathlib import Path

import pytest

from scripts.stack import RASA_BIN, ROOT

pytestmark = pytest.mark.stack

PROJECT = ["--domain", "bot/domain", "--config", "config.yml"]


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
        "RASA_TRACKER_DB": "/tmp/unused-tracker.db",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    return subprocess.run(
        [str(RASA_BIN), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_rasa_data_validates_without_warnings():
    result = rasa("data", "validate", *PROJECT, "--data", "data", "--fail-on-warnings")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "UserWarning" not in output, output[-3000:]
    assert "No story structure conflicts found" in output


def test_conversation_stories_pass_in_both_languages(tmp_path: Path):
    stories = sorted((ROOT / "tests" / "conversations").glob("*.yml"))
    assert {story.stem.rsplit("_", 1)[-1] for story in stories} >= {"es", "en"}

    result = rasa(
        "test", "core",
        "--stories", "tests/conversations",
        "--model", os.environ.get("IPSM_TEST_MODEL", "models/ipsm.tar.gz"),
        "--endpoints", "bot/endpoints.yml",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "None of the test stories failed" in failed, failed
