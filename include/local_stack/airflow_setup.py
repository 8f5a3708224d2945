"""One-time (idempotent) setup: schemas, cluster policy, login, and the Airflow connections."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from local_stack.paths import Paths
from local_stack.settings import api_url, load_secrets, sim_port, slack_receiver_port
from local_stack.slack_receiver import is_receiver_url, webhook_url
from sitesim.kino_krakow import connection_extras

# The demo client is impatient on purpose: the scenario's delay faults must time out quickly.
DEMO_CLIENT = {"timeout_s": 3, "max_attempts": 2, "backoff_s": 0.2, "polite_delay_s": 0}


def site_connections(sim_url: str, tmdb_key: str, sites: str = "") -> list[dict[str, Any]]:
    """The three site connections on the simulator at ``sim_url``; ``sites`` names another set of
    them, the one a run whose conf says ``{"sites": ...}`` scrapes through."""
    from scraper_airflow.connections import SITES_KEY, TMDB_CONN_ID, sites_conn_id

    def site(conn_id: str, path: str, **extra: Any) -> dict[str, Any]:
        return {
            "conn_id": sites_conn_id(conn_id, {SITES_KEY: sites}),
            "conn_type": "http",
            "host": f"{sim_url}/{path}",
            "extra": {**DEMO_CLIENT, **extra},
        }

    return [
        site("cinema_city_api", "cinema-city"),
        # Every simulated city of the site family: Kraków at the root, the others under /cities/.
        site("kino_krakow_site", "kino-krakow", **connection_extras(f"{sim_url}/kino-krakow")),
        {**site(TMDB_CONN_ID, "tmdb"), "password": tmdb_key},
    ]


def demo_connections(
    monitor_dsn: str, events_dsn: str, tmdb_key: str, airflow_login: dict[str, str]
) -> list[dict[str, Any]]:
    from psycopg.conninfo import conninfo_to_dict

    from scraper_monitor.airflow.notifications import SLACK_CONN_ID

    def postgres(conn_id: str, dsn: str) -> dict[str, Any]:
        p = conninfo_to_dict(dsn)
        return {
            "conn_id": conn_id,
            "conn_type": "postgres",
            "host": p.get("host"),
            "port": int(p["port"]) if p.get("port") else None,
            "schema": p.get("dbname"),
            "login": p.get("user"),
            "password": p.get("password"),
        }

    return [
        *site_connections(f"http://127.0.0.1:{sim_port()}", tmdb_key),
        postgres("scraper_monitor_db", monitor_dsn),
        postgres("scraped_events_db", events_dsn),
        # The maintenance DAG's repair reads runs, tries and task logs through the REST API.
        {
            "conn_id": "airflow_api",
            "conn_type": "http",
            "host": api_url(),
            "login": airflow_login["username"],
            "password": airflow_login["password"],
        },
        # Deadline Alerts and the alerts DAG post here; the local receiver keeps what Slack would show.
        {
            "conn_id": SLACK_CONN_ID,
            "conn_type": "slackwebhook",
            "password": webhook_url(slack_receiver_port()),
        },
    ]


def _users_webhook(existing: Any) -> bool:
    """A Slack connection the user pointed at their own webhook (README): setup never overwrites it."""
    return existing is not None and bool(existing.password) and not is_receiver_url(existing.password)


def upsert_connections(connections: list[dict[str, Any]]) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for spec in connections:
            spec = {**spec, "extra": json.dumps(spec["extra"]) if spec.get("extra") else None}
            existing = session.query(Connection).filter(Connection.conn_id == spec["conn_id"]).one_or_none()
            if spec["conn_type"] == "slackwebhook" and _users_webhook(existing):
                continue
            conn = existing or Connection(conn_id=spec["conn_id"])
            for key, value in spec.items():
                if key != "conn_id":
                    setattr(conn, key, value)
            session.add(conn)


def slack_destination(paths: Paths) -> str:
    """Where the stack's Slack messages go, for the demo's closing lines."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from scraper_monitor.airflow.notifications import SLACK_CONN_ID

    env_var = f"AIRFLOW_CONN_{SLACK_CONN_ID.upper()}"  # Airflow's name; set, it wins over the DB's
    if os.environ.get(env_var):
        return f"your webhook ({env_var})"
    with create_session() as session:
        existing = session.query(Connection).filter(Connection.conn_id == SLACK_CONN_ID).one_or_none()
        if _users_webhook(existing):
            return f"your webhook (the {SLACK_CONN_ID} connection)"
    return f"{paths.slack_messages} (local receiver; `make slack` prints them)"


def install_policy(paths: Paths) -> None:
    shutil.copyfile(
        paths.root / "include" / "airflow_local_settings.py",
        paths.airflow_home / "config" / "airflow_local_settings.py",
    )


def write_login(paths: Paths) -> dict[str, str]:
    password = load_secrets(paths)["admin_password"]
    (paths.airflow_home / "simple_auth_manager_passwords.json.generated").write_text(
        json.dumps({"admin": password})
    )
    login = {"username": "admin", "password": password}
    paths.login_file.write_text(json.dumps(login))
    paths.login_file.chmod(0o600)
    return login


def migrate_airflow(paths: Paths) -> None:
    subprocess.run(
        [str(paths.venv_bin / "airflow"), "db", "migrate"],
        check=True,
        stdout=open(paths.logs / "db-migrate.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
