"""Every environment value and path the monitor reads, in one place.

Each function reads the environment when called (``environ`` defaults to ``os.environ``), so a changed
variable takes effect without a restart and tests can pass their own mapping.

Where things are:

- The project root (for the local stack's ``.local/``): ``$SCRAPER_MONITOR_HOME``, else the nearest
  folder from the current one upwards that holds ``pyproject.toml`` and ``dags/``, else the current folder.
- The monitor store, for the CLI: ``--dsn``, else ``$SCRAPER_MONITOR_DSN``, else the
  ``SCRAPER_MONITOR_DSN`` line of ``.local/env``. Inside Airflow: ``$SCRAPER_MONITOR_DSN``, else the
  connection ``scraper_monitor_db`` (``scraper_monitor.airflow.connections``).
- The spool file, for the task callbacks and the CLI alike: ``$SCRAPER_MONITOR_SPOOL``, else
  ``.local/spool/summaries.jsonl`` under the project root.
- The SLO file: ``$SCRAPER_MONITOR_SLO_CONFIG``, else ``slo.yaml`` inside this package.
- Error rules: ``error_rules.yaml`` inside this package, after ``$SCRAPER_MONITOR_ERROR_RULES`` if set.
- Airflow's REST API, for the CLI: ``--airflow-url``, else ``$AIRFLOW_API_URL``, else
  ``$AIRFLOW__API__BASE_URL``, else http://127.0.0.1:8080; login ``$AIRFLOW_USERNAME`` /
  ``$AIRFLOW_PASSWORD``, else the local stack's ``demo-login.json`` (in ``$SCRAPER_STACK_DIR``, else
  ``.local/``).
- Schedules and deadlines: ``$SCRAPER_MONITOR_ALERT_SCHEDULE`` (every 15 minutes),
  ``$SCRAPER_MONITOR_SNAPSHOT_SCHEDULE`` (every 5 minutes), ``$SCRAPER_MONITOR_MAINTENANCE_SCHEDULE``
  (hourly): cron expressions or presets, read when the DAG files are parsed;
  ``$SCRAPER_DEADLINE_MINUTES`` (60), ``$SCRAPER_MONITOR_DISABLE_DEADLINES=1`` (tests).
- Retries of the scraper tasks: ``$SCRAPER_RETRIES`` (2), ``$SCRAPER_RETRY_DELAY_SECONDS`` (60).
- Colours in the CLI: off when ``$NO_COLOR`` is set or stdout is not a terminal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

HOME_ENV = "SCRAPER_MONITOR_HOME"
DSN_ENV = "SCRAPER_MONITOR_DSN"
SPOOL_ENV = "SCRAPER_MONITOR_SPOOL"
SLO_CONFIG_ENV = "SCRAPER_MONITOR_SLO_CONFIG"
ERROR_RULES_ENV = "SCRAPER_MONITOR_ERROR_RULES"
ALERT_SCHEDULE_ENV = "SCRAPER_MONITOR_ALERT_SCHEDULE"
SNAPSHOT_SCHEDULE_ENV = "SCRAPER_MONITOR_SNAPSHOT_SCHEDULE"
MAINTENANCE_SCHEDULE_ENV = "SCRAPER_MONITOR_MAINTENANCE_SCHEDULE"
DEADLINE_MINUTES_ENV = "SCRAPER_DEADLINE_MINUTES"
DISABLE_DEADLINES_ENV = "SCRAPER_MONITOR_DISABLE_DEADLINES"
AIRFLOW_URL_ENV = "AIRFLOW_API_URL"
AIRFLOW_BASE_URL_ENV = "AIRFLOW__API__BASE_URL"
AIRFLOW_USERNAME_ENV = "AIRFLOW_USERNAME"
AIRFLOW_PASSWORD_ENV = "AIRFLOW_PASSWORD"
STACK_DIR_ENV = "SCRAPER_STACK_DIR"
RETRIES_ENV = "SCRAPER_RETRIES"
RETRY_DELAY_ENV = "SCRAPER_RETRY_DELAY_SECONDS"
NO_COLOR_ENV = "NO_COLOR"
MAX_ACTIVE_CITIES_ENV = "SCRAPER_MAX_ACTIVE_CITIES"
DISCOVERY_FILE_ENV = "SCRAPER_DISCOVERY_FILE"

# The defaults ship inside the package (package data), so a non-editable install has them too.
DEFAULT_SLO_CONFIG = PACKAGE_DIR / "slo.yaml"
DEFAULT_ERROR_RULES = PACKAGE_DIR / "error_rules.yaml"
DEFAULT_READING_CUES = PACKAGE_DIR / "reading_cues.yaml"
#: City discovery's seed (include/discovery.yaml): the deployment's cities, not package data.
DEFAULT_DISCOVERY_FILE = PACKAGE_DIR.parent / "discovery.yaml"
#: Runs of one scraper DAG at once (several cities): enough to finish a morning, never a flood.
DEFAULT_MAX_ACTIVE_CITIES = 3
DEFAULT_AIRFLOW_URL = "http://127.0.0.1:8080"
DEFAULT_ALERT_SCHEDULE = "*/15 * * * *"
DEFAULT_SNAPSHOT_SCHEDULE = "*/5 * * * *"
DEFAULT_MAINTENANCE_SCHEDULE = "@hourly"
DEFAULT_DEADLINE_MINUTES = 60.0


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable (the CLI prints it as one line)."""


