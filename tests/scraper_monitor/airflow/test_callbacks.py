"""The cluster policy on plain task objects (every callback kind gets the monitor's, once, first), and
the callbacks under real Airflow when the store cannot take a summary."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from scraper_monitor.airflow.callbacks import ON_FAILURE, ON_SUCCESS, has_monitor_callbacks, task_policy
from scraper_monitor.store import migrate
from tests.fixtures.airflow import postgres_connection


def authors_callback(context: object) -> None:
    """A DAG author's own callback (a slow notifier, say)."""


def test_the_monitor_callback_runs_before_the_authors_and_is_attached_once() -> None:
    task = SimpleNamespace(on_success_callback=authors_callback, on_failure_callback=[authors_callback])
    task_policy(task)
    task_policy(task)  # the policy can run again on the same task (re-parsing): still one each
    assert task.on_success_callback == [ON_SUCCESS, authors_callback]
    assert task.on_failure_callback == [ON_FAILURE, authors_callback]
    assert has_monitor_callbacks(task)


@pytest.fixture
def statsd_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A StatsD server on loopback, and Airflow's metrics pointed at it as ``[metrics] statsd_on``
    does (the task runner initializes them the same way before a task runs)."""
    from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(receiver.getsockname()[1]))
    stats.initialize(factory=get_stats_factory(), export_legacy_names=False)
    try:
        yield receiver
    finally:
        stats.initialize(factory=NoStatsLogger, export_legacy_names=False)
        receiver.close()


def _received(receiver: socket.socket) -> list[str]:
    lines = []
    while True:
        try:
            lines += receiver.recv(65536).decode().splitlines()
        except TimeoutError:
            return lines


@pytest.mark.airflow
@pytest.mark.parametrize(("spool_writable", "metric", "day"), [(True, "spooled", 1), (False, "lost", 2)])
def test_a_summary_not_in_the_store_is_counted_in_airflows_metrics(
    foreign_dagbag: Any,
    statsd_receiver: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    spool_writable: bool,
    metric: str,
    day: int,
) -> None:
    # The store refuses connections; the spool is on a writable disk, or under a file (unwritable).
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCRAPER_MONITOR_DB",
        json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 1, "schema": "monitor"}),
    )
    monkeypatch.delenv("SCRAPER_MONITOR_DSN", raising=False)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    spool = tmp_path / "spool.jsonl" if spool_writable else blocker / "spool.jsonl"
    monkeypatch.setenv("SCRAPER_MONITOR_SPOOL", str(spool))

    run = foreign_dagbag.get_dag("failing_pair").test(logical_date=datetime(2026, 11, day, tzinfo=UTC))

    assert run.state == "failed"  # the task's own failure, nothing else
    counted = [line for line in _received(statsd_receiver) if "scraper_monitor." in line]
    assert counted == [f"airflow.scraper_monitor.summaries_{metric}:1|c"] * 2  # both tasks' tries


@pytest.mark.airflow
def test_every_summary_of_a_run_carries_its_city_whichever_param_spells_it(
    foreign_dagbag: Any, pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    migrate.upgrade(pg_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_SCRAPER_MONITOR_DB", postgres_connection(pg_dsn))
    monkeypatch.delenv("SCRAPER_MONITOR_DSN", raising=False)
    monkeypatch.setenv("SCRAPER_MONITOR_SPOOL", str(tmp_path / "spool.jsonl"))
    dag = foreign_dagbag.get_dag("failing_pair")

    # Cinema City's spelling (its API's city name) and Kino Krakow's (a slug), as a trigger's conf.
    cinema_city = dag.test(logical_date=datetime(2026, 10, 1, tzinfo=UTC), run_conf={"city_name": "Kraków"})
    kino_krakow = dag.test(logical_date=datetime(2026, 10, 2, tzinfo=UTC), run_conf={"city": "krakow"})

    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT run_id, task_id, city FROM task_executions ORDER BY run_id, task_id"
        ).fetchall()
    assert rows == sorted(
        (run.run_id, task, "krakow") for run in (cinema_city, kino_krakow) for task in ("breaks", "works")
    )


def test_the_below_median_history_is_the_runs_own_city(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Warsaw run's 8 cinemas are judged against Warsaw's runs, not Kraków's 12: the city comes from
    the run's params however they spell it."""
    from scraper_monitor.airflow.callbacks import _history
    from scraper_monitor.store.db import connect
    from scraper_monitor.store.persist import save
    from tests.factories import make_summary

    migrate.upgrade(pg_dsn)
    monkeypatch.setenv("SCRAPER_MONITOR_DSN", pg_dsn)
    monkeypatch.setenv("SCRAPER_MONITOR_SPOOL", str(tmp_path / "spool.jsonl"))
    with connect(pg_dsn) as conn:
        for n in range(3):
            save(conn, make_summary(run_id=f"k{n}", city="Kraków", counts={"cinemas": 12}))
            save(conn, make_summary(run_id=f"w{n}", city="Warszawa", counts={"cinemas": 8}))

    def history(params: dict[str, Any]) -> list[int]:
        return list(_history("cinema_city", "cinema_day.cinema_dates", params)("cinemas", 5))

    assert history({"city_name": "Warszawa"}) == [8, 8, 8]
    assert history({"city": "krakow"}) == [12, 12, 12]
    assert history({}) == []  # a run without a city has no history among the cities' runs
