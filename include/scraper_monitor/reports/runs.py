"""Which runs happened, and how did they end? The most recent DAG runs as the store saw them, each
scraper's last n decided runs (the "k of the last n runs failed" alert) and the unit tasks of its
latest run (the "k of a run's day pages failed" alert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row
from pydantic import Field

from scraper_monitor.reports.base import FromAttributes, Visible, dict_rows
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.filters import ExecutionFilter


class RunOut(FromAttributes):
    dag_id: str
    run_id: str
    scraper: str
    logical_date: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    task_instances: int = Field(description="task instances with a summary (never-ran ones have none)")
    success: int
    failed: int
    skipped: int
    upstream_failed: int
    silent: int
    city: str | None = Field(None, description="the city the run scraped; null for runs without one")


def recent(
    conn: psycopg.Connection,
    limit: int,
    scraper: str | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> list[RunOut]:
    """The runs panel and the overview's "recent runs": newest activity first."""
    found = recent_runs(conn, limit, scraper=scraper, visible=visible, city=city)
    return [RunOut.model_validate(r) for r in found]


@dataclass(frozen=True)
class RunSummary:
    """One DAG run as the store saw it: the latest try of each task instance that wrote a summary."""

    dag_id: str
    run_id: str
    scraper: str
    logical_date: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    task_instances: int
    success: int
    failed: int
    skipped: int
    upstream_failed: int
    silent: int
    city: str | None = None


def _newest_runs(conn: psycopg.Connection, filters: ExecutionFilter, limit: int) -> list[tuple[str, str]]:
    """The ``limit`` DAG runs with the newest activity (``coalesce(started_at, recorded_at)``).

    Rows are read newest first, from an index, until ``limit`` distinct runs have shown up: a run's
    first row in that order is its newest, so those are exactly the runs with the newest last
    activity. Grouping every row by run instead read the whole table (seconds at 10 M rows).
    """
    where, params = filters.where()
    query = sql.SQL(
        "SELECT dag_id, run_id FROM task_executions WHERE {} ORDER BY coalesce(started_at, recorded_at) DESC"
    ).format(where)
    runs: dict[tuple[str, str], None] = {}  # insertion-ordered set
    # A server-side cursor stops the scan where the loop stops, and is planned for a fast start.
    with conn.transaction(), conn.cursor("newest_runs", row_factory=tuple_row) as cur:
        cur.itersize = 1000
        for dag_id, run_id in cur.execute(query, params):
            runs[(dag_id, run_id)] = None
            if len(runs) == limit:
                break
    return list(runs)


