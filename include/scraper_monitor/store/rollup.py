"""Daily rollups: execution_daily and item_daily, recomputed from the raw rows for a range of days,
and scraper_daily (execution_daily summed over tasks: what the trends panel reads) from execution_daily.

Recomputing is idempotent (one statement per table: upsert the fresh aggregates, delete rollup rows
that no longer have raw rows behind them). A day is the UTC date of ``started_at``, falling back
to ``recorded_at``; an item outcome belongs to its execution's day, so pruning an execution and
its items never splits a day between rolled-up and raw data.

Days without any raw rows are left alone: after retention prunes a day, its rollup is all that
remains, and recomputing it from nothing must not erase it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import psycopg
from psycopg.rows import tuple_row

from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.db import MAINTENANCE_STATEMENT_TIMEOUT_MS, connect

_EXECUTION_DAILY = """
WITH fresh AS (
    SELECT (coalesce(started_at, recorded_at) AT TIME ZONE 'UTC')::date AS day,
           scraper, task_id, state, coalesce(error_category, '') AS error_category,
           count(*) AS executions,
           count(*) FILTER (WHERE silent) AS silent,
           coalesce(sum(duration_ms), 0) AS duration_ms_sum,
           max(duration_ms) AS duration_ms_max
    FROM task_executions
    WHERE coalesce(started_at, recorded_at) >= %(start)s
      AND coalesce(started_at, recorded_at) < %(end)s
    GROUP BY 1, 2, 3, 4, 5
), upserted AS (
    INSERT INTO execution_daily (day, scraper, task_id, state, error_category,
                                 executions, silent, duration_ms_sum, duration_ms_max)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, task_id, state, error_category) DO UPDATE SET
        executions = EXCLUDED.executions,
        silent = EXCLUDED.silent,
        duration_ms_sum = EXCLUDED.duration_ms_sum,
        duration_ms_max = EXCLUDED.duration_ms_max
    RETURNING 1
), stale AS (
    DELETE FROM execution_daily d
    WHERE d.day IN (SELECT day FROM fresh)
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE (f.day, f.scraper, f.task_id, f.state, f.error_category)
              = (d.day, d.scraper, d.task_id, d.state, d.error_category))
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM stale)
"""

_ITEM_DAILY = """
WITH fresh AS (
    SELECT (coalesce(e.started_at, e.recorded_at) AT TIME ZONE 'UTC')::date AS day,
           i.scraper, i.entity_type, i.outcome, count(*) AS items
    FROM item_outcomes i
    JOIN task_executions e ON e.id = i.execution_id
    WHERE coalesce(e.started_at, e.recorded_at) >= %(start)s
      AND coalesce(e.started_at, e.recorded_at) < %(end)s
    GROUP BY 1, 2, 3, 4
), upserted AS (
    INSERT INTO item_daily (day, scraper, entity_type, outcome, items)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, entity_type, outcome) DO UPDATE SET items = EXCLUDED.items
    RETURNING 1
), stale AS (
    DELETE FROM item_daily d
    WHERE d.day IN (SELECT day FROM fresh)
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE (f.day, f.scraper, f.entity_type, f.outcome)
              = (d.day, d.scraper, d.entity_type, d.outcome))
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM stale)
"""

# A mirror of execution_daily for the range: recomputed from it, so it never disagrees with it.
_SCRAPER_DAILY = """
WITH fresh AS (
    SELECT day, scraper, error_category,
           sum(executions)::int AS executions,
           coalesce(sum(executions) FILTER (WHERE state = %(success)s), 0)::int AS success,
           coalesce(sum(executions) FILTER (WHERE state = %(failed)s), 0)::int AS failed,
           coalesce(sum(executions) FILTER (WHERE state = %(retrying)s), 0)::int AS retrying,
           coalesce(sum(executions) FILTER (WHERE state = %(skipped)s), 0)::int AS skipped,
           coalesce(sum(executions) FILTER (WHERE state = %(upstream_failed)s), 0)::int AS upstream_failed,
           sum(silent)::int AS silent,
           sum(duration_ms_sum)::bigint AS duration_ms_sum
    FROM execution_daily
    WHERE day >= %(first_day)s AND day <= %(last_day)s
    GROUP BY day, scraper, error_category
), upserted AS (
    INSERT INTO scraper_daily (day, scraper, error_category, executions, success, failed, retrying,
                               skipped, upstream_failed, silent, duration_ms_sum)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, error_category) DO UPDATE SET
        executions = EXCLUDED.executions,
        success = EXCLUDED.success,
        failed = EXCLUDED.failed,
        retrying = EXCLUDED.retrying,
        skipped = EXCLUDED.skipped,
        upstream_failed = EXCLUDED.upstream_failed,
        silent = EXCLUDED.silent,
        duration_ms_sum = EXCLUDED.duration_ms_sum
    RETURNING 1
), stale AS (
    DELETE FROM scraper_daily d
    WHERE d.day >= %(first_day)s AND d.day <= %(last_day)s
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE (f.day, f.scraper, f.error_category) = (d.day, d.scraper, d.error_category))
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM stale)
"""

_STATES = {
    "success": SUCCESS,
    "failed": FAILED,
    "retrying": RETRYING,
    "skipped": SKIPPED,
    "upstream_failed": UPSTREAM_FAILED,
}

# Before any plausible execution: "from the beginning" for ranges that are open on the left.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RollupReport:
    first_day: date | None  # None: every day before last_day
    last_day: date
    execution_rows: int  # rollup rows written (inserted or updated)
    item_rows: int
    stale_rows_deleted: int


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def refresh(conn: psycopg.Connection, first_day: date | None, last_day: date) -> RollupReport:
    """Recompute both rollups for ``first_day``..``last_day`` (inclusive) on an open connection,
    inside the caller's transaction if there is one."""
    if first_day is not None and first_day > last_day:
        raise ValueError(f"first day {first_day} is after last day {last_day}")
    bounds = {
        "start": _EPOCH if first_day is None else day_start(first_day),
        "end": day_start(last_day + timedelta(days=1)),
    }
    days = {**_STATES, "first_day": bounds["start"].date(), "last_day": last_day}
    with conn.cursor(row_factory=tuple_row) as cur:
        executions, stale_executions = cur.execute(_EXECUTION_DAILY, bounds).fetchone() or (0, 0)
        items, stale_items = cur.execute(_ITEM_DAILY, bounds).fetchone() or (0, 0)
        # After execution_daily, in the same transaction: it reads what the statement above wrote.
        _, stale_scraper_days = cur.execute(_SCRAPER_DAILY, days).fetchone() or (0, 0)
    return RollupReport(
        first_day, last_day, executions, items, stale_executions + stale_items + stale_scraper_days
    )


def rollup(dsn: str, first_day: date, last_day: date) -> RollupReport:
    with connect(dsn, statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn, conn.transaction():
        return refresh(conn, first_day, last_day)


def rollup_recent(dsn: str, days: int, today: date | None = None) -> RollupReport:
    """Recompute the last ``days`` days, today (UTC) included."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    last = today or datetime.now(UTC).date()
    return rollup(dsn, last - timedelta(days=days - 1), last)
