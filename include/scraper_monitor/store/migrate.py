"""Schema migrations, run programmatically (there is no alembic.ini).

``upgrade(dsn)`` brings the store to the newest revision and is a no-op when it is already there.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

SCRIPT_LOCATION = "scraper_monitor:migrations"
# Our own version table: the monitor may share a database with Airflow (or anything else run by
# Alembic), whose ``alembic_version`` we must never read or bump.
VERSION_TABLE = "scraper_monitor_alembic_version"


def sqlalchemy_url(dsn: str) -> URL:
    """A ``postgresql+psycopg`` URL for a libpq DSN (URI or ``key=value`` form).

    Everything except user, password and database travels as query parameters, because a Unix
    socket directory (``host=/run/pg``) cannot be written as a URL host.
    """
    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    return URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        database=params.pop("dbname", None),
        query=params,
    )


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def _engine(dsn: str) -> Engine:
    # libpq waits forever for an unreachable TCP host unless told otherwise.
    return create_engine(sqlalchemy_url(dsn), poolclass=NullPool, connect_args={"connect_timeout": 10})


def upgrade(dsn: str, revision: str = "head") -> None:
    engine = _engine(dsn)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(dsn: str) -> str | None:
    engine = _engine(dsn)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        engine.dispose()
