"""City discovery's triggers on real Airflow (the shared stack's api-server) and a real store: one run
per due city-source and day, whatever retries, re-runs or concurrent orchestrators do.

The source is ``discovery_probe`` (tests/data/foreign_dags), paused in the stack: its runs stay
queued, so the tests count them without scraping anything. Each test uses its own day."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from scraper_monitor import discovery
from scraper_monitor.airflow import discovery as door
from scraper_monitor.discovery import SeedCity, SeedSource, SettingsRefused
from scraper_monitor.store import discovery as store
from scraper_monitor.store.db import connect
from scraper_monitor.store.migrate import upgrade
from tests.fixtures.stack import SCRAPER_MONITOR, Stack

PROBE = "discovery_probe"


def seed(dsn: str, *cities: tuple[str, bool, bool], source: str = PROBE) -> None:
    """(city, city enabled, source enabled) each, with days_ahead 2."""
    with connect(dsn) as conn:
        store.seed(
            conn,
            "test",
            [
                SeedCity(city, city.title(), city_on, (SeedSource(source, source_on, 24, {"days_ahead": 2}),))
                for city, city_on, source_on in cities
            ],
        )


def probe_runs(stack: Stack, day: datetime) -> dict[str, list[str]]:
    """city -> the discovery run ids of the probe on that day, from Airflow."""
    runs: dict[str, list[str]] = {}
    for run in stack.api().dag_runs(PROBE):
        run_id = run["dag_run_id"]
        if run_id.startswith("discovery__") and run_id.endswith(day.date().isoformat()):
            runs.setdefault(run["conf"]["city"], []).append(run_id)
    return runs


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    upgrade(pg_dsn)
    return pg_dsn


def test_run_twice_on_one_day_each_due_city_source_has_exactly_one_run(stack: Stack, store_dsn: str) -> None:
    day = datetime(2031, 1, 5, tzinfo=UTC)
    seed(store_dsn, ("ta", True, True), ("tb", True, True), ("tc", False, True), ("td", True, False))
    with connect(store_dsn) as conn:
        first = door.queue_due(stack.api(), conn, day)
        second = door.queue_due(stack.api(), conn, day + timedelta(hours=3))
        # The write-back lost (a crash between trigger and commit): the run ids still hold.
        conn.execute("UPDATE discovery_sources SET next_run_at = NULL")
        third = door.queue_due(stack.api(), conn, day + timedelta(hours=6))
    assert {(q.city, q.outcome) for q in first} == {("ta", "queued"), ("tb", "queued")}
    assert second == []  # nothing due: next_run_at was written back
    assert {(q.city, q.outcome) for q in third} == {("ta", "exists"), ("tb", "exists")}
    runs = probe_runs(stack, day)
    assert runs == {"ta": ["discovery__ta__2031-01-05"], "tb": ["discovery__tb__2031-01-05"]}
    (run,) = [r for r in stack.api().dag_runs(PROBE) if r["dag_run_id"] == "discovery__ta__2031-01-05"]
    assert run["conf"] == {"city": "ta", "days_ahead": 2}


def test_two_orchestrators_started_at_the_same_moment_leave_one_run_each(
    stack: Stack, store_dsn: str
) -> None:
    day = datetime(2031, 1, 6, tzinfo=UTC)
    cities = [f"c{i}" for i in range(4)]
    seed(store_dsn, *[(c, True, True) for c in cities])
    start = threading.Barrier(2)
    results: list[list[discovery.Queued]] = []

    def orchestrator() -> None:
        with connect(store_dsn, statement_timeout_ms=60_000) as conn:
            start.wait()
            results.append(door.queue_due(stack.api(), conn, day))

    threads = [threading.Thread(target=orchestrator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 2
    queued = sorted(q.city for result in results for q in result if q.outcome == "queued")
    assert queued == cities  # each city queued once, by one of the two
    assert probe_runs(stack, day) == {c: [discovery.run_id(c, day.date())] for c in cities}


def test_next_run_advances_only_for_the_sources_that_were_triggered(stack: Stack, store_dsn: str) -> None:
    day = datetime(2031, 1, 7, tzinfo=UTC)
    seed(store_dsn, ("na", True, True))
    seed(store_dsn, ("na", True, True), source="no_such_dag")
    with connect(store_dsn) as conn:
        results = {q.source: q for q in door.queue_due(stack.api(), conn, day)}
        assert results[PROBE].outcome == "queued"
        assert results["no_such_dag"].outcome == "failed"
        assert "Airflow has no DAG 'no_such_dag'" in results["no_such_dag"].detail
        after = {e.source: e for e in store.load(conn, city="na")}
    assert after[PROBE].next_run_at == day + timedelta(hours=24)
    assert after[PROBE].last_run_id == "discovery__na__2031-01-07"
    assert after["no_such_dag"].next_run_at is None  # still due: the next run tries again


def test_a_dry_run_says_what_would_be_queued_and_changes_nothing(stack: Stack, store_dsn: str) -> None:
    day = datetime(2031, 1, 8, tzinfo=UTC)
    seed(store_dsn, ("dr", True, True))
    with connect(store_dsn) as conn:
        (planned,) = door.queue_due(stack.api(), conn, day, dry_run=True)
        (entry,) = store.load(conn, city="dr")
    assert (planned.outcome, planned.run_id) == ("planned", "discovery__dr__2031-01-08")
    assert planned.detail == "city=dr, days_ahead=2"
    assert entry.next_run_at is None
    assert "dr" not in probe_runs(stack, day)


def test_settings_are_checked_against_the_real_dag_and_a_refusal_saves_nothing(
    stack: Stack, store_dsn: str
) -> None:
    seed(store_dsn, ("sa", True, True))
    with pytest.raises(SettingsRefused) as refused:
        door.checked_settings(stack.api(), PROBE, {"days_ahead": 99})
    assert "99 is greater than the maximum of 7" in refused.value.problems["days_ahead"]

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        env = stack.env | {
            "AIRFLOW_USERNAME": stack.login["username"],
            "AIRFLOW_PASSWORD": stack.login["password"],
        }
        return subprocess.run(
            [SCRAPER_MONITOR, "discovery", *argv, "--dsn", store_dsn],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad = cli(
        "set",
        "sa",
        PROBE,
        "--setting",
        "days_ahead=99",
        "--frequency-hours",
        "12",
        "--airflow-url",
        stack.api_url,
    )
    assert bad.returncode == 2
    assert "days_ahead: 99 is greater than the maximum of 7" in bad.stderr
    good = cli("set", "sa", PROBE, "--setting", "days_ahead=5", "--airflow-url", stack.api_url, "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["changes"] == ['settings {"days_ahead": 2} -> {"days_ahead": 5}']
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute(
            "SELECT frequency_hours, settings FROM discovery_sources WHERE city = 'sa'"
        ).fetchone()
        changes = conn.execute(
            "SELECT actor, change FROM discovery_changes WHERE city = 'sa' ORDER BY id"
        ).fetchall()
    assert row == (24, {"days_ahead": 5})  # the refused call changed neither field
    assert changes[-1][0].startswith("cli:") and changes[-1][1].startswith("settings")
    assert len(changes) == 3  # the city and source added, then the one accepted change
