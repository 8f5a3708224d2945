"""Read helpers shared by the CLI, the panels and the alerts, so they all count the same way.

Definitions:

- Time windows ("last N hours", ``since``/``until``) apply to ``started_at`` (indexed), so a row
  without one (a task that never started) is in no window. Trends read the daily rollups, whose
  day is the UTC date of ``started_at`` (else ``recorded_at``).
- Every row is one try. A *final* try is one in state ``success`` or ``failed`` (``failed`` means no
  tries were left); a ``retrying`` try is followed by another try of the same task instance.
- success rate = success / (success + failed), over final tries only. ``retrying`` tries, ``skipped``
  tasks (they had nothing to do: expected, not an error) and ``upstream_failed`` tasks (they never
  ran) are left out. Silent successes count as successes here and are reported separately in
  ``silent``. With no final tries the rate is None ("no data"), never 0 or 100 %.
- Durations (average and 95th percentile, continuous) cover every try that ran, i.e. every state
  but ``upstream_failed``, that has a duration.
- Failures are tries in ``failed`` or ``retrying`` (``scraper_monitor.state.ERROR_STATES``).

State names come only from ``scraper_monitor.state`` and reach SQL as parameters.

Every helper takes an open psycopg connection (``scraper_monitor.store.db.connect`` gives one with
short timeouts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import args_row, class_row, dict_row, tuple_row

from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import (
    ErrorGroup,
    Execution,
    ItemOutcomeCount,
    ItemOutcomeRow,
    ScraperStats,
    TrendRow,
)

MAX_LIMIT = 1000
MAX_HOURS = 24 * 400
MAX_DAYS = 400

_STATE_PARAMS = {
    "success": SUCCESS,
    "failed": FAILED,
    "retrying": RETRYING,
    "skipped": SKIPPED,
    "upstream_failed": UPSTREAM_FAILED,
    "error_states": sorted(ERROR_STATES),
}


# Built from the dataclass, so a column added to Execution is selected everywhere.
EXECUTION_COLUMNS = sql.SQL(", ").join(sql.Identifier(f.name) for f in fields(Execution))


def success_rate(success: int, failed: int) -> float | None:
    """success / (success + failed); None without final tries (see the module docstring)."""
    return success / (success + failed) if success + failed else None


def _check_range(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _since(hours: int, now: datetime | None) -> datetime:
    _check_range("hours", hours, 1, MAX_HOURS)
    return (now or datetime.now(UTC)) - timedelta(hours=hours)


def list_executions(
    conn: psycopg.Connection, filters: ExecutionFilter | None = None, limit: int = 50, offset: int = 0
) -> list[Execution]:
    """Newest first (by started_at; rows without one last)."""
    return _executions(conn, filters or ExecutionFilter(), limit, offset, errors_only=False)


def iter_executions(conn: psycopg.Connection, filters: ExecutionFilter, max_rows: int) -> Iterator[Execution]:
    """The newest ``max_rows`` matching rows, in the order of ``list_executions`` (exports stream this).

    One query read through a server-side cursor: one snapshot for the whole file and a constant cost
    per row. Paging with OFFSET re-read every earlier row for each page, which made a 100,000-row
    export quadratic. Opens a transaction on ``conn`` for as long as the iterator is read.
    """
    where, params = filters.where()
    query = sql.SQL(
        "SELECT {} FROM task_executions WHERE {}"
        " ORDER BY started_at DESC NULLS LAST, id DESC LIMIT %(max_rows)s"
    ).format(EXECUTION_COLUMNS, where)
    with conn.transaction(), conn.cursor("export", row_factory=class_row(Execution)) as cur:
        cur.itersize = MAX_LIMIT
        yield from cur.execute(query, {**params, "max_rows": max_rows})


def failures(
    conn: psycopg.Connection, filters: ExecutionFilter | None = None, limit: int = 20, offset: int = 0
) -> list[Execution]:
    """Failed and retrying tries, newest first; ``filters.state`` may narrow to one of the two."""
    filters = filters or ExecutionFilter()
    if filters.state is not None and filters.state not in ERROR_STATES:
        raise ValueError(f"failures are {FAILED} or {RETRYING} tries; got state {filters.state!r}")
    return _executions(conn, filters, limit, offset, errors_only=True)


def silent_failures(
    conn: psycopg.Connection,
    hours: int = 24,
    limit: int = 100,
    scraper: str | None = None,
    now: datetime | None = None,
) -> list[Execution]:
    return list_executions(
        conn, ExecutionFilter(scraper=scraper, silent=True, since=_since(hours, now)), limit
    )


def executions_for_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[Execution]:
    """Every try of every task of one DAG run, in task, map index and try order."""
    query = sql.SQL(
        "SELECT {columns} FROM task_executions WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s"
        " ORDER BY task_id, map_index, try_number"
    ).format(columns=EXECUTION_COLUMNS)
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, {"dag_id": dag_id, "run_id": run_id}).fetchall()


def item_outcomes_for_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[ItemOutcomeRow]:
    """Item outcomes of every try of one DAG run (a try's items are replaced when it is re-written)."""
    query = """
        SELECT i.execution_id, e.task_id, e.map_index, e.try_number, i.scraper, i.entity_type,
               i.external_id, i.outcome, i.category, i.reason, i.recorded_at
        FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id
        WHERE e.dag_id = %(dag_id)s AND e.run_id = %(run_id)s
        ORDER BY e.task_id, e.map_index, e.try_number, i.id
    """
    with conn.cursor(row_factory=class_row(ItemOutcomeRow)) as cur:
        return cur.execute(query, {"dag_id": dag_id, "run_id": run_id}).fetchall()


def item_outcome_counts_for_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[ItemOutcomeCount]:
    """Outcome counts of each task instance's latest try in one DAG run."""
    query = """
        WITH latest AS (
            SELECT DISTINCT ON (task_id, map_index) id, task_id, map_index
            FROM task_executions
            WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s
            ORDER BY task_id, map_index, try_number DESC
        )
        SELECT l.task_id, l.map_index, i.outcome, count(*) AS items
        FROM latest l JOIN item_outcomes i ON i.execution_id = l.id
        GROUP BY l.task_id, l.map_index, i.outcome
        ORDER BY l.task_id, l.map_index, i.outcome
    """
    with conn.cursor(row_factory=class_row(ItemOutcomeCount)) as cur:
        return cur.execute(query, {"dag_id": dag_id, "run_id": run_id}).fetchall()


def stats(
    conn: psycopg.Connection,
    hours: int = 24,
    scraper: str | None = None,
    now: datetime | None = None,
    task_id: str | None = None,
) -> list[ScraperStats]:
    """Per scraper over the last ``hours``, optionally of one task only (see the module docstring)."""
    where, params = ExecutionFilter(scraper=scraper, task_id=task_id, since=_since(hours, now)).where()
    # The durations are gathered per scraper by a hash aggregate and the percentile taken over each
    # array: an ordered-set aggregate made PostgreSQL sort every row of the window by scraper first
    # (a third slower over the ~110,000 rows of 24 hours at 10 M executions).
    query = sql.SQL("""
        WITH per_scraper AS (
            SELECT scraper,
                   count(*) AS total,
                   count(*) FILTER (WHERE state = %(success)s) AS success,
                   count(*) FILTER (WHERE state = %(failed)s) AS failed,
                   count(*) FILTER (WHERE state = %(retrying)s) AS retrying,
                   count(*) FILTER (WHERE state = %(skipped)s) AS skipped,
                   count(*) FILTER (WHERE state = %(upstream_failed)s) AS upstream_failed,
                   count(*) FILTER (WHERE silent) AS silent,
                   (avg(duration_ms) FILTER (WHERE state <> %(upstream_failed)s))::float8 AS avg_duration_ms,
                   array_agg(duration_ms)
                       FILTER (WHERE state <> %(upstream_failed)s AND duration_ms IS NOT NULL) AS durations
            FROM task_executions
            WHERE {where}
            GROUP BY scraper
        )
        SELECT scraper, total, success, failed, retrying, skipped, upstream_failed, silent, avg_duration_ms,
               (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY d) FROM unnest(durations) AS d)
                   AS p95_duration_ms
        FROM per_scraper
        ORDER BY scraper
    """).format(where=where)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, {**params, **_STATE_PARAMS}).fetchall()
    return [ScraperStats(**row, success_rate=success_rate(row["success"], row["failed"])) for row in rows]