def recent_runs(
    conn: psycopg.Connection,
    limit: int,
    scraper: str | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> list[RunSummary]:
    """The ``limit`` runs with the newest activity, newest first."""
    keys = _newest_runs(conn, ExecutionFilter(scraper=scraper, city=city, visible_dags=visible), limit)
    query = """
        WITH runs AS (
            SELECT dag_id, run_id FROM unnest(%(dag_ids)s::text[], %(run_ids)s::text[]) AS r(dag_id, run_id)
        ), activity AS (
            SELECT dag_id, run_id, max(coalesce(e.started_at, e.recorded_at)) AS last_at
            FROM task_executions e JOIN runs r USING (dag_id, run_id)
            GROUP BY dag_id, run_id
        ), latest AS (
            SELECT DISTINCT ON (e.dag_id, e.run_id, e.task_id, e.map_index)
                   e.dag_id, e.run_id, e.scraper, e.logical_date, e.state, e.silent,
                   e.started_at, e.ended_at, e.city
            FROM task_executions e JOIN runs r USING (dag_id, run_id)
            ORDER BY e.dag_id, e.run_id, e.task_id, e.map_index, e.try_number DESC
        )
        SELECT l.dag_id, l.run_id, min(l.scraper) AS scraper, min(l.logical_date) AS logical_date,
               min(l.started_at) AS started_at, max(l.ended_at) AS ended_at,
               count(*)::int AS task_instances,
               count(*) FILTER (WHERE l.state = %(success)s)::int AS success,
               count(*) FILTER (WHERE l.state = %(failed)s)::int AS failed,
               count(*) FILTER (WHERE l.state = %(skipped)s)::int AS skipped,
               count(*) FILTER (WHERE l.state = %(upstream_failed)s)::int AS upstream_failed,
               count(*) FILTER (WHERE l.silent)::int AS silent,
               min(l.city) AS city
        FROM latest l JOIN activity a USING (dag_id, run_id)
        GROUP BY l.dag_id, l.run_id, a.last_at
        ORDER BY a.last_at DESC
    """
    params = {
        "dag_ids": [dag_id for dag_id, _ in keys],
        "run_ids": [run_id for _, run_id in keys],
        "success": SUCCESS,
        "failed": FAILED,
        "skipped": SKIPPED,
        "upstream_failed": UPSTREAM_FAILED,
    }
    with conn.cursor(row_factory=class_row(RunSummary)) as cur:
        return cur.execute(query, params).fetchall()


@dataclass(frozen=True)
class RunOutcomes:
    """One scraper's last ``n`` decided runs: how many failed, which, and when the oldest began."""

    scraper: str
    dag_id: str
    runs: int
    failed_runs: int
    failed_run_ids: list[str]  # newest first
    oldest: datetime


# A run (dag_id, run_id) failed when a task instance's final try failed or never ran because a parent
# failed. Runs with a task still waiting for a retry are left out: they have not decided yet.
_OUTCOMES_SQL = """
WITH final AS (
    SELECT DISTINCT ON (dag_id, run_id, task_id, map_index)
           scraper, dag_id, run_id, state, coalesce(started_at, recorded_at) AS at
    FROM task_executions
    WHERE (started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s))
    ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
), runs AS (
    SELECT scraper, dag_id, run_id, min(at) AS started,
           bool_or(state IN (%(failed)s, %(upstream_failed)s)) AS failed
    FROM final
    GROUP BY scraper, dag_id, run_id
    HAVING NOT bool_or(state = %(retrying)s)
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY scraper ORDER BY started DESC) AS position
    FROM runs
)
SELECT scraper, dag_id, count(*) AS runs, count(*) FILTER (WHERE failed) AS failed_runs,
       coalesce(array_agg(run_id ORDER BY started DESC) FILTER (WHERE failed), '{}') AS failed_run_ids,
       min(started) AS oldest
FROM ranked
WHERE position <= %(n)s
GROUP BY scraper, dag_id
"""


def last_outcomes(conn: psycopg.Connection, *, since: datetime, n: int) -> list[RunOutcomes]:
    """Per scraper, its last ``n`` decided runs that started after ``since``."""
    params = {
        "since": since,
        "n": n,
        "failed": FAILED,
        "upstream_failed": UPSTREAM_FAILED,
        "retrying": RETRYING,
    }
    return [RunOutcomes(**row) for row in dict_rows(conn, _OUTCOMES_SQL, params)]


@dataclass(frozen=True)
class UnitOutcomes:
    """The unit tasks (day pages, cinema-days) of one scraper's latest run whose units all decided."""

    scraper: str
    dag_id: str
    run_id: str
    task_id: str
    units: int
    failed: int
    failed_map_indexes: list[int]
    started: datetime


# A run's units have decided when none waits for a retry and every unit the sync planned
# (counts.units of its successful sync) has a row: a run still fanning out does not replace the
# latest complete one, so its alert neither resolves nor fires early.
_UNITS_SQL = """
WITH units AS (
    SELECT DISTINCT ON (dag_id, run_id, task_id, map_index)
           scraper, dag_id, run_id, task_id, map_index, state, coalesce(started_at, recorded_at) AS at
    FROM task_executions
    WHERE (started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s))
      AND substring(task_id FROM '[^.]*$') = ANY(%(unit_tasks)s)
    ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
), planned AS (
    SELECT dag_id, run_id, max((counts ->> 'units')::int) AS units
    FROM task_executions
    WHERE task_id = %(sync)s AND state = %(success)s AND jsonb_typeof(counts -> 'units') = 'number'
      AND (started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s))
    GROUP BY dag_id, run_id
), runs AS (
    SELECT u.scraper, u.dag_id, u.run_id, min(u.task_id) AS task_id, count(*)::int AS units,
           count(*) FILTER (WHERE u.state = %(failed)s)::int AS failed,
           coalesce(array_agg(u.map_index ORDER BY u.map_index) FILTER (WHERE u.state = %(failed)s), '{}')
               AS failed_map_indexes,
           min(u.at) AS started
    FROM units u LEFT JOIN planned p USING (dag_id, run_id)
    GROUP BY u.scraper, u.dag_id, u.run_id, p.units
    HAVING NOT bool_or(u.state = %(retrying)s) AND count(*) >= coalesce(p.units, 0)
)
SELECT DISTINCT ON (scraper) scraper, dag_id, run_id, task_id, units, failed, failed_map_indexes, started
FROM runs
ORDER BY scraper, started DESC
"""


def latest_unit_outcomes(
    conn: psycopg.Connection, *, since: datetime, unit_tasks: Sequence[str], sync_task: str
) -> list[UnitOutcomes]:
    """Per scraper, how the unit tasks (by the last segment of their id) of its latest run that
    started after ``since`` ended, once all of them have."""
    params = {
        "since": since,
        "unit_tasks": list(unit_tasks),
        "sync": sync_task,
        "success": SUCCESS,
        "failed": FAILED,
        "retrying": RETRYING,
    }
    return [UnitOutcomes(**row) for row in dict_rows(conn, _UNITS_SQL, params)]
