"""The stack's shared environment: which databases its processes use."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from local_stack import settings
from local_stack.database import MONITOR_DSN_ENV
from local_stack.paths import Paths

SERVER = "host=db.example port=5432 user=stack dbname=postgres"


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(tmp_path))
    return Paths(tmp_path)


def test_the_monitor_store_is_the_servers_own_database_by_default(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MONITOR_DSN_ENV, raising=False)
    env = settings.stack_env(paths, SERVER)
    assert conninfo_to_dict(env["SCRAPER_MONITOR_DSN"]) == conninfo_to_dict(SERVER) | {
        "dbname": "scraper_monitor"
    }
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://stack@db.example:5432/airflow"


def test_monitor_dsn_puts_the_monitor_store_elsewhere_and_airflow_stays_on_the_server(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = "postgresql://bench@/bench?host=/srv/bench-pg"
    monkeypatch.setenv(MONITOR_DSN_ENV, elsewhere)
    env = settings.stack_env(paths, SERVER)
    assert env["SCRAPER_MONITOR_DSN"] == elsewhere
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://stack@db.example:5432/airflow"


def test_a_private_stack_never_inherits_the_callers_servers_or_airflow_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A user's `make demo PG_DSN=...` (or MONITOR_DSN) exported in the shell must not send a test's
    or a benchmark's private stack to their real PostgreSQL; the stack's own extra_env may."""
    from local_stack.private import _clean_environment

    monkeypatch.setenv("PG_DSN", "host=prod.example dbname=postgres")
    monkeypatch.setenv(MONITOR_DSN_ENV, "host=prod.example dbname=scraper_monitor")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("SCRAPER_MONITOR_DSN", "host=prod.example dbname=scraper_monitor")
    monkeypatch.setenv("TZ", "UTC")
    env = _clean_environment()
    assert not {"PG_DSN", MONITOR_DSN_ENV, "AIRFLOW__CORE__EXECUTOR", "SCRAPER_MONITOR_DSN"} & set(env)
    assert env["TZ"] == "UTC"
