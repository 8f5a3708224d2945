"""Alembic environment for the monitor store.

Only driven from ``scraper_monitor.store.migrate``, which hands over an open SQLAlchemy connection in
``config.attributes["connection"]``; there is no alembic.ini and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from scraper_monitor.store.migrate import VERSION_TABLE

# Any constant works; it only has to be the same for every process that migrates this store.
MIGRATION_LOCK_KEY = 727_101


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
    with context.begin_transaction():
        # Two processes upgrading at once (scheduler start + a CLI call) would both see revision
        # "none" and race on CREATE TABLE; the transaction-scoped lock makes the second one wait
        # and then find the work done.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; use scraper_monitor.store.migrate")
run_migrations_online()
