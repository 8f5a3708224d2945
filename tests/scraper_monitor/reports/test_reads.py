"""The reports' reads and filter validation (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from scraper_monitor.reports import base, errors, executions, history, overview, silent, trends
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store import migrate
from scraper_monitor.store.db import connect
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.persist import save
from scraper_monitor.store.rollup import rollup
from scraper_monitor.store.rows import Execution
from tests.factories import T0, make_summary

NOW = T0 + timedelta(hours=1)
RUN = "scheduled__2025-11-24T10:00:00+00:00"


@pytest.fixture
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:
    migrate.upgrade(pg_dsn)
    with connect(pg_dsn) as connection:
        yield connection


@pytest.fixture
def seeded(conn: psycopg.Connection) -> psycopg.Connection:
    """cinema_city: 3 successes (1 silent), 1 retrying then its success, 1 failed, 1 skipped,
    1 upstream_failed; kino_krakow: 1 failed; plus one cinema_city success two days earlier."""
    timeout = "Read timed out after 10 s (https://www.cinema-city.pl/x)"
    network = {"error_category": "network_error", "error_type": "timeout", "fingerprint": "fp-timeout"}
    rows = [
        make_summary(map_index=0, duration_ms=1000, items=2),
        make_summary(map_index=1, duration_ms=2000, silent=True, silent_reason="showtimes_found = 0"),
        make_summary(
            map_index=2,
            try_number=1,
            state=RETRYING,
            duration_ms=500,
            error_message=timeout,
            items=3,
            **network,
        ),
        make_summary(
            map_index=2, try_number=2, duration_ms=3000, started_at=T0 + timedelta(minutes=5), items=1
        ),
        make_summary(
            map_index=3,
            state=FAILED,
            duration_ms=4000,
            error_message=timeout + " again",
            started_at=T0 + timedelta(minutes=10),
            **network,
        ),
        make_summary(task_id="plan_films", state=SKIPPED, duration_ms=100, skip_reason="nothing to plan"),
        make_summary(task_id="cinema_day.showtimes", state=UPSTREAM_FAILED, duration_ms=None),
        make_summary(
            dag_id="kino_krakow",
            scraper="kino_krakow",
            task_id="day.day_pages",
            state=FAILED,
            error_category="data_quality_error",
            error_type="selector_missing",
            error_message="table.repert missing",
            fingerprint="fp-selector",
        ),
        make_summary(run_id="earlier", started_at=T0 - timedelta(days=2), counts={"showtimes_found": 40}),
    ]
    for summary in rows:
        save(conn, summary)
    return conn


def test_every_query_answers_an_empty_store(conn: psycopg.Connection) -> None:
    assert executions.list_executions(conn) == []
    assert executions.failures(conn) == []
    assert overview.stats(conn) == []
    assert errors.top_errors(conn) == []
    assert silent.silent_failures(conn) == []
    assert trends.daily_rows(conn) == []
    assert executions.of_run(conn, "d", "r") == []
    assert executions.item_outcomes_of_run(conn, "d", "r") == []
    assert executions.item_outcome_counts_of_run(conn, "d", "r") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"state": "failure"}, "unknown state 'failure'; expected one of success, failed"),
        ({"state": "completed"}, "unknown state"),
        ({"category": "tmdb_error"}, "unknown category 'tmdb_error'; expected one of validation_error"),
        ({"scraper": "cinema city"}, "scraper must be 1-250 letters"),
        ({"task_id": ""}, "task_id must be"),
        ({"error_type": "x'; DROP TABLE t;--"}, "error_type must be"),
        ({"since": "yesterday"}, "since must be a datetime"),
        ({"since": T0, "until": T0}, "must be before until"),
        ({"silent": "yes"}, "silent must be true or false"),
    ],
)
def test_filter_rejects_bad_values(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ExecutionFilter(**fields)


def test_filter_reads_naive_times_as_utc() -> None:
    assert ExecutionFilter(since=datetime(2025, 1, 1)).since == datetime(2025, 1, 1, tzinfo=UTC)


def _keys(rows: list[Execution]) -> list[tuple[str, int, int]]:
    return [(r.task_id, r.map_index, r.try_number) for r in rows]


def test_list_executions_filters(seeded: psycopg.Connection) -> None:
    def listed(**fields: object) -> list[tuple[str, int, int]]:
        return _keys(executions.list_executions(seeded, ExecutionFilter(**fields), limit=100))

    assert len(listed()) == 9
    assert listed(scraper="kino_krakow") == [("day.day_pages", 0, 1)]
    assert listed(dag_id="kino_krakow") == listed(scraper="kino_krakow")
    assert listed(task_id="plan_films") == [("plan_films", 0, 1)]
    assert listed(state=RETRYING) == [("cinema_day.cinema_dates", 2, 1)]
    assert listed(category="data_quality_error") == [("day.day_pages", 0, 1)]
    assert len(listed(error_type="timeout")) == 2
    assert listed(silent=True) == [("cinema_day.cinema_dates", 1, 1)]
    assert len(listed(since=T0 - timedelta(hours=1))) == 8
    assert listed(until=T0) == [("cinema_day.cinema_dates", 0, 1)]
    assert listed(since=T0 + timedelta(minutes=1), scraper="cinema_city") == [
        ("cinema_day.cinema_dates", 3, 1),
        ("cinema_day.cinema_dates", 2, 2),
    ]  # newest first
    page = executions.list_executions(seeded, limit=2, offset=1)
    assert _keys(page) == _keys(executions.list_executions(seeded, limit=100))[1:3]
    with pytest.raises(ValueError, match="limit must be a whole number from 1 to 1000"):
        executions.list_executions(seeded, limit=0)


def test_failures_are_failed_and_retrying_tries(seeded: psycopg.Connection) -> None:
    assert {r.state for r in executions.failures(seeded)} == {FAILED, RETRYING}
    assert len(executions.failures(seeded)) == 3
    only_failed = executions.failures(seeded, ExecutionFilter(state=FAILED, category="network_error"))
    assert _keys(only_failed) == [("cinema_day.cinema_dates", 3, 1)]
    with pytest.raises(ValueError, match="failures are failed or retrying"):
        executions.failures(seeded, ExecutionFilter(state=SUCCESS))


def test_stats_follow_the_documented_definitions(seeded: psycopg.Connection) -> None:
    cinema, kino = overview.stats(seeded, hours=24, now=NOW)
    assert (cinema.scraper, cinema.total) == ("cinema_city", 7)
    assert (cinema.success, cinema.failed, cinema.retrying) == (3, 1, 1)
    assert (cinema.skipped, cinema.upstream_failed, cinema.silent) == (1, 1, 1)
    # 3 successes (the silent one included) over 3 + 1 final tries; retrying/skipped/upstream left out.
    assert cinema.success_rate == pytest.approx(0.75)
    durations = [1000, 2000, 500, 3000, 4000, 100]  # every try that ran
    assert cinema.avg_duration_ms == pytest.approx(sum(durations) / len(durations))
    # Continuous percentile: sorted [100, 500, 1000, 2000, 3000, 4000], rank 0.95 * 5 = 4.75.
    assert cinema.p95_duration_ms == pytest.approx(3000 + 0.75 * (4000 - 3000))
    assert (kino.total, kino.failed, kino.success_rate) == (1, 1, 0.0)
    assert overview.stats(seeded, hours=24, scraper="kino_krakow", now=NOW) == [kino]
    assert overview.stats(seeded, hours=24, now=T0 + timedelta(days=5)) == []
    assert base.success_rate(0, 0) is None


def test_top_errors_group_by_fingerprint(seeded: psycopg.Connection) -> None:
    timeout, selector = errors.top_errors(seeded, hours=24, now=NOW)
    assert (timeout.fingerprint, timeout.count, timeout.error_category) == ("fp-timeout", 2, "network_error")
    assert timeout.example_message is not None and timeout.example_message.endswith("again")  # the latest
    assert timeout.scrapers == ["cinema_city"]
    assert (timeout.first_seen, timeout.last_seen) == (T0, T0 + timedelta(minutes=10))
    assert (selector.fingerprint, selector.count, selector.scrapers) == ("fp-selector", 1, ["kino_krakow"])
    assert errors.top_errors(seeded, hours=24, limit=1, now=NOW) == [timeout]


def test_silent_failures(seeded: psycopg.Connection) -> None:
    (row,) = silent.silent_failures(seeded, hours=24, now=NOW)
    assert (row.map_index, row.silent_reason) == (1, "showtimes_found = 0")
    assert silent.silent_failures(seeded, hours=24, scraper="kino_krakow", now=NOW) == []


def test_trends_read_the_rollups(seeded: psycopg.Connection, pg_dsn: str) -> None:
    assert trends.daily_rows(seeded, days=7, today=T0.date()) == []  # nothing rolled up yet
    rollup(pg_dsn, T0.date() - timedelta(days=7), T0.date())
    rows = trends.daily_rows(seeded, days=7, today=T0.date())
    by_key = {(r.day, r.scraper): r for r in rows}
    assert len(by_key) == len(rows)  # one row per scraper and day
    earlier = by_key[(T0.date() - timedelta(days=2), "cinema_city")]
    assert (earlier.executions, earlier.success, earlier.success_rate, earlier.errors) == (1, 1, 1.0, {})
    today = by_key[(T0.date(), "cinema_city")]
    assert (today.failed, today.retrying, today.errors) == (1, 1, {"network_error": 2})
    assert (today.success, today.skipped, today.upstream_failed, today.silent) == (3, 1, 1, 1)
    assert today.executions == 7 and today.success_rate == 0.75
    assert {r.scraper for r in trends.daily_rows(seeded, days=7, scraper="kino_krakow", today=T0.date())} == {
        "kino_krakow"
    }
    assert trends.daily_rows(seeded, days=1, today=T0.date() - timedelta(days=1)) == []


def test_one_run(seeded: psycopg.Connection) -> None:
    rows = executions.of_run(seeded, "cinema_city", RUN)
    assert _keys(rows)[:4] == [
        ("cinema_day.cinema_dates", 0, 1),
        ("cinema_day.cinema_dates", 1, 1),
        ("cinema_day.cinema_dates", 2, 1),
        ("cinema_day.cinema_dates", 2, 2),
    ]
    assert len(rows) == 7
    items = executions.item_outcomes_of_run(seeded, "cinema_city", RUN)
    assert [(i.map_index, i.try_number) for i in items] == [(0, 1)] * 2 + [(2, 1)] * 3 + [(2, 2)]
    # The chain view counts the latest try only: map index 2 has one item, not four.
    counts = executions.item_outcome_counts_of_run(seeded, "cinema_city", RUN)
    assert [(c.task_id, c.map_index, c.outcome, c.items) for c in counts] == [
        ("cinema_day.cinema_dates", 0, "created", 2),
        ("cinema_day.cinema_dates", 2, "created", 1),
    ]


def test_recent_counts_newest_first(conn: psycopg.Connection, pg_dsn: str) -> None:
    for day, found in enumerate([10, 20, 30, 40]):
        save(
            conn, make_summary(run_id=f"r{day}", started_at=T0 + timedelta(days=day), counts={"found": found})
        )
    save(
        conn,
        make_summary(run_id="failed", state=FAILED, started_at=T0 + timedelta(days=9), counts={"found": 0}),
    )
    save(conn, make_summary(run_id="other", started_at=T0 + timedelta(days=9), counts={"other": 1}))
    save(conn, make_summary(run_id="f", task_id="other_task", counts={"found": 99}))
    assert history.recent_counts(conn, "cinema_city", "cinema_day.cinema_dates", "found", 3, city=None) == [
        40,
        30,
        20,
    ]


def test_recent_counts_are_the_citys_own(conn: psycopg.Connection) -> None:
    """The below-median rule compares a city's run with that city's runs: Warsaw's 8 cinemas are no
    drop from Kraków's 12, and runs without a city (other DAGs, rows from before cities) stay apart."""
    for day in range(3):
        started = T0 + timedelta(days=day)
        save(conn, make_summary(run_id=f"k{day}", city="Kraków", started_at=started, counts={"found": 12}))
        save(conn, make_summary(run_id=f"w{day}", city="warszawa", started_at=started, counts={"found": 8}))
    save(conn, make_summary(run_id="none", started_at=T0, counts={"found": 99}))

    def recent(city: str | None) -> list[int]:
        return history.recent_counts(conn, "cinema_city", "cinema_day.cinema_dates", "found", 5, city=city)

    assert recent("krakow") == [12, 12, 12]
    assert recent("warszawa") == [8, 8, 8]
    assert recent(None) == [99]
    assert recent("gdansk") == []


