"""Which tries match these filters? Listings (newest first, with a total for paging), one try's
drill-down (all tries of its task instance, its item outcomes), a run's rows, the export stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row
from pydantic import BaseModel, Field

from scraper_monitor.reports.base import (
    EXECUTION_COLUMNS,
    MAX_LIMIT,
    FromAttributes,
    Visible,
    check_range,
    errors_only,
    sees,
)
from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import Execution, ItemOutcomeCount, ItemOutcomeRow

ITEMS_SHOWN = 200
# Listings count matching rows up to here; beyond it the total reads "10,000+".
TOTAL_CAP = 10_000


class ExecutionOut(FromAttributes):
    """One try of one task instance."""

    id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = Field(description="-1 when the task is not mapped")
    try_number: int
    scraper: str
    logical_date: datetime | None
    state: str = Field(description="success, failed (no tries left), retrying, skipped or upstream_failed")
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    counts: dict[str, int] = Field(description="what the task reported (films, showtimes, ...)")
    error_category: str | None
    error_type: str | None = Field(description="finer than the category, e.g. timeout, http_5xx")
    error_message: str | None = Field(description="untrusted text: escape before display")
    fingerprint: str | None = Field(description="groups messages that differ only in ids, numbers, URLs")
    silent: bool = Field(description="a success that produced nothing it should have")
    silent_reason: str | None
    skip_reason: str | None
    hostname: str | None = Field(description="the worker that ran the try, as Airflow records it")
    recovered: bool = Field(
        description="written by `reconcile --repair` from Airflow's record: the task's own summary never "
        "arrived (its worker was lost); no counts or item outcomes"
    )
    city: str | None = Field(
        description='the city the run scraped, as one key ("krakow"); null for runs without a city'
    )
    recorded_at: datetime


class ItemOutcomeOut(FromAttributes):
    entity_type: str = Field(description="film, showtime, day page, ...")
    external_id: str | None
    outcome: str = Field(description="created, updated, skipped_expected or failed")
    category: str | None
    reason: str | None


class ExecutionDetail(BaseModel):
    execution: ExecutionOut
    tries: list[ExecutionOut] = Field(description="every try of the same task instance, first first")
    items: list[ItemOutcomeOut] = Field(description="up to 200 item outcomes of this try, failed first")
    item_totals: dict[str, int] = Field(description="outcome -> count over all items of this try")


class ExecutionPage(BaseModel):
    total: int = Field(description="rows matching the filters, counted up to 10,000")
    total_capped: bool = Field(description="true when more rows than `total` match (shown as 10,000+)")
    limit: int
    offset: int
    items: list[ExecutionOut]


# --- the answers ---------------------------------------------------------------------------------


def page(
    conn: psycopg.Connection, filters: ExecutionFilter, limit: int, offset: int, *, errors: bool = False
) -> ExecutionPage:
    """One page of tries (only failed and retrying ones with ``errors``) and the total for paging."""
    fetch = failures if errors else list_executions
    rows = fetch(conn, filters, limit=limit, offset=offset)
    counted = count(conn, filters, errors=errors, cap=TOTAL_CAP)
    return ExecutionPage(
        total=min(counted, TOTAL_CAP),
        total_capped=counted > TOTAL_CAP,
        limit=limit,
        offset=offset,
        items=[ExecutionOut.model_validate(r) for r in rows],
    )


def detail(conn: psycopg.Connection, execution_id: int, visible: Visible = None) -> ExecutionDetail | None:
    """None when there is no such execution, or the reader may not see its DAG (the same answer)."""
    execution = get(conn, execution_id)
    if execution is None or not sees(visible, execution.dag_id):
        return None
    return ExecutionDetail(
        execution=ExecutionOut.model_validate(execution),
        tries=[ExecutionOut.model_validate(t) for t in tries_of(conn, execution)],
        items=[ItemOutcomeOut.model_validate(i) for i in item_outcomes_of(conn, execution_id, ITEMS_SHOWN)],
        item_totals=item_outcome_totals(conn, execution_id),
    )


# --- rows ----------------------------------------------------------------------------------------


def list_executions(
    conn: psycopg.Connection, filters: ExecutionFilter | None = None, limit: int = 50, offset: int = 0
) -> list[Execution]:
    """Newest first (by started_at; rows without one last)."""
    return _executions(conn, filters or ExecutionFilter(), limit, offset, errors=False)


def failures(
    conn: psycopg.Connection, filters: ExecutionFilter | None = None, limit: int = 20, offset: int = 0
) -> list[Execution]:
    """Failed and retrying tries, newest first; ``filters.state`` may narrow to one of the two."""
    filters = filters or ExecutionFilter()
    if filters.state is not None and filters.state not in ERROR_STATES:
        raise ValueError(f"failures are {FAILED} or {RETRYING} tries; got state {filters.state!r}")
    return _executions(conn, filters, limit, offset, errors=True)


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


def count(
    conn: psycopg.Connection, filters: ExecutionFilter, *, errors: bool = False, cap: int | None = None
) -> int:
    """Rows matching ``filters``; with ``cap``, counting stops at ``cap + 1`` ("more than cap")."""
    where, params = filters.where()
    if errors:
        where, params = errors_only(where, params)
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


def any_recorded(conn: psycopg.Connection) -> bool:
    """Whether the store holds any execution at all (an empty store gets a "getting started" hint)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM task_executions)").fetchone()[0]


