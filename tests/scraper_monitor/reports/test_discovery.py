"""City discovery's statistics read the per-run records (``dag_runs``, kept by triggers on
task_executions) and must say what the raw executions say: whatever wrote the rows (the writer's
upsert, a plain INSERT, a retention DELETE, a TRUNCATE), for retried and re-run runs, with runs
without a city or of an unconfigured city left out."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from scraper_monitor.discovery import SeedCity, SeedSource
from scraper_monitor.reports import discovery as report
from scraper_monitor.state import FAILED, RETRYING, UPSTREAM_FAILED
from scraper_monitor.store import dag_runs
from scraper_monitor.store import discovery as store
from scraper_monitor.store.db import connect
from scraper_monitor.store.migrate import upgrade
from tests.factories import NOW, add_execution, make_summary, save_all

# The statistics as the executions alone answer them: every run of a configured city-source whose
# first try started in the window, failed when a task instance ended failed or upstream_failed; the
# last error the newest failed try in the window.
RAW_STATS = """
WITH runs AS (
    SELECT e.dag_id, e.city, e.run_id, min(coalesce(e.started_at, e.recorded_at)) AS started,
           bool_or(e.state IN ('failed', 'upstream_failed')) AS failed
    FROM task_executions e
    JOIN discovery_sources s ON s.source = e.dag_id AND s.city = e.city
    GROUP BY e.dag_id, e.city, e.run_id
    HAVING min(coalesce(e.started_at, e.recorded_at)) >= %(since)s
), per_source AS (
    SELECT dag_id, city, count(*) AS runs, count(*) FILTER (WHERE failed) AS failed,
           (array_agg(run_id ORDER BY started DESC))[1] AS last_run_id, max(started) AS last_run_at
    FROM runs GROUP BY dag_id, city
), last_error AS (
    SELECT DISTINCT ON (e.dag_id, e.city) e.dag_id, e.city, e.error_category, e.error_message,
           coalesce(e.started_at, e.recorded_at) AS at
    FROM task_executions e
    JOIN discovery_sources s ON s.source = e.dag_id AND s.city = e.city
    WHERE e.state = 'failed' AND coalesce(e.started_at, e.recorded_at) >= %(since)s
    ORDER BY e.dag_id, e.city, coalesce(e.started_at, e.recorded_at) DESC
)
SELECT p.city, p.dag_id, p.runs, p.failed, p.last_run_id, p.last_run_at,
       l.error_category, l.error_message, l.at AS error_at