@pytest.mark.parametrize("city", ["krakow", None])
def test_the_history_lookup_reads_its_index_newest_first_instead_of_every_try_of_the_dag(
    conn: psycopg.Connection, city: str | None
) -> None:
    """Read on the write path of every summary, under a deadline: without migration 0012's index it
    walked every try of the DAG and sorted them (5 s cold on the 10-million-execution store, so the
    below-median rule quietly judged without history)."""
    # 40,000 tries of one DAG: 4 tasks x 5 cities (and none) x 4 states, most of them with counts.
    conn.execute(
        """
        INSERT INTO task_executions (dag_id, run_id, task_id, map_index, try_number, scraper, state,
                                     started_at, recorded_at, city, counts)
        SELECT 'cinema_city', 'r' || n, (ARRAY['sync', 'cinema_day.cinema_dates', 'cinema_day.showtimes',
                'movie_details'])[n %% 4 + 1], -1, 1, 'cinema_city',
               (ARRAY['success', 'success', 'failed', 'skipped'])[n / 4 %% 4 + 1],
               %(t0)s + n * interval '1 minute', %(t0)s + n * interval '1 minute',
               (ARRAY['krakow', 'warszawa', 'gdansk', 'poznan', 'wroclaw', NULL])[n / 16 %% 6 + 1],
               CASE WHEN n %% 5 <> 0 THEN jsonb_build_object('found', n) ELSE '{}'::jsonb END
        FROM generate_series(1, 40000) AS n
        """,
        {"t0": T0},
    )
    conn.execute("ANALYZE task_executions")
    args = ("cinema_city", "cinema_day.cinema_dates", "found", 3)
    assert len(history.recent_counts(conn, *args, city=city)) == 3
    query, params = history.lookup(*args, city)
    plan = "\n".join(row["QUERY PLAN"] for row in conn.execute(sql.SQL("EXPLAIN ") + query, params))
    assert "ix_task_executions_history" in plan and "Sort" not in plan, plan
