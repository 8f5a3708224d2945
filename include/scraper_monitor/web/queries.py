"""Reads the panels need beyond ``scraper_monitor.store.queries`` (paging totals, breakdowns, runs).

Same conventions as the store helpers: filters through ``ExecutionFilter.where()`` so every panel
matches the same rows, state names as parameters, failures = ``ERROR_STATES`` tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row

from scraper_monitor.state import ERROR_STATES, FAILED, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.queries import EXECUTION_COLUMNS, Execution, ItemOutcomeRow


def _errors_only(where: sql.Composable, params: dict) -> tuple[sql.Composable, dict]:
    return sql.SQL("{} AND state = ANY(%(error_states)s)").format(where), {
        **params,
        "error_states": sorted(ERROR_STATES),
    }


def count_executions(
    conn: psycopg.Connection, filters: ExecutionFilter, *, errors_only: bool = False, cap: int | None = None
) -> int:
    """Rows matching ``filters``; with ``cap``, counting stops at ``cap + 1`` ("more than cap")."""
    where, params = filters.where()
    if errors_only:
        where, params = _errors_only(where, params)
    query = sql.SQL("SELECT count(*) FROM task_executions WHERE {}").format(where)
    if cap is not None:
        # An exact count of an unfiltered listing reads every index entry (0.4 s at 10 M rows);
        # nobody pages that far, so "10,000+" is what the pager needs.
        query = sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM task_executions WHERE {} LIMIT %(cap)s) s"
        ).format(where)
        params = {**params, "cap": cap + 1}
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(query, params).fetchone()[0]


def has_executions(conn: psycopg.Connection) -> bool:
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM task_executions)").fetchone()[0]


def scrapers(conn: psycopg.Connection) -> list[str]:
    """Scraper names for the filter dropdowns: the rollups plus the last week's raw rows (which
    may not be rolled up yet); both are small index scans, unlike a DISTINCT over all raw rows."""
    query = """
        SELECT scraper FROM scraper_daily
        UNION
        SELECT scraper FROM task_executions WHERE started_at >= now() - interval '7 days'
        ORDER BY scraper
    """
    with conn.cursor(row_factory=tuple_row) as cur:
        return [name for (name,) in cur.execute(query).fetchall()]


def category_breakdown(conn: psycopg.Connection, filters: ExecutionFilter) -> list[tuple[str | None, int]]:
    """Failures per error category, largest first; uncategorized failures under None."""
    where, params = _errors_only(*filters.where())
    query = sql.SQL(
        "SELECT error_category, count(*) FROM task_executions WHERE {}"
        " GROUP BY error_category ORDER BY count(*) DESC, error_category"
    ).format(where)
    with conn.cursor(row_factory=tuple_row) as cur:
        return [(category, count) for category, count in cur.execute(query, params).fetchall()]


def get_execution(conn: psycopg.Connection, execution_id: int) -> Execution | None:
    query = sql.SQL("SELECT {} FROM task_executions WHERE id = %(id)s").format(EXECUTION_COLUMNS)
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, {"id": execution_id}).fetchone()


def tries_of(conn: psycopg.Connection, execution: Execution) -> list[Execution]:
    """Every try of the same task instance, first try first."""
    query = sql.SQL(
        "SELECT {} FROM task_executions WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s"
        " AND task_id = %(task_id)s AND map_index = %(map_index)s ORDER BY try_number"
    ).format(EXECUTION_COLUMNS)
    params = {k: getattr(execution, k) for k in ("dag_id", "run_id", "task_id", "map_index")}
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, params).fetchall()


def item_outcomes_of(conn: psycopg.Connection, execution_id: int, limit: int) -> list[ItemOutcomeRow]:
    """The items of one try, failed ones first (they are what a reader is looking for)."""
    query = """
        SELECT i.execution_id, e.task_id, e.map_index, e.try_number, i.scraper, i.entity_type,
               i.external_id, i.outcome, i.category, i.reason, i.recorded_at
        FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id
        WHERE i.execution_id = %(id)s
        ORDER BY (i.outcome = 'failed') DESC, i.id
        LIMIT %(limit)s
    """
    with conn.cursor(row_factory=class_row(ItemOutcomeRow)) as cur:
        return cur.execute(query, {"id": execution_id, "limit": limit}).fetchall()


def item_outcome_totals(conn: psycopg.Connection, execution_id: int) -> dict[str, int]:
    query = "SELECT outcome, count(*) FROM item_outcomes WHERE execution_id = %(id)s GROUP BY outcome"
    with conn.cursor(row_factory=tuple_row) as cur:
        return dict(cur.execute(query, {"id": execution_id}).fetchall())


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


def recent_runs(conn: psycopg.Connection, limit: int, scraper: str | None = None) -> list[RunSummary]:
    keys = _newest_runs(conn, ExecutionFilter(scraper=scraper), limit)
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
                   e.started_at, e.ended_at
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
               count(*) FILTER (WHERE l.silent)::int AS silent
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
