"""Importing a folder of CSV files: check everything, then write everything."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crm_bridge.importer.check import KnownKeys, check_rows
from crm_bridge.importer.load import FileReport, load_file
from crm_bridge.importer.parse import FILE_SPECS, read_file
from crm_bridge.importer.rows import RowError

logger = logging.getLogger(__name__)


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_directory(
    session: Session,
    directory: Path,
    progress: Callable[[FileReport], None] = lambda report: None,
    dry_run: bool = False,
) -> ImportResult:
    """Import the known CSV files of ``directory`` in one transaction.

    Every row of every file is checked first; with any error nothing is
    written and the result lists all of them. Otherwise each file is upserted
    in dependency order, ``progress`` is called after each one, and the
    transaction is committed (rolled back when ``dry_run``).
    """
    result = ImportResult()
    if not directory.is_dir():
        result.errors.append(RowError(str(directory), 0, "is not a directory"))
        return result

    known_names = {spec.name for spec in FILE_SPECS}
    result.ignored = sorted(
        path.name for path in directory.glob("*.csv") if path.name not in known_names
    )
    rows: dict[str, list[Any]] = {}
    for spec in FILE_SPECS:
        path = directory / spec.name
        if path.is_file():
            rows[spec.name], errors = read_file(path, spec)
            result.errors += errors
    if not rows:
        expected = ", ".join(spec.name for spec in FILE_SPECS)
        result.errors.append(
            RowError(str(directory), 0, f"has none of the files {expected}")
        )
        return result

    result.errors += check_rows(rows, KnownKeys.load(session))
    if result.errors:
        session.rollback()
        return result

    try:
        for name, file_rows in rows.items():
            report = load_file(session, name, file_rows)
            result.files.append(report)
            progress(report)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except Exception:
        session.rollback()
        raise
    logger.info(
        "imported %d files from %s%s",
        len(result.files),
        directory,
        " (dry run, rolled back)" if dry_run else "",
    )
    return result
