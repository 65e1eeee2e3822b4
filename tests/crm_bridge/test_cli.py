import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_bridge.cli import main
from tests.crm_bridge.conftest import DEMO_DATA

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'var' / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.chdir(tmp_path)
    return url


def test_migrate_then_import_then_import_again(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["import", str(DEMO_DATA)]) == 0
    first = capsys.readouterr().out
    assert main(["import", str(DEMO_DATA)]) == 0
    second = capsys.readouterr().out

    assert "units.csv: 9 rows (9 created, 0 updated)" in first
    assert "units.csv: 9 rows (0 created, 0 updated)" in second


def test_import_errors_go_to_stderr_and_exit_1(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["migrate"])
    data = tmp_path / "data"
    data.mkdir()
    (data / "categories.csv").write_text(
        "code,name_es\nboiler,Caldera\n", encoding="utf-8"
    )

    assert main(["import", str(data)]) == 1

    err = capsys.readouterr().err
    assert "categories.csv:1: missing column 'name_en'" in err
    assert "1 error(s): nothing was imported" in err


def test_import_refuses_an_unmigrated_database(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(DEMO_DATA)]) == 1

    assert "run 'python -m crm_bridge.cli migrate' first" in capsys.readouterr().err


def test_the_module_runs_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cmd.db'}",
        "ENVIRONMENT": "local",
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "crm_bridge.cli"]

    migrated = subprocess.run(
        [*command, "migrate"], env=env, capture_output=True, text=True, check=False
    )
    imported = subprocess.run(
        [*command, "import", str(DEMO_DATA), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert imported.returncode == 0, imported.stderr
    assert "dry run: all files are valid, nothing was written" in imported.stdout
