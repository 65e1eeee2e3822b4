"""Command line of the CRM bridge.

    python -m crm_bridge.cli migrate
    python -m crm_bridge.cli import crm_bridge/demo_data [--dry-run]
    python -m crm_bridge.cli close-ticket WAR-2026-000001 --resolution "..."
    python -m crm_bridge.cli invite-survey WAR-2026-000001 [--survey post_repair]
    python -m crm_bridge.cli create-agent ana --name "Ana Ruiz" [--role supervisor]
    python -m crm_bridge.cli demo-accounts     (local use only)

Both use DATABASE_URL from the environment (see crm_bridge/core/config.py).
"""

import argparse
import getpass
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
from crm_bridge.models import AgentRole, SurveyInvitation
from crm_bridge.services import agents, surveys
from crm_bridge.services.errors import CrmError


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


def _close_ticket(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            closing = surveys.close_ticket(session, args.number, args.resolution)
            invitation = closing.invitation
            print(
                f"{closing.ticket.number} "
                f"{'closed' if closing.closed_now else 'was already closed'}"
            )
            _print_invitation(invitation, closing.survey_note)
    except CrmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _invite_survey(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            invitation, note, _created = surveys.invite(
                session, args.number, args.survey
            )
            _print_invitation(invitation, note)
    except CrmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0 if invitation is not None else 1


def _print_invitation(invitation: SurveyInvitation | None, note: str | None) -> None:
    if invitation is None:
        print(f"no survey invitation: {note}")
        return
    print(
        f"survey invitation {invitation.id} ({invitation.survey_code}) "
        f"{invitation.status.value} on {invitation.channel} "
        f"{invitation.conversation_id}"
        + (f": {invitation.error}" if invitation.error else "")
    )
    if invitation.status.value == "pending":
        print("the running services app sends it within a few seconds")


# The console accounts `make run` creates; refused outside local use.
DEMO_ACCOUNTS = (
    ("agente", "Laura (agente demo)", "agente-demo-2026", AgentRole.AGENT),
    (
        "supervisora",
        "Marta (supervisora demo)",
        "supervisora-demo-2026",
        AgentRole.SUPERVISOR,
    ),
)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        print(
            "error: no terminal to ask the password; use --password-stdin",
            file=sys.stderr,
        )
        return None
    first = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("Again: ") != first:
        print("error: the two passwords differ", file=sys.stderr)
        return None
    return first


def _create_agent(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 1
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            agent = agents.create_agent(
                session,
                args.username,
                args.name or args.username,
                password,
                AgentRole(args.role),
                _words(args.languages),
                _words(args.skills),
            )
            print(f"{agent.role.value} {agent.username} created")
    except CrmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _words(value: str) -> list[str]:
    return [word.strip() for word in value.split(",") if word.strip()]


def _demo_accounts(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.ENVIRONMENT != "local":
        print("error: demo accounts are for local use only", file=sys.stderr)
        return 1
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            for username, name, password, role in DEMO_ACCOUNTS:
                try:
                    agents.create_agent(session, username, name, password, role)
                    print(f"demo {role.value} {username} created")
                except agents.AgentExistsError:
                    session.rollback()
    finally:
        engine.dispose()
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

    close_parser = commands.add_parser(
        "close-ticket", help="close a case and invite its customer to the survey"
    )
    close_parser.add_argument("number", help="e.g. WAR-2026-000001")
    close_parser.add_argument("--resolution", required=True)
    close_parser.set_defaults(handler=_close_ticket)

    invite_parser = commands.add_parser(
        "invite-survey", help="invite the customer of a closed case to a survey"
    )
    invite_parser.add_argument("number", help="e.g. WAR-2026-000001")
    invite_parser.add_argument("--survey", default=None, help="default post_repair")
    invite_parser.set_defaults(handler=_invite_survey)

    agent_parser = commands.add_parser(
        "create-agent", help="create a console account (asks for the password)"
    )
    agent_parser.add_argument("username")
    agent_parser.add_argument("--name", help="the name customers and colleagues see")
    agent_parser.add_argument(
        "--role", choices=[role.value for role in AgentRole], default="agent"
    )
    agent_parser.add_argument("--languages", default="es,en", help="default es,en")
    agent_parser.add_argument(
        "--skills",
        default="warranty,orders,display",
        help="default warranty,orders,display",
    )
    agent_parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    agent_parser.set_defaults(handler=_create_agent)

    demo_parser = commands.add_parser(
        "demo-accounts", help="the demo agent and supervisor (local use only)"
    )
    demo_parser.set_defaults(handler=_demo_accounts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return args.handler(Settings(), args)


if __name__ == "__main__":
    sys.exit(main())