FROM per_source p LEFT JOIN last_error l USING (dag_id, city)
"""

SOURCES = (SeedSource("cinema_city", True, 24, {}), SeedSource("kino_krakow", True, 24, {}))


@pytest.fixture
def conn(pg_dsn: str):
    upgrade(pg_dsn)
    with connect(pg_dsn) as seeding:
        store.seed(
            seeding,
            "test",
            [SeedCity("krakow", "Kraków", True, SOURCES), SeedCity("warszawa", "Warszawa", True, SOURCES)],
        )
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


def from_raw(conn: psycopg.Connection, days: int) -> dict[tuple[str, str], report.SourceStats]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(RAW_STATS, {"since": NOW - timedelta(days=days)}).fetchall()
    return {(r["city"], r["dag_id"]): report.source_stats(r) for r in rows}


def agrees(conn: psycopg.Connection) -> dict[tuple[str, str], report.SourceStats]:
    """The 7-day statistics, after checking every window against the raw executions."""
    for days in (1, 7, 30):
        assert report.stats(conn, days, NOW) == from_raw(conn, days), f"{days}-day window"
    return report.stats(conn, 7, NOW)


def failing_try(conn: psycopg.Connection, run_id: str, ago: timedelta, city: str | None = "krakow") -> None:
    add_execution(
        conn,
        run_id=run_id,
        task_id="cinema_day.cinema_dates",
        map_index=0,
        state=FAILED,
        ago=ago,
        city=city,
        error_category="network_error",
        error_message=f"HTTP 503 in {run_id}",
    )


def test_the_run_records_agree_with_the_executions_whatever_wrote_them(
    conn: psycopg.Connection, pg_dsn: str
) -> None:
    day = timedelta(days=1)
    # Stored by the writer: a run whose unit failed after a retry, its batch upstream_failed.
    start = NOW - 2 * day
    save_all(
        pg_dsn,
        [
            make_summary(run_id="failed", task_id="sync", map_index=-1, started_at=start, city="Kraków"),
            make_summary(
                run_id="failed", state=RETRYING, started_at=start + timedelta(minutes=1), city="krakow"
            ),
            make_summary(
                run_id="failed",
                try_number=2,
                state=FAILED,
                started_at=start + timedelta(minutes=6),
                city="krakow",
                error_category="parse_error",
                error_message="no cinemas in the listing",
            ),
            make_summary(
                run_id="failed",
                task_id="cinema_day.showtimes",
                state=UPSTREAM_FAILED,
                started_at=None,
                duration_ms=None,
                city="krakow",
            ),
        ],
    )
    # A retry that succeeded: not a failed run. Its second try is stored twice (a spool replay).
    retried = [
        make_summary(run_id="retried", task_id="sync", map_index=-1, started_at=NOW - day, city="krakow"),
        make_summary(
            run_id="retried", state=RETRYING, started_at=NOW - day + timedelta(minutes=1), city="krakow"
        ),
        make_summary(
            run_id="retried", try_number=2, started_at=NOW - day + timedelta(minutes=6), city="krakow"
        ),
    ]
    save_all(pg_dsn, [*retried, retried[-1]])
    # Inserted directly: a run that failed, was cleared and re-ran green (it failed once: counted so),
    # a Kino Krakow run, a run without a city, a run of a city discovery does not know, an old run.
    failing_try(conn, "rerun", 3 * day)
    add_execution(
        conn,
        run_id="rerun",
        task_id="cinema_day.cinema_dates",
        map_index=0,
        try_number=2,
        ago=3 * day - timedelta(hours=1),
        city="krakow",
    )
    add_execution(conn, scraper="kino_krakow", run_id="kk", ago=5 * day, city="krakow")
    failing_try(conn, "no-city", 2 * day, city=None)
    failing_try(conn, "gdansk", 2 * day, city="gdansk")
    failing_try(conn, "old", 20 * day)

    stats = agrees(conn)
    cinema_city = stats[("krakow", "cinema_city")]
    assert (cinema_city.runs, cinema_city.succeeded, cinema_city.failed) == (3, 1, 2)
    assert cinema_city.last_run_id == "retried"
    assert (cinema_city.last_error_category, cinema_city.last_error_message) == (
        "parse_error",
        "no cinemas in the listing",
    )
    assert (stats[("krakow", "kino_krakow")].runs, stats[("krakow", "kino_krakow")].failed) == (1, 0)
    assert not any(city == "warszawa" for city, _ in stats)
    assert report.stats(conn, 30, NOW)[("krakow", "cinema_city")].runs == 4

    # Retention deletes by activity time: the records follow, a run with rows left is recounted.
    conn.execute("DELETE FROM task_executions WHERE run_id = 'rerun' AND try_number = 1")
    conn.execute("DELETE FROM task_executions WHERE run_id = 'old'")
    stats = agrees(conn)
    assert (stats[("krakow", "cinema_city")].runs, stats[("krakow", "cinema_city")].failed) == (3, 1)
    assert conn.execute("SELECT count(*) FROM dag_runs WHERE run_id = 'old'").fetchone()[0] == 0

    conn.execute("TRUNCATE task_executions CASCADE")
    assert report.stats(conn, 90, NOW) == {}
    assert conn.execute("SELECT count(*) FROM dag_runs").fetchone()[0] == 0
    # A reset of every table at once (as the tests' fixtures do) names both.
    failing_try(conn, "again", 2 * day)
    conn.execute("TRUNCATE task_executions, dag_runs RESTART IDENTITY CASCADE")
    assert conn.execute("SELECT count(*) FROM dag_runs").fetchone()[0] == 0


def test_two_tasks_of_one_run_recorded_at_once_both_count_and_neither_waits(
    conn: psycopg.Connection, pg_dsn: str
) -> None:
    """The record merges each execution into its run when its transaction commits: a writer stalled
    inside its transaction holds up no other task of the run, and neither overwrites the other."""
    with psycopg.connect(pg_dsn) as first:
        failing_try(first, "together", timedelta(hours=2))  # not committed yet

        def second() -> None:
            with psycopg.connect(pg_dsn, autocommit=True) as other:
                add_execution(other, run_id="together", ago=timedelta(hours=3), city="krakow")

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the second write waited for the first one's transaction"
        stats = report.stats(conn, 7, NOW)
        assert (stats[("krakow", "cinema_city")].runs, stats[("krakow", "cinema_city")].failed) == (1, 0)
        first.commit()
    stats = agrees(conn)
    assert (stats[("krakow", "cinema_city")].runs, stats[("krakow", "cinema_city")].failed) == (1, 1)


def test_a_bulk_load_counts_its_runs_once_at_the_end(conn: psycopg.Connection) -> None:
    with dag_runs.bulk_load(conn):
        failing_try(conn, "bulk-1", timedelta(days=1))
        add_execution(conn, run_id="bulk-2", ago=timedelta(days=2), city="krakow")
        assert conn.execute("SELECT count(*) FROM dag_runs").fetchone()[0] == 0
    stats = agrees(conn)
    assert (stats[("krakow", "cinema_city")].runs, stats[("krakow", "cinema_city")].failed) == (2, 1)
    add_execution(conn, run_id="after", ago=timedelta(hours=1), city="krakow")  # the trigger is back
    assert agrees(conn)[("krakow", "cinema_city")].runs == 3


def test_a_transaction_writing_many_tasks_of_one_run_merges_the_run_once(conn: psycopg.Connection) -> None:
    # One merge per execution would rewrite the run's row once per row, each rewrite walking the
    # versions before it: a 60,000-row insert of one run took minutes. The deferred merge is made to
    # run here (SET CONSTRAINTS ... IMMEDIATE) so this transaction's own table counters show it.
    with conn.transaction():
        for map_index in range(300):
            state = FAILED if map_index == 7 else "success"
            ago = timedelta(hours=2, seconds=map_index)
            add_execution(
                conn, run_id="wide", task_id="day", map_index=map_index, city="krakow", state=state, ago=ago
            )
        conn.execute("SET CONSTRAINTS dag_runs_on_write IMMEDIATE")
        written = conn.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'dag_runs'"
        ).fetchone()
    assert written == (1, 0)
    stats = agrees(conn)
    assert (stats[("krakow", "cinema_city")].runs, stats[("krakow", "cinema_city")].failed) == (1, 1)