def project_root(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    if home := environ.get(HOME_ENV):
        return Path(home)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "dags").is_dir():
            return folder
    return here


def stack_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The local stack's folder (``.local`` under the project root, unless ``$SCRAPER_STACK_DIR``)."""
    return Path(environ[STACK_DIR_ENV]) if environ.get(STACK_DIR_ENV) else project_root(environ) / ".local"


def env_file(root: Path) -> Path:
    return root / ".local" / "env"


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as the local stack writes them (values JSON-quoted; plain also accepted)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value.startswith('"'):
            try:
                value = str(json.loads(value))
            except ValueError:
                value = value.strip('"')
        elif value.startswith("'"):
            value = value.strip("'")
        values[key.strip()] = value
    return values


def dsn_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    return environ.get(DSN_ENV) or None


def resolve_dsn(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The monitor store for the command line (see the module docstring)."""
    if explicit:
        return explicit
    if from_env := dsn_from_env(environ):
        return from_env
    path = env_file(project_root(environ))
    if path.is_file() and (from_file := read_env_file(path).get(DSN_ENV)):
        return from_file
    raise SettingsError(
        f"no monitor store configured: pass --dsn, set {DSN_ENV}, or start the local stack (it writes {path})"
    )


def spool_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The one spool file of this machine: the task callbacks write it, the CLI and the DAG replay it."""
    if from_env := environ.get(SPOOL_ENV):
        return Path(from_env)
    return project_root(environ) / ".local" / "spool" / "summaries.jsonl"


def slo_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(SLO_CONFIG_ENV) or DEFAULT_SLO_CONFIG)


def user_error_rules_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """A team's own rules file, tried before the built-in rules; None when not set."""
    return environ.get(ERROR_RULES_ENV) or None


def airflow_url(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    return (
        explicit or environ.get(AIRFLOW_URL_ENV) or environ.get(AIRFLOW_BASE_URL_ENV) or DEFAULT_AIRFLOW_URL
    )


def airflow_credentials(environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(username, password) from the environment, else the local stack's demo login, else None."""
    if username := environ.get(AIRFLOW_USERNAME_ENV):
        return username, environ.get(AIRFLOW_PASSWORD_ENV, "")
    try:
        login = json.loads((stack_dir(environ) / "demo-login.json").read_text())
        return str(login["username"]), str(login["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no local stack here (or an unreadable file): try without a login


def alert_schedule(environ: Mapping[str, str] = os.environ) -> str:
    """The alert DAG's schedule: a cron expression or preset, every 15 minutes by default."""
    return environ.get(ALERT_SCHEDULE_ENV, "").strip() or DEFAULT_ALERT_SCHEDULE


def snapshot_schedule(environ: Mapping[str, str] = os.environ) -> str:
    """The snapshot DAG's schedule: every 5 minutes by default (a snapshot counts as fresh for 30)."""
    return environ.get(SNAPSHOT_SCHEDULE_ENV, "").strip() or DEFAULT_SNAPSHOT_SCHEDULE


def maintenance_schedule(environ: Mapping[str, str] = os.environ) -> str | None:
    """The maintenance DAG's schedule: hourly by default; ``none``: only when triggered (a store that
    must stay as it is, such as the benchmark's, or a team that runs maintenance from its own cron)."""
    value = environ.get(MAINTENANCE_SCHEDULE_ENV, "").strip() or DEFAULT_MAINTENANCE_SCHEDULE
    return None if value.lower() == "none" else value


def deadlines_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(DISABLE_DEADLINES_ENV) == "1"


def deadline_minutes(environ: Mapping[str, str] = os.environ) -> float:
    """Minutes from queueing to a scraper run's deadline; fractions are allowed (tests use seconds)."""
    raw = environ.get(DEADLINE_MINUTES_ENV, "")
    if not raw:
        return DEFAULT_DEADLINE_MINUTES
    try:
        minutes = float(raw)
    except ValueError:
        minutes = 0
    if not minutes > 0:
        raise SettingsError(f"{DEADLINE_MINUTES_ENV} must be a positive number of minutes, got {raw!r}")
    return minutes


def scraper_retries(environ: Mapping[str, str] = os.environ) -> int:
    return int(float(environ.get(RETRIES_ENV, 2)))


def scraper_retry_delay_s(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds before a scraper task's first retry (the demo shortens it)."""
    return float(environ.get(RETRY_DELAY_ENV, 60))


def max_active_cities(environ: Mapping[str, str] = os.environ) -> int:
    """Runs of one scraper DAG at a time (its cities): more wait queued in Airflow, so a source is
    never asked for more than this many cities at once, whatever discovery queues."""
    raw = environ.get(MAX_ACTIVE_CITIES_ENV, str(DEFAULT_MAX_ACTIVE_CITIES))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{MAX_ACTIVE_CITIES_ENV} must be a whole number of runs >= 1, got {raw!r}")
    return value


def discovery_file(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(DISCOVERY_FILE_ENV) or DEFAULT_DISCOVERY_FILE)


def colour_wanted(is_terminal: bool, environ: Mapping[str, str] = os.environ) -> bool:
    return is_terminal and not environ.get(NO_COLOR_ENV)
