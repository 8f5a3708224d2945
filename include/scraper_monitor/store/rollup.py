"""Daily rollups: execution_daily and item_daily from the raw rows, and scraper_daily (execution_daily
summed over tasks: what the trends panel reads) from execution_daily.

The unit of recomputation is one (day, scraper): the rollup rows of a key are replaced by the fresh
aggregates of that key's raw rows, and no other key is touched. A day is the UTC date of
``started_at``, falling back to ``recorded_at``; an item outcome belongs to its execution's day, so
pruning an execution and its items never splits a day between rolled-up and raw data.

Raw rows are complete only from the retention watermark on (``retention_watermark``, moved by
``store.retention.prune``). Below it the rollups are all that remains, so they are never recomputed:
a row that arrives late for such a day is *added* to them when the next prune deletes it. Keys whose
raw rows change after the regular two-day window (a spool replayed after a long outage) are listed in
``rollup_pending`` by the writer and rolled up by ``rollup_recent`` whatever their age.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
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
           coalesce(city, '') AS city,
           count(*) AS executions,
           count(*) FILTER (WHERE silent) AS silent,
           coalesce(sum(duration_ms), 0) AS duration_ms_sum,
           max(duration_ms) AS duration_ms_max
    FROM task_executions
    WHERE coalesce(started_at, recorded_at) >= %(start)s
      AND coalesce(started_at, recorded_at) < %(end)s
      AND (%(scrapers)s::text[] IS NULL OR scraper = ANY(%(scrapers)s::text[]))
    GROUP BY 1, 2, 3, 4, 5, 6
), keys AS (
    SELECT DISTINCT day, scraper FROM fresh
), upserted AS (
    INSERT INTO execution_daily (day, scraper, task_id, state, error_category, city,
                                 executions, silent, duration_ms_sum, duration_ms_max)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, task_id, state, error_category, city) DO UPDATE SET
        executions = EXCLUDED.executions,
        silent = EXCLUDED.silent,
        duration_ms_sum = EXCLUDED.duration_ms_sum,
        duration_ms_max = EXCLUDED.duration_ms_max
    RETURNING 1
), stale AS (
    DELETE FROM execution_daily d
    USING keys k
    WHERE (d.day, d.scraper) = (k.day, k.scraper)
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE (f.day, f.scraper, f.task_id, f.state, f.error_category, f.city)
              = (d.day, d.scraper, d.task_id, d.state, d.error_category, d.city))
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM stale)
"""

# Keyed by the executions of the range: a key whose items all went still has its stale rows removed.
_ITEM_DAILY = """
WITH fresh AS (
    SELECT (coalesce(e.started_at, e.recorded_at) AT TIME ZONE 'UTC')::date AS day,
           i.scraper, i.entity_type, i.outcome, count(*) AS items
    FROM item_outcomes i
    JOIN task_executions e ON e.id = i.execution_id
    WHERE coalesce(e.started_at, e.recorded_at) >= %(start)s
      AND coalesce(e.started_at, e.recorded_at) < %(end)s
      AND (%(scrapers)s::text[] IS NULL OR e.scraper = ANY(%(scrapers)s::text[]))
    GROUP BY 1, 2, 3, 4
), keys AS (
    SELECT DISTINCT (coalesce(started_at, recorded_at) AT TIME ZONE 'UTC')::date AS day, scraper
    FROM task_executions
    WHERE coalesce(started_at, recorded_at) >= %(start)s
      AND coalesce(started_at, recorded_at) < %(end)s
      AND (%(scrapers)s::text[] IS NULL OR scraper = ANY(%(scrapers)s::text[]))
), upserted AS (
    INSERT INTO item_daily (day, scraper, entity_type, outcome, items)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, entity_type, outcome) DO UPDATE SET items = EXCLUDED.items
    RETURNING 1
), stale AS (
    DELETE FROM item_daily d
    USING keys k
    WHERE (d.day, d.scraper) = (k.day, k.scraper)
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
    SELECT day, scraper, error_category, city,
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
    GROUP BY day, scraper, error_category, city
), upserted AS (
    INSERT INTO scraper_daily (day, scraper, error_category, city, executions, success, failed, retrying,
                               skipped, upstream_failed, silent, duration_ms_sum)
    SELECT * FROM fresh
    ON CONFLICT (day, scraper, error_category, city) DO UPDATE SET
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
          WHERE (f.day, f.scraper, f.error_category, f.city) = (d.day, d.scraper, d.error_category, d.city))
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM stale)
"""

# Raw rows of days already pruned (below the watermark) arrived late: added to the rollups, not
# recomputed (the other rows of those days are gone). prune() deletes them right after.
_ADD_LATE_EXECUTIONS = """
INSERT INTO execution_daily AS d (day, scraper, task_id, state, error_category, city,
                                  executions, silent, duration_ms_sum, duration_ms_max)
SELECT (coalesce(started_at, recorded_at) AT TIME ZONE 'UTC')::date, scraper, task_id, state,
       coalesce(error_category, ''), coalesce(city, ''), count(*), count(*) FILTER (WHERE silent),
       coalesce(sum(duration_ms), 0), max(duration_ms)
FROM task_executions
WHERE coalesce(started_at, recorded_at) < %(before)s
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (day, scraper, task_id, state, error_category, city) DO UPDATE SET
    executions = d.executions + EXCLUDED.executions,
    silent = d.silent + EXCLUDED.silent,
    duration_ms_sum = d.duration_ms_sum + EXCLUDED.duration_ms_sum,
    duration_ms_max = greatest(d.duration_ms_max, EXCLUDED.duration_ms_max)
RETURNING day
"""

