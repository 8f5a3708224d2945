"""Which successes produced nothing they should have? The silent failures of a window, newest
first, and per scraper their number and most common reason (the silent-failure alert)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from pydantic import BaseModel

from scraper_monitor.reports import executions
from scraper_monitor.reports.base import Visible, dict_rows, since
from scraper_monitor.reports.executions import ExecutionOut
from scraper_monitor.state import SUCCESS
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import Execution


class SilentOut(BaseModel):
    hours: int
    count: int
    items: list[ExecutionOut]


def silent(
    conn: psycopg.Connection,
    hours: int,
    limit: int,
    scraper: str | None = None,
    now: datetime | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> SilentOut:
    """The newest ``limit`` silent failures of the last ``hours`` and how many there were in all."""
    now = now or datetime.now(UTC)
    rows = silent_failures(
        conn, hours=hours, limit=limit, scraper=scraper, now=now, visible=visible, city=city
    )
    window = ExecutionFilter(
        scraper=scraper, city=city, silent=True, since=now - timedelta(hours=hours), visible_dags=visible
    )
    count = executions.count(conn, window)
    return SilentOut(hours=hours, count=count, items=[ExecutionOut.model_validate(r) for r in rows])


def silent_failures(
    conn: psycopg.Connection,
    hours: int = 24,
    limit: int = 100,
    scraper: str | None = None,
    now: datetime | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> list[Execution]:
    window = ExecutionFilter(
        scraper=scraper, city=city, silent=True, since=since(hours, now), visible_dags=visible
    )
    return executions.list_executions(conn, window, limit)


@dataclass(frozen=True)
class SilentByScraper:
    """One scraper's silent failures in a window: totals, and the most common reason with the
    newest task that gave it as the example."""

    scraper: str
    silent: int
    tasks: int
    last_run: str
    silent_reason: str | None
    n: int  # silent failures with that reason
    task_id: str
    run_id: str


_BY_SCRAPER_SQL = """
WITH silent AS (
    SELECT scraper, task_id, run_id, silent_reason, started_at
    FROM task_executions
    WHERE silent AND state = %(success)s AND started_at >= %(since)s AND started_at < %(until)s
), reasons AS (
    SELECT DISTINCT ON (scraper) scraper, silent_reason,
           count(*) OVER (PARTITION BY scraper, silent_reason) AS n, task_id, run_id
    FROM silent
    ORDER BY scraper, n DESC, started_at DESC
), totals AS (
    SELECT scraper, count(*) AS silent, count(DISTINCT task_id) AS tasks,
           (array_agg(run_id ORDER BY started_at DESC))[1] AS last_run
    FROM silent
    GROUP BY scraper
)
SELECT totals.*, reasons.silent_reason, reasons.n, reasons.task_id, reasons.run_id
FROM totals JOIN reasons USING (scraper)
ORDER BY scraper
"""


def by_scraper(conn: psycopg.Connection, *, since: datetime, until: datetime) -> list[SilentByScraper]:
    params = {"success": SUCCESS, "since": since, "until": until}
    return [SilentByScraper(**row) for row in dict_rows(conn, _BY_SCRAPER_SQL, params)]
