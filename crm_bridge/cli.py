"""Command line of the CRM bridge.

    python -m crm_bridge.cli migrate
    python -m crm_bridge.cli import crm_bridge/demo_data [--dry-run]

Both use DATABASE_URL from the environment (see crm_bridge/core/config.py).
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from crm_bridge.core.config import Settings
from crm_bridge.core.db import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    migrate,
)
from crm_bridge.importer import import_directory


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate(settings)
    print(f"database at revision {head_revision(settings)}")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings)
    try:
        revision, head = current_revision(engine), head_revision(settings)
        if revision != head:
            print(
                f"error: the database is at revision {revision or 'none'}, not "
                f"{head}; run 'python -m crm_bridge.cli migrate' first",
                file=sys.stderr,
            )
            return 1
        with make_session_factory(engine)() as session:
            result = import_directory(
                session, args.directory, progress=print, dry_run=args.dry_run
            )
    finally:
        engine.dispose()

    for name in result.ignored:
        print(f"warning: {name} is not a known file, ignored", file=sys.stderr)
    for error in result.errors:
        print(error, file=sys.stderr)
    if not result.ok:
        print(f"{len(result.errors)} error(s): nothing was imported", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: all files are valid, nothing was written")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crm_bridge.cli", description="Manage the CRM database."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    migrate_parser = commands.add_parser(
        "migrate", help="upgrade the database schema to the latest revision"
    )
    migrate_parser.set_defaults(handler=_migrate)

    import_parser = commands.add_parser(
        "import", help="check and import a folder of CSV files"
    )
    import_parser.add_argument("directory", type=Path)
    import_parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check and load everything, then roll back",
    )
    import_parser.set_defaults(handler=_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return args.handler(Settings(), args)


if __name__ == "__main__":
    sys.exit(main())