def top_errors(
    conn: psycopg.Connection,
    hours: int = 24,
    limit: int = 10,
    scraper: str | None = None,
    now: datetime | None = None,
) -> list[ErrorGroup]:
    """The most frequent failure fingerprints (failures without one form their own group)."""
    where, params = ExecutionFilter(scraper=scraper, since=_since(hours, now)).where()
    # Grouping by fingerprint and scraper first lets a hash aggregate do the work (a handful of rows
    # per fingerprint remain); the latest failure of each group shown is then looked up by its time,
    # so the wide columns (message, type) are read for those rows only. Carrying every failure of
    # the window through a sort, as DISTINCT ON does, spilled to disk (hundreds of ms at 10 M rows).
    query = sql.SQL("""
        WITH per_scraper AS (
            SELECT fingerprint, scraper, count(*) AS count,
                   min(started_at) AS first_seen, max(started_at) AS last_seen
            FROM task_executions
            WHERE {where} AND state = ANY(%(error_states)s)
            GROUP BY fingerprint, scraper
        ), groups AS (
            SELECT fingerprint, sum(count)::bigint AS count, array_agg(scraper ORDER BY scraper) AS scrapers,
                   min(first_seen) AS first_seen, max(last_seen) AS last_seen
            FROM per_scraper GROUP BY fingerprint
            ORDER BY count DESC, last_seen DESC NULLS LAST
            LIMIT %(limit)s
        )
        SELECT g.fingerprint, g.count, e.error_category, e.error_type, e.error_message AS example_message,
               g.scrapers, g.first_seen, g.last_seen
        FROM groups g
        -- the latest failure: the newest started_at (never NULL inside a since-window), then the highest id
        CROSS JOIN LATERAL (
            SELECT max(id) AS id FROM task_executions
            WHERE {where} AND state = ANY(%(error_states)s)
              AND started_at = g.last_seen AND fingerprint IS NOT DISTINCT FROM g.fingerprint
        ) latest
        JOIN task_executions e ON e.id = latest.id
        ORDER BY g.count DESC, g.last_seen DESC NULLS LAST
    """).format(where=where)
    params |= {
        "error_states": _STATE_PARAMS["error_states"],
        "limit": _check_range("limit", limit, 1, MAX_LIMIT),
    }
    with conn.cursor(row_factory=class_row(ErrorGroup)) as cur:
        return cur.execute(query, params).fetchall()


