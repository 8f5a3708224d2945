"""Snapshots: the SLO statuses and metrics the overview and ``/metrics`` serve without aggregating a
week of raw rows per request; who refreshes them (a DAG under real Airflow, the CLI) and when
readers fall back to the store (no snapshot, a stale one)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from scraper_monitor import metrics, precompute, slo
from scraper_monitor.reports.slo import SLO_SNAPSHOT, slo_statuses, slo_view
from scraper_monitor.state import FAILED, SUCCESS
from scraper_monitor.store import snapshots
from scraper_monitor.store.db import connect
from scraper_monitor.web import create_app
from tests.factories import NOW, add_execution, add_items
from tests.fixtures.airflow import postgres_connection
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401


def failed_sync(samples: dict[str, float]) -> float:
    series = 'scraper_monitor_task_executions{city="",scraper="cinema_city",state="failed",task="sync"}'
    return samples[series]


def scrape(store: str, now: datetime) -> dict[str, float]:
    body = metrics.render_metrics(store, slo_config=slo.load_config(), now=now)[0].decode()
    return {
        sample.name
        + "{"
        + ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        + "}": sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def seed(db: psycopg.Connection) -> None:
    """A week of cinema_city runs (enough for an SLO verdict), items and one failure."""
    for day in range(7):
        run = f"run-{day}"
        ok = add_execution(db, run_id=run, ago=timedelta(days=day, hours=1))
        add_items(db, ok, outcome="created", count=3)
        add_execution(db, run_id=run, task_id="movie_details", ago=timedelta(days=day, hours=1))
    add_execution(db, run_id="run-0", task_id="showtimes", state=FAILED, error_category="network_error")


def test_a_snapshot_serves_the_same_numbers_as_the_store(store: str, db: psycopg.Connection) -> None:
    seed(db)
    config = slo.load_config()
    live = metrics.render_metrics(store, slo_config=config, now=NOW)[0]
    report = precompute.refresh(store, slo_config=config, now=NOW)
    assert report.computed_at == NOW and report.slo_statuses > 0

    assert metrics.render_metrics(store, slo_config=config, now=NOW + timedelta(minutes=1))[0] == live
    with connect(store) as conn:
        view = slo_view(conn, config, now=NOW + timedelta(minutes=1))
    assert view.computed_at == NOW
    assert view.statuses == slo_statuses(psycopg.connect(store), config, now=NOW)
    assert any(s.status != slo.INSUFFICIENT_DATA for s in view.statuses)


def test_metrics_serve_a_fresh_snapshot_and_read_the_store_when_it_is_stale(
    store: str, db: psycopg.Connection
) -> None:
    seed(db)
    precompute.refresh(store, now=NOW)
    # A failure recorded after the snapshot: not in it, but in the store.
    add_execution(db, run_id="late", state=FAILED, ago=timedelta(minutes=1), error_category="network_error")

    fresh = scrape(store, NOW + timedelta(minutes=5))
    assert failed_sync(fresh) == 0
    assert fresh["scraper_monitor_computed_timestamp_seconds{}"] == NOW.timestamp()

    stale_at = NOW + snapshots.MAX_AGE + timedelta(minutes=1)
    stale = scrape(store, stale_at)
    assert failed_sync(stale) == 1
    assert stale["scraper_monitor_computed_timestamp_seconds{}"] == stale_at.timestamp()

    # Seconds "from the future" are clock skew between hosts; minutes are not a fresh snapshot.
    assert failed_sync(scrape(store, NOW - timedelta(seconds=30))) == 0
    assert failed_sync(scrape(store, NOW - timedelta(minutes=10))) == 1


def test_an_older_refresh_never_replaces_a_newer_snapshot(store: str, db: psycopg.Connection) -> None:
    seed(db)
    precompute.refresh(store, now=NOW)
    precompute.refresh(store, now=NOW - timedelta(minutes=5))  # a slow, overlapping refresh finishing late
    with connect(store) as conn:
        for name in (metrics.METRICS_SNAPSHOT, SLO_SNAPSHOT):
            found = snapshots.load(conn, name)
            assert found is not None and found.computed_at == NOW


def test_the_overview_shows_snapshot_slos_with_their_time(store: str, db: psycopg.Connection) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for day in range(6):
        add_execution(db, run_id=f"r{day}", started_at=now - timedelta(days=day, hours=1))
    precompute.refresh(store, now=now)
    # Recorded after the snapshot: the overview's 24-hour counts see it, the SLO column does not yet.
    add_execution(db, run_id="late", state=FAILED, started_at=now - timedelta(minutes=1))

    with TestClient(create_app(lambda: store, lambda: None)) as client:
        overview = client.get("/api/overview").json()
        page = client.get("/").text
    cinema = next(s for s in overview["scrapers"] if s["scraper"] == "cinema_city")
    assert cinema["failed"] == 1
    assert (cinema["slo"]["runs"], cinema["slo"]["success_rate"]) == (6, 1.0)
    assert datetime.fromisoformat(overview["slo_as_of"]) == now
    assert f"7 days to {now:%Y-%m-%d %H:%M} UTC" in page


def test_the_overview_degrades_the_slo_column_when_the_store_is_too_slow_for_it(
    store: str, db: psycopg.Connection
) -> None:
    add_execution(db, run_id="r1", started_at=datetime.now(UTC) - timedelta(hours=1))
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        # Another session holds the snapshots table: reading it waits past the statement timeout.
        with psycopg.connect(store) as other, other.transaction():
            other.execute("LOCK TABLE snapshots IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        with TestClient(create_app(lambda: store, lambda: None)) as client:
            response = client.get("/api/overview")
            page = client.get("/")
    finally:
        release.set()
        holder.join()
    assert response.status_code == 200 and page.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["total"] == 1 and body["slo_as_of"] is None
    assert "scraper_monitor_snapshots" in body["slo_error"]
    assert all(s["slo"] is None for s in body["scrapers"])
    assert "is it running?" in page.text


def test_snapshot_dag_refreshes_them_under_real_airflow(
    dagbag: Any, store: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SCRAPER_MONITOR_DB", postgres_connection(store))
    monkeypatch.delenv("SCRAPER_MONITOR_DSN", raising=False)
    add_execution(db, run_id="r1", state=SUCCESS, started_at=datetime.now(UTC) - timedelta(hours=1))
    dag = dagbag.get_dag("scraper_monitor_snapshots")
    assert dag.schedule == "*/5 * * * *" and dag.max_active_runs == 1 and not dag.catchup

    before = datetime.now(UTC)
    run = dag.test()

    assert run.state == "success"
    with connect(store) as conn:
        found = {name: snapshots.load(conn, name) for name in (metrics.METRICS_SNAPSHOT, SLO_SNAPSHOT)}
    for name, snap in found.items():
        assert snap is not None, name
        assert before <= snap.computed_at <= datetime.now(UTC)
    assert {s["scraper"] for s in found[SLO_SNAPSHOT].body} >= {"cinema_city", "kino_krakow"}