def scraper_names(conn: psycopg.Connection, visible: Visible = None) -> list[str]:
    """Scraper names for the filter dropdowns: the rollups plus the last week's raw rows (which
    may not be rolled up yet); both are small index scans, unlike a DISTINCT over all raw rows."""
    query = """
        SELECT scraper FROM scraper_daily WHERE %(visible)s::text[] IS NULL OR scraper = ANY(%(visible)s)
        UNION
        SELECT scraper FROM task_executions
        WHERE started_at >= now() - interval '7 days'
          AND (%(visible)s::text[] IS NULL OR dag_id = ANY(%(visible)s))
        ORDER BY scraper
    """
    params = {"visible": sorted(visible) if visible is not None else None}
    with conn.cursor(row_factory=tuple_row) as cur:
        return [name for (name,) in cur.execute(query, params).fetchall()]


def city_names(conn: psycopg.Connection, visible: Visible = None) -> list[str]:
    """City keys for the filter dropdowns, from the rollups and the last week's raw rows (as
    ``scraper_names``); runs without a city are not a city."""
    query = """
        SELECT city FROM scraper_daily
        WHERE city <> '' AND (%(visible)s::text[] IS NULL OR scraper = ANY(%(visible)s))
        UNION
        SELECT city FROM task_executions
        WHERE city IS NOT NULL AND started_at >= now() - interval '7 days'
          AND (%(visible)s::text[] IS NULL OR dag_id = ANY(%(visible)s))
        ORDER BY city
    """
    params = {"visible": sorted(visible) if visible is not None else None}
    with conn.cursor(row_factory=tuple_row) as cur:
        return [name for (name,) in cur.execute(query, params).fetchall()]


def get(conn: psycopg.Connection, execution_id: int) -> Execution | None:
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


def of_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[Execution]:
    """Every try of every task of one DAG run, in task, map index and try order."""
    query = sql.SQL(
        "SELECT {columns} FROM task_executions WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s"
        " ORDER BY task_id, map_index, try_number"
    ).format(columns=EXECUTION_COLUMNS)
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, {"dag_id": dag_id, "run_id": run_id}).fetchall()


def item_outcomes_of_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[ItemOutcomeRow]:
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


def item_outcome_counts_of_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[ItemOutcomeCount]:
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


def _executions(
    conn: psycopg.Connection, filters: ExecutionFilter, limit: int, offset: int, *, errors: bool
) -> list[Execution]:
    where, params = filters.where()
    if errors:
        where, params = errors_only(where, params)
    query = sql.SQL(
        "SELECT {columns} FROM task_executions WHERE {where}"
        " ORDER BY started_at DESC NULLS LAST, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=EXECUTION_COLUMNS, where=where)
    params |= {
        "limit": check_range("limit", limit, 1, MAX_LIMIT),
        "offset": check_range("offset", offset, 0, 10**9),
    }
    with conn.cursor(row_factory=class_row(Execution)) as cur:
        return cur.execute(query, params).fetchall()
