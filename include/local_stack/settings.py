"""The environment every stack process shares (Airflow config, secrets, monitor DSN).

Airflow components must agree on the JWT secret and the DB; writing one env file and starting
every process from it is what keeps them in agreement. Secrets are generated once and kept in
`.local/secrets.json` (git-ignored), never printed except the demo login.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from local_stack import workers
from local_stack.database import monitor_dsn, sqlalchemy_url, with_database
from local_stack.paths import Paths
from scraper_monitor.settings import MAINTENANCE_SCHEDULE_ENV

API_HOST = "127.0.0.1"
#: The demo's store is small and its user is waiting for the Trends panel: the maintenance DAG (it
#: refreshes the rollups) runs every 10 minutes here instead of hourly.
DEMO_MAINTENANCE_SCHEDULE = "*/10 * * * *"


def api_port() -> int:
    return int(os.environ.get("AIRFLOW_PORT", "8080"))


def sim_port() -> int:
    return int(os.environ.get("SITESIM_PORT", "8765"))


def slack_receiver_port() -> int:
    return int(os.environ.get("SLACK_RECEIVER_PORT", "8767"))


def api_url() -> str:
    return f"http://{API_HOST}:{api_port()}"


def load_secrets(paths: Paths) -> dict[str, str]:
    if paths.secrets.exists():
        return json.loads(paths.secrets.read_text())
    values = {
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "admin_password": secrets.token_urlsafe(12),
    }
    paths.secrets.write_text(json.dumps(values, indent=2))
    paths.secrets.chmod(0o600)
    return values


def stack_env(paths: Paths, server_dsn: str, executor: str = workers.LOCAL) -> dict[str, str]:
    s = load_secrets(paths)
    base_url = api_url()
    airflow_db = sqlalchemy_url(with_database(server_dsn, "airflow"))
    env = {
        "SCRAPER_MONITOR_HOME": str(paths.root),
        "AIRFLOW_HOME": str(paths.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_db,
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__SECRET_KEY": s["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": s["jwt_secret"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "SCRAPER_MONITOR_DSN": monitor_dsn(server_dsn),
        "SCRAPER_MONITOR_SPOOL": str(paths.local / "spool" / "summaries.jsonl"),
        "SCRAPER_RETRY_DELAY_SECONDS": os.environ.get("SCRAPER_RETRY_DELAY_SECONDS", "3"),
        MAINTENANCE_SCHEDULE_ENV: os.environ.get(MAINTENANCE_SCHEDULE_ENV) or DEMO_MAINTENANCE_SCHEDULE,
        "AIRFLOW_PORT": str(api_port()),
        "SITESIM_PORT": str(sim_port()),
        "SLACK_RECEIVER_PORT": str(slack_receiver_port()),
        "SCRAPER_STACK_DIR": str(paths.local),
        "PATH": f"{paths.venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if executor == workers.CELERY:
        env |= workers.celery_env(airflow_db)
    return env


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """A shell-sourceable file (`set -a; . .local/env`) so users can run `airflow ...` by hand."""
    lines = [f"{key}={json.dumps(value)}" for key, value in env.items() if key != "PATH"]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def apply(env: dict[str, str]) -> None:
    os.environ.update(env)
