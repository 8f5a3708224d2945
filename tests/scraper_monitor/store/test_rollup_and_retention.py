"""Daily rollups and retention (real PostgreSQL)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, STATES, SUCCESS
from scraper_monitor.store import migrate
from scraper_monitor.store.db import connect
from scraper_monitor.store.persist import save
from scraper_monitor.store.retention import prune
from scraper_monitor.store.rollup import rollup, rollup_recent
from tests.factories import count, make_summary

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CUTOFF = datetime(2025, 12, 1, tzinfo=UTC)  # midnight, 90 days before NOW


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    return pg_dsn


def _seed(dsn: str) -> list[ExecutionSummary]:
    def at(when: datetime, i: int, **fields: Any) -> ExecutionSummary:
        return make_summary(run_id=f"run_{when:%Y%m%dT%H%M%S}", map_index=i, started_at=when, **fields)

    old = NOW - timedelta(days=100)
    summaries = [
        at(old, 0, duration_ms=1000, items=2),
        at(old, 1, duration_ms=3000),
        at(old, 2, state=FAILED, error_category="network_error", duration_ms=500),
        at(old, 3, task_id="kino", scraper="kino_krakow", state=SKIPPED, items=1),
        at(NOW - timedelta(days=91), 0, state=RETRYING, error_category="network_error"),
        at(NOW - timedelta(days=91), 1, silent=True, silent_reason="showtimes_found = 0"),
        at(CUTOFF - timedelta(seconds=1), 0, items=4),
        at(CUTOFF, 0, items=1),  # the cut-off instant itself is kept
        at(NOW - timedelta(days=1), 0, items=3),
    ]
    with connect(dsn) as conn:
        for summary in summaries:
            save(conn, summary)
    return summaries


def _expected_execution_daily(summaries: list[ExecutionSummary]) -> dict[tuple, tuple]:
    groups: dict[tuple, list[ExecutionSummary]] = defaultdict(list)
    for s in summaries:
        assert s.started_at is not None
        key = (s.started_at.astimezone(UTC).date(), s.scraper, s.task_id, s.state, s.error_category or "")
        groups[key].append(s)
    return {
        key: (
            len(rows),
            sum(r.silent for r in rows),
            sum(r.duration_ms or 0 for r in rows),
            max(r.duration_ms or 0 for r in rows),
        )
        for key, rows in groups.items()
    }


def _expected_item_daily(summaries: list[ExecutionSummary]) -> dict[tuple, int]:
    found: Counter[tuple] = Counter()
    for s in summaries:
        assert s.started_at is not None
        for item in s.items:
            found[(s.started_at.astimezone(UTC).date(), s.scraper, item.entity_type, item.outcome)] += 1
    return dict(found)


def _execution_daily(dsn: str) -> dict[tuple, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT day, scraper, task_id, state, error_category, executions, silent, duration_ms_sum,"
            " duration_ms_max FROM execution_daily"
        ).fetchall()
    return {row[:5]: row[5:] for row in rows}


def _scraper_daily(dsn: str) -> dict[tuple, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT day, scraper, error_category, executions, success, failed, retrying, skipped,"
            " upstream_failed, silent, duration_ms_sum FROM scraper_daily"
        ).fetchall()
    return {row[:3]: row[3:] for row in rows}


def _scraper_daily_from(execution_daily: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """execution_daily summed over tasks, with the states as columns (what the trends panel reads)."""
    found: dict[tuple, list[int]] = {}
    for key, (executions, silent, ms_sum, _ms_max) in execution_daily.items():
        day, scraper, _task, state, category = key
        row = found.setdefault((day, scraper, category), [0] * (3 + len(STATES)))
        row[0] += executions
        row[1 + STATES.index(state)] += executions
        row[-2] += silent
        row[-1] += ms_sum
    return {key: tuple(row) for key, row in found.items()}


def _item_daily(dsn: str) -> dict[tuple, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT day, scraper, entity_type, outcome, items FROM item_daily").fetchall()
    return {row[:4]: row[4] for row in rows}


def test_rollup_matches_the_raw_rows_and_is_idempotent(store_dsn: str) -> None:
    summaries = _seed(store_dsn)
    first = rollup(store_dsn, date(2025, 1, 1), NOW.date())
    assert _execution_daily(store_dsn) == _expected_execution_daily(summaries)
    assert _item_daily(store_dsn) == _expected_item_daily(summaries)
    assert _scraper_daily(store_dsn) == _scraper_daily_from(_execution_daily(store_dsn))
    second = rollup(store_dsn, date(2025, 1, 1), NOW.date())
    assert (second.execution_rows, second.item_rows) == (first.execution_rows, first.item_rows)
    assert second.stale_rows_deleted == 0
    assert _execution_daily(store_dsn) == _expected_execution_daily(summaries)


def test_rollup_follows_rewritten_rows(store_dsn: str) -> None:
    failed = make_summary(state=FAILED, error_category="network_error", duration_ms=100)
    with connect(store_dsn) as conn:
        save(conn, failed)
        rollup(store_dsn, failed.started_at.date(), failed.started_at.date())
        fixed = make_summary(state=SUCCESS, duration_ms=200)  # same try, newer: replaces the row
        save(conn, fixed)
    report = rollup(store_dsn, fixed.started_at.date(), fixed.started_at.date())
    assert report.stale_rows_deleted == 2  # the failed row's category, in both rollups
    assert _execution_daily(store_dsn) == _expected_execution_daily([fixed])
    assert _scraper_daily(store_dsn) == _scraper_daily_from(_expected_execution_daily([fixed]))


def test_rollup_recent_covers_today(store_dsn: str) -> None:
    today = datetime.now(UTC)
    summary = make_summary(started_at=today)
    with connect(store_dsn) as conn:
        save(conn, summary)
    report = rollup_recent(store_dsn, 2)
    assert (report.first_day, report.last_day) == (today.date() - timedelta(days=1), today.date())
    assert _execution_daily(store_dsn) == _expected_execution_daily([summary])
    with pytest.raises(ValueError, match="at least 1"):
        rollup_recent(store_dsn, 0)


def test_prune_rolls_up_then_deletes_old_rows(store_dsn: str) -> None:
    summaries = _seed(store_dsn)
    old = [s for s in summaries if s.started_at and s.started_at < CUTOFF]
    kept = [s for s in summaries if s not in old]

    report = prune(store_dsn, 90, now=NOW)

    assert report.cutoff == CUTOFF
    assert report.executions_deleted == len(old) == 7
    assert report.items_deleted == sum(len(s.items) for s in old) == 7
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == len(kept)
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes") == sum(len(s.items) for s in kept)
    # The pruned days live on in the rollups, exactly as the raw rows had them.
    assert _execution_daily(store_dsn) == _expected_execution_daily(old)
    assert _item_daily(store_dsn) == _expected_item_daily(old)

    again = prune(store_dsn, 90, now=NOW)
    assert (again.executions_deleted, again.items_deleted) == (0, 0)
    # Recomputing days whose raw rows are gone must not erase their rollups.
    rollup(store_dsn, date(2025, 1, 1), NOW.date())
    expected = _expected_execution_daily(old) | _expected_execution_daily(kept)
    assert _execution_daily(store_dsn) == expected


def test_prune_rejects_a_nonsense_retention(store_dsn: str) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        prune(store_dsn, 0)


def test_a_late_row_for_a_pruned_day_adds_to_its_history_and_erases_nothing(store_dsn: str) -> None:
    day = NOW - timedelta(days=100)
    history = [
        make_summary(run_id="cc", map_index=i, started_at=day + timedelta(minutes=i), items=1)
        for i in range(10)
    ] + [
        make_summary(dag_id="kino_krakow", task_id="day.day_pages", run_id="kk", map_index=i, started_at=day)
        for i in range(7)
    ]
    with connect(store_dsn) as conn:
        for summary in history:
            save(conn, summary)
    prune(store_dsn, 90, now=NOW)
    before = _scraper_daily(store_dsn)
    assert sum(row[0] for row in before.values()) == 17

    # One row arrives for that day after it was pruned (a spool replayed late, a clock behind).
    late = make_summary(run_id="late", map_index=0, started_at=day + timedelta(hours=5), items=2)
    with connect(store_dsn) as conn:
        save(conn, late)
    report = prune(store_dsn, 90, now=NOW + timedelta(hours=1))

    assert report.executions_deleted == 1 and report.late_rollup_rows == 1
    assert _execution_daily(store_dsn) == _expected_execution_daily([*history, late])
    assert _item_daily(store_dsn) == _expected_item_daily([*history, late])
    after = _scraper_daily(store_dsn)
    assert after[(day.date(), "kino_krakow", "")] == before[(day.date(), "kino_krakow", "")]  # untouched
    assert after[(day.date(), "cinema_city", "")][0] == 11
    # Recomputing every day from the raw rows leaves the pruned history alone.
    rollup(store_dsn, date(2025, 1, 1), NOW.date())
    assert _scraper_daily(store_dsn) == after


def test_days_replayed_after_a_long_outage_are_rolled_up_whatever_their_age(store_dsn: str) -> None:
    today = datetime.now(UTC).replace(microsecond=0)
    outage = [today - timedelta(days=d) for d in (5, 4, 3)]  # tasks ran; the store was down
    spooled = [make_summary(run_id=f"r{i}", started_at=at, items=1) for i, at in enumerate(outage)]
    rollup_recent(store_dsn, 2)
    with connect(store_dsn) as conn:  # the store is back: the spool replays those days
        for summary in spooled:
            save(conn, summary)
    report = rollup_recent(store_dsn, 2)  # what the maintenance DAG runs every hour
    assert report.pending_keys == 3
    assert _execution_daily(store_dsn) == _expected_execution_daily(spooled)
    assert _scraper_daily(store_dsn) == _scraper_daily_from(_execution_daily(store_dsn))
    assert rollup_recent(store_dsn, 2).pending_keys == 0  # done once
