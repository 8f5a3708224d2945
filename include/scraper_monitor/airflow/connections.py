"""Database DSNs from Airflow connections: the monitor store's, and the scrapers' own databases'."""

from __future__ import annotations

from scraper_monitor import settings

MONITOR_CONN_ID = "scraper_monitor_db"


def connection_dsn(conn_id: str) -> str:
    """A libpq DSN from an Airflow connection (host may be a Unix socket folder)."""
    from airflow.sdk import BaseHook
    from psycopg.conninfo import make_conninfo

    conn = BaseHook.get_connection(conn_id)
    params = {
        "host": conn.host,
        "port": conn.port,
        "dbname": conn.schema,
        "user": conn.login,
        "password": conn.password,
    }
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def monitor_dsn() -> str:
    """The env var wins (local stack, tests); else the Airflow connection ``scraper_monitor_db``.

    Resolved on every call, not cached: editing the connection in the UI takes effect without a
    restart of the api-server, and a task reads the connection of its own deployment.
    """
    return settings.dsn_from_env() or connection_dsn(MONITOR_CONN_ID)