def trends(
    conn: psycopg.Connection, days: int = 30, scraper: str | None = None, today: date | None = None
) -> list[TrendRow]:
    """The last ``days`` days (today, UTC, included) by day and scraper, failures by error category.

    Read from the rollups, so the numbers are as fresh as the last ``rollup`` run.
    """
    _check_range("days", days, 1, MAX_DAYS)
    ExecutionFilter(scraper=scraper)  # validates the name
    last = today or datetime.now(UTC).date()
    query = """
        SELECT day, scraper,
               sum(executions)::int, sum(success)::int, sum(failed)::int, sum(retrying)::int,
               sum(skipped)::int, sum(upstream_failed)::int, sum(silent)::int, sum(duration_ms_sum)::bigint,
               coalesce(jsonb_object_agg(error_category, failed + retrying)
                            FILTER (WHERE failed + retrying > 0), '{}')
        FROM scraper_daily
        WHERE day BETWEEN %(first)s AND %(last)s
          AND (%(scraper)s::text IS NULL OR scraper = %(scraper)s)
        GROUP BY day, scraper
        ORDER BY day, scraper
    """
    params = {"first": last - timedelta(days=days - 1), "last": last, "scraper": scraper}
    # Positional rows (the columns above are in TrendRow's field order).
    with conn.cursor(row_factory=args_row(_trend_row)) as cur:
        return cur.execute(query, params).fetchall()


def _trend_row(*columns: Any) -> TrendRow:
    success, failed = columns[3], columns[4]
    return TrendRow(*columns, success_rate=success_rate(success, failed))


def recent_counts(conn: psycopg.Connection, dag_id: str, task_id: str, count: str, runs: int) -> list[int]:
    """Values of one count in the task's last ``runs`` successful tries, newest first.

    The history behind the "drop below the median" silent-failure rule (``scraper_monitor.silent``).
    Tries that did not report the count are skipped.
    """
    _check_range("runs", runs, 1, MAX_LIMIT)
    query = """
        SELECT (counts ->> %(count)s)::bigint
        FROM task_executions
        WHERE dag_id = %(dag_id)s AND task_id = %(task_id)s AND state = %(success)s AND counts ? %(count)s
        ORDER BY started_at DESC NULLS LAST, id DESC
        LIMIT %(runs)s
    """
    params = {"dag_id": dag_id, "task_id": task_id, "count": count, "runs": runs, "success": SUCCESS}
    with conn.cursor(row_factory=tuple_row) as cur:
        return [value for (value,) in cur.execute(query, params).fetchall()]


def _executions(
    conn: psycopg.Connection, filters: ExecutionFilter, limit: int, offset: int, *, errors_only: bool
) -> list[Execution]:
    where, params = filters.where()
    if errors_only:
        where = sql.SQL("{} AND state = ANY(%(error_states)s)").format(where)
        params["error_states"] = _STATE_PARAMS["error_states"]
    query = sql.SQL(
        "SELECT {columns} FROM task_executions WHERE {where}"
        " ORDER BY started_at DESC NULLS LAST, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=EXECUTION_COLUMNS, where=where)
    params |= {
        "limit": _check_range("limit", limit, 1, MAX_LIMIT),
        "offset": _check_range("offset", offset, 0, 10**9),
    }
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, params).fetchall()
