"""Never lose, never block: the monitor store goes down in the middle of a real chain run."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.store.migrate import upgrade
from scraper_monitor.store.spool import pending, replay
from tests.fixtures.airflow import postgres_connection, task_instance_dicts

pytestmark = pytest.mark.airflow
SCRAPE_DATE = datetime(2026, 11, 23, tzinfo=UTC)


def rows(dsn: str) -> int:
    with psycopg.connect(dsn, connect_timeout=2) as conn:
        return conn.execute("SELECT count(*) FROM task_executions").fetchone()[0]


def test_store_stopped_mid_run_then_replayed_holds_every_execution_once(
    dagbag, sitesim_factory, point_chains_at, monkeypatch, tmp_path
) -> None:
    sim = sitesim_factory("clean", anchor_date=SCRAPE_DATE.date())
    point_chains_at(sim)  # the showtime sink stays on the session's server, which keeps running
    store = EmbeddedPostgres(tmp_path / "store")
    store.start()
    store.ensure_database("monitor")
    dsn = store.dsn("monitor")
    upgrade(dsn)
    spool = tmp_path / "spool.jsonl"
    monkeypatch.setenv("AIRFLOW_CONN_SCRAPER_MONITOR_DB", postgres_connection(dsn))
    monkeypatch.setenv("SCRAPER_MONITOR_SPOOL", str(spool))

    stopped = threading.Event()

    def stop_after_first_writes() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if rows(dsn) >= 3:
                store.stop()
                stopped.set()
                return
            time.sleep(0.05)

    stopper = threading.Thread(target=stop_after_first_writes, daemon=True)
    stopper.start()
    started = time.monotonic()
    run = dagbag.get_dag("cinema_city").test(logical_date=SCRAPE_DATE)
    elapsed = time.monotonic() - started
    stopper.join(5)

    assert stopped.is_set(), "the store was never stopped: the test did not test anything"
    assert run.state == "success"  # the tasks never noticed
    assert pending(spool)
    assert elapsed < 120

    store.start()
    try:
        report = replay(dsn, spool)
        assert report.failed == 0 and report.replayed > 0
        assert not pending(spool)
        ran = {
            (t["task_id"], t["map_index"], t["try_number"])
            for t in task_instance_dicts(run)
            if t["try_number"]
        }
        with psycopg.connect(dsn) as conn:
            stored = conn.execute(
                "SELECT task_id, map_index, try_number FROM task_executions WHERE run_id = %s", (run.run_id,)
            ).fetchall()
        assert sorted(stored) == sorted(ran)  # every execution, each exactly once
        assert replay(dsn, spool).replayed == 0 and rows(dsn) == len(stored)  # a second replay adds nothing
    finally:
        store.stop()
