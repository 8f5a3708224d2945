"""``scraper-monitor db upgrade``: create or upgrade the monitor store's tables."""

from __future__ import annotations

import argparse

import psycopg

from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import add_dsn_option
from scraper_monitor.settings import resolve_dsn
from scraper_monitor.store.db import describe_error


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="monitor store schema")
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="create or upgrade the tables (safe to repeat)")
    add_dsn_option(upgrade)
    upgrade.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    # Imported here: Alembic and SQLAlchemy are only needed by this command.
    import sqlalchemy.exc

    from scraper_monitor.store import migrate

    dsn = resolve_dsn(args.dsn)
    try:
        migrate.upgrade(dsn)
        revision = migrate.current_revision(dsn)
    except (sqlalchemy.exc.SQLAlchemyError, psycopg.Error) as exc:
        raise CliError(f"monitor store upgrade failed: {describe_error(exc)}") from exc
    print(f"monitor store at revision {revision} (head {migrate.head_revision()})")
    return 0
