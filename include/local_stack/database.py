"""The PostgreSQL behind the stack: the embedded one by default, or any server given by `PG_DSN`.

One server holds three databases: Airflow's metadata (`airflow`), the monitor store
(`scraper_monitor`) and the scraped showtimes (`scraped_events`).
"""

from __future__ import annotations

import os
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from local_stack.paths import Paths
from local_stack.pgserver import EmbeddedPostgres

DATABASES = ("airflow", "scraper_monitor", "scraped_events")
#: A server of the user's instead of the embedded one (`make demo PG_DSN=...`).
EXTERNAL_SERVER_ENV = "PG_DSN"
#: A monitor store elsewhere (an existing one, e.g. the benchmark's 10-million-execution store): the
#: stack migrates it to head and records into it instead of its own `scraper_monitor` database.
MONITOR_DSN_ENV = "MONITOR_DSN"


def with_database(dsn: str, database: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = database
    return make_conninfo(**params)


def sqlalchemy_url(dsn: str, driver: str = "psycopg2") -> str:
    """The SQLAlchemy URL Airflow wants, from a libpq DSN (Unix-socket hosts become ?host=)."""
    p = conninfo_to_dict(dsn)
    user = quote(p.get("user", ""), safe="")
    password = f":{quote(p['password'], safe='')}" if p.get("password") else ""
    host = p.get("host", "")
    auth = f"{user}{password}@" if user else ""
    database = p.get("dbname", "")
    if host.startswith("/"):
        return f"postgresql+{driver}://{auth}/{database}?host={host}"
    port = f":{p['port']}" if p.get("port") else ""
    return f"postgresql+{driver}://{auth}{host}{port}/{database}"


def server_dsn(paths: Paths, *, start: bool = True) -> str:
    """DSN of the server's `postgres` database, starting the embedded server if needed."""
    if external := os.environ.get(EXTERNAL_SERVER_ENV):
        return external
    server = EmbeddedPostgres(paths.pgdata)
    if start:
        server.start()
    return server.dsn("postgres")


def monitor_dsn(server: str) -> str:
    """The stack's monitor store: ``MONITOR_DSN``, else the `scraper_monitor` database of its server."""
    return os.environ.get(MONITOR_DSN_ENV) or with_database(server, "scraper_monitor")


def ensure_databases(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in DATABASES:
            if name not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop_embedded(paths: Paths) -> None:
    if not os.environ.get(EXTERNAL_SERVER_ENV):
        EmbeddedPostgres(paths.pgdata).stop()
