"""What fails, and why? Failures by error category, the most frequent fingerprints with an example
message, and per-category counts against their usual level (the error-spike alert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row
from pydantic import BaseModel, Field

from scraper_monitor.reports.base import (
    MAX_LIMIT,
    STATE_PARAMS,
    FromAttributes,
    Visible,
    check_range,
    dict_rows,
    errors_only,
    since,
)
from scraper_monitor.store.filters import ExecutionFilter

TOP_ERRORS = 10
#: Label for failures stored without a category (the panels, the CLI and the alerts show the same word).
UNCATEGORIZED = "uncategorized"


class CategoryCount(BaseModel):
    category: str | None = Field(description="null for failures without a category")
    count: int
    share: float = Field(description="fraction of all failures in the window")


class ErrorGroupOut(FromAttributes):
    """Failures sharing a fingerprint; category, type and example come from the latest one."""

    fingerprint: str | None
    count: int
    error_category: str | None
    error_type: str | None
    example_message: str | None
    scrapers: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


class ErrorsOut(BaseModel):
    hours: int
    total: int = Field(description="failed and retrying tries in the window")
    categories: list[CategoryCount]
    top: list[ErrorGroupOut]


def errors(
    conn: psycopg.Connection,
    hours: int,
    scraper: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
    limit: int = TOP_ERRORS,
    visible: Visible = None,
    city: str | None = None,
) -> ErrorsOut:
    """Failures by category over the last ``hours`` and the ``limit`` most frequent fingerprints
    (``category`` narrows the fingerprints, not the breakdown)."""
    now = now or datetime.now(UTC)
    window = ExecutionFilter(
        scraper=scraper, city=city, since=now - timedelta(hours=hours), visible_dags=visible
    )
    breakdown = category_breakdown(conn, window)
    total = sum(n for _, n in breakdown)
    groups = top_errors(
        conn,
        hours=hours,
        limit=limit,
        scraper=scraper,
        category=category,
        now=now,
        visible=visible,
        city=city,
    )
    return ErrorsOut(
        hours=hours,
        total=total,
        categories=[
            CategoryCount(category=c, count=n, share=n / total if total else 0) for c, n in breakdown
        ],
        top=groups,
    )


def category_breakdown(conn: psycopg.Connection, filters: ExecutionFilter) -> list[tuple[str | None, int]]:
    """Failures per error category, largest first; uncategorized failures under None."""
    where, params = errors_only(*filters.where())
    query = sql.SQL(
        "SELECT error_category, count(*) FROM task_executions WHERE {}"
        " GROUP BY error_category ORDER BY count(*) DESC, error_category"
    ).format(where)
    with conn.cursor(row_factory=tuple_row) as cur:
        return [(category, n) for category, n in cur.execute(query, params).fetchall()]


def top_errors(
    conn: psycopg.Connection,
    hours: int = 24,
    limit: int = 10,
    scraper: str | None = None,
    now: datetime | None = None,
    visible: Visible = None,
    category: str | None = None,
    city: str | None = None,
) -> list[ErrorGroupOut]:
    """The most frequent failure fingerprints (failures without one form their own group), of one
    ``category`` when given."""
    where, params = ExecutionFilter(
        scraper=scraper, city=city, category=category, since=since(hours, now), visible_dags=visible
    ).where()
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
        "error_states": STATE_PARAMS["error_states"],
        "limit": check_range("limit", limit, 1, MAX_LIMIT),
    }
    with conn.cursor(row_factory=class_row(ErrorGroupOut)) as cur:
        return cur.execute(query, params).fetchall()


@dataclass(frozen=True)
class TopError:
    """The most frequent error fingerprint of a selection, with one real message as the example (what
    an alert shows as its top error)."""

    fingerprint: str
    category: str | None
    count: int
    example: str


_SAMPLE_SQL = """
SELECT coalesce(fingerprint, error_message, '') AS fingerprint, error_category, count(*) AS n,
       (array_agg(error_message ORDER BY started_at DESC))[1] AS example
FROM task_executions
WHERE scraper = %(scraper)s AND state = ANY(%(error_states)s)
  AND started_at >= %(since)s AND started_at <= %(until)s
  AND (%(task_id)s::text IS NULL OR task_id = %(task_id)s::text)
  AND (%(category)s::text IS NULL OR error_category = %(category)s::text)
  AND (%(run_ids)s::text[] IS NULL OR run_id = ANY(%(run_ids)s::text[]))
GROUP BY 1, error_category
ORDER BY n DESC, max(started_at) DESC
LIMIT 1
"""


def most_frequent(
    conn: psycopg.Connection,
    *,
    scraper: str,
    since: datetime,
    until: datetime,
    task_id: str | None = None,
    category: str | None = None,
    run_ids: Sequence[str] | None = None,
) -> TopError | None:
    """The most frequent fingerprint among one scraper's failed and retried tries in [since, until]."""
    rows = dict_rows(
        conn,
        _SAMPLE_SQL,
        {
            "scraper": scraper,
            "error_states": STATE_PARAMS["error_states"],
            "since": since,
            "until": until,
            "task_id": task_id,
            "category": category,
            "run_ids": list(run_ids) if run_ids is not None else None,
        },
    )
    if not rows:
        return None
    row = rows[0]
    return TopError(
        fingerprint=row["fingerprint"],
        category=row["error_category"],
        count=int(row["n"]),
        example=row["example"] or row["fingerprint"] or "(no message)",
    )


@dataclass(frozen=True)
class CategoryLevel:
    """One scraper's failures of one category now (the window) and before (the baseline span)."""

    scraper: str
    error_category: str | None
    current: int
    baseline: int


_LEVELS_SQL = """
SELECT scraper, error_category,
       count(*) FILTER (WHERE started_at >= %(window_start)s) AS current,
       count(*) FILTER (WHERE started_at < %(window_start)s) AS baseline
FROM task_executions
WHERE state = ANY(%(error_states)s) AND started_at >= %(baseline_start)s AND started_at < %(until)s
GROUP BY scraper, error_category
"""


def category_levels(
    conn: psycopg.Connection, *, window_start: datetime, baseline_start: datetime, until: datetime
) -> list[CategoryLevel]:
    """Failures per scraper and category in [window_start, until) and in [baseline_start, window_start)."""
    params = {
        "error_states": STATE_PARAMS["error_states"],
        "window_start": window_start,
        "baseline_start": baseline_start,
        "until": until,
    }
    return [CategoryLevel(**row) for row in dict_rows(conn, _LEVELS_SQL, params)]
