"""Database DSNs from Airflow connections: the monitor store's, and the scrapers' own databases'."""

from __future__ import annotations

from scraper_monitor import settings
from scraper_monitor.airflow.rest import AirflowApi

MONITOR_CONN_ID = "scraper_monitor_db"
#: Airflow's own REST API, for the maintenance DAG's repair (tasks cannot read the metadata DB):
#: an http connection whose host is the api-server's base URL, with a login allowed to read runs.
AIRFLOW_API_CONN_ID = "airflow_api"


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


def airflow_api() -> AirflowApi:
    """A logged-in REST client from the ``airflow_api`` connection."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(AIRFLOW_API_CONN_ID)
    if not conn.host:
        raise ValueError(f"connection {AIRFLOW_API_CONN_ID!r} has no host (the api-server's base URL)")
    base_url = conn.host if "://" in conn.host else f"http://{conn.host}"
    if conn.port:
        base_url = f"{base_url}:{conn.port}"
    return AirflowApi(conn.login, conn.password, base_url=base_url)