_ADD_LATE_ITEMS = """
INSERT INTO item_daily AS d (day, scraper, entity_type, outcome, items)
SELECT (coalesce(e.started_at, e.recorded_at) AT TIME ZONE 'UTC')::date, i.scraper, i.entity_type,
       i.outcome, count(*)
FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id
WHERE coalesce(e.started_at, e.recorded_at) < %(before)s
GROUP BY 1, 2, 3, 4
ON CONFLICT (day, scraper, entity_type, outcome) DO UPDATE SET items = d.items + EXCLUDED.items
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
    pending_keys: int = 0  # older (day, scraper) keys rolled up because their raw rows changed


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def watermark(conn: psycopg.Connection) -> date | None:
    """The day before which raw rows were pruned (None: never pruned)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute("SELECT pruned_before FROM retention_watermark").fetchone()
    return row[0] if row else None


def refresh(
    conn: psycopg.Connection,
    first_day: date | None,
    last_day: date,
    scrapers: Sequence[str] | None = None,
) -> RollupReport:
    """Recompute the (day, scraper) keys with raw rows in ``first_day``..``last_day`` (inclusive;
    ``scrapers`` only, when given) on an open connection, inside the caller's transaction if there
    is one. Days below the retention watermark are left as they are (see the module docstring)."""
    if first_day is not None and first_day > last_day:
        raise ValueError(f"first day {first_day} is after last day {last_day}")
    floor = watermark(conn)
    start_day = max(d for d in (first_day, floor) if d is not None) if (first_day or floor) else None
    if start_day is not None and start_day > last_day:
        return RollupReport(first_day, last_day, 0, 0, 0)
    bounds = {
        "start": _EPOCH if start_day is None else day_start(start_day),
        "end": day_start(last_day + timedelta(days=1)),
        "scrapers": list(scrapers) if scrapers is not None else None,
    }
    with conn.cursor(row_factory=tuple_row) as cur:
        executions, stale_executions = cur.execute(_EXECUTION_DAILY, bounds).fetchone() or (0, 0)
        items, stale_items = cur.execute(_ITEM_DAILY, bounds).fetchone() or (0, 0)
    # After execution_daily, in the same transaction: it reads what the statements above wrote.
    stale_scraper_days = _refresh_scraper_daily(conn, bounds["start"].date(), last_day)
    return RollupReport(
        first_day, last_day, executions, items, stale_executions + stale_items + stale_scraper_days
    )


def _refresh_scraper_daily(conn: psycopg.Connection, first_day: date, last_day: date) -> int:
    with conn.cursor(row_factory=tuple_row) as cur:
        days = {**_STATES, "first_day": first_day, "last_day": last_day}
        _, stale = cur.execute(_SCRAPER_DAILY, days).fetchone() or (0, 0)
    return stale


def add_late_rows(conn: psycopg.Connection, before: date) -> int:
    """Add the raw rows of days before ``before`` (already pruned once) to the rollups; the caller
    deletes them in the same transaction. Returns how many (day, scraper, ...) rollup rows grew."""
    params = {"before": day_start(before)}
    with conn.cursor(row_factory=tuple_row) as cur:
        days = [day for (day,) in cur.execute(_ADD_LATE_EXECUTIONS, params).fetchall()]
        cur.execute(_ADD_LATE_ITEMS, params)
    if days:
        _refresh_scraper_daily(conn, min(days), max(days))
    return len(days)


def refresh_pending(conn: psycopg.Connection) -> int:
    """Roll up the (day, scraper) keys the writer listed as changed after their day's regular
    rollup, then forget them. Returns how many keys were rolled up."""
    with conn.cursor(row_factory=tuple_row) as cur:
        keys = cur.execute("DELETE FROM rollup_pending RETURNING day, scraper").fetchall()
    by_day: dict[date, list[str]] = {}
    for day, scraper in keys:
        by_day.setdefault(day, []).append(scraper)
    for day, scrapers in sorted(by_day.items()):
        refresh(conn, day, day, scrapers)
    return len(keys)


def rollup(dsn: str, first_day: date, last_day: date) -> RollupReport:
    with connect(dsn, statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn, conn.transaction():
        return refresh(conn, first_day, last_day)


def rollup_recent(dsn: str, days: int, today: date | None = None) -> RollupReport:
    """Recompute the last ``days`` days, today (UTC) included, and every key listed as pending."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    last = today or datetime.now(UTC).date()
    with connect(dsn, statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn, conn.transaction():
        report = refresh(conn, last - timedelta(days=days - 1), last)
        pending = refresh_pending(conn)
    return dataclasses.replace(report, pending_keys=pending)
