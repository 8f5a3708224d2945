"""How is each scraper doing? Tries by state, success rate, durations and the SLO status per
scraper over a window, silent failures of the last 24 hours, the most recent runs, and whether the
monitor's own DAGs run on time (``reports.background``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row
from pydantic import BaseModel, Field

from scraper_monitor import slo
from scraper_monitor.reports import background as background_report
from scraper_monitor.reports import executions, runs
from scraper_monitor.reports.background import BackgroundDagRecord, BackgroundIssueOut
from scraper_monitor.reports.base import STATE_PARAMS, FromAttributes, Visible, since, success_rate
from scraper_monitor.reports.runs import RunOut
from scraper_monitor.reports.slo import slo_view
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import ScraperStats

log = logging.getLogger(__name__)

RECENT_RUNS = 10
SLO_TOO_SLOW = (
    "SLO statuses are not shown: there is no fresh snapshot and computing them took too long. "
    "The DAG scraper_monitor_snapshots refreshes them every 5 minutes; is it running?"
)


class SloOut(BaseModel):
    status: str = Field(description="met, below_target, critical or insufficient_data")
    success_rate: float | None
    target_success_rate: float
    alert_threshold: float
    target_duration_ms: int
    runs: int
    avg_duration_ms: float | None = Field(None, description="of the successful final tries in the SLO window")

    @classmethod
    def of(cls, status: slo.SloStatus) -> SloOut:
        return cls(
            status=status.status,
            success_rate=status.success_rate,
            target_success_rate=status.target.target_success_rate,
            alert_threshold=status.target.alert_threshold,
            target_duration_ms=status.target.target_duration_ms,
            runs=status.runs,
            avg_duration_ms=status.avg_duration_ms,
        )


class TaskSloOut(SloOut):
    task_id: str


class ScraperStatsOut(FromAttributes):
    scraper: str
    total: int = Field(description="tries in the window")
    success: int
    failed: int
    retrying: int
    skipped: int
    upstream_failed: int
    silent: int
    success_rate: float | None = Field(description="success / (success + failed); null without final tries")
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    slo: SloOut | None = Field(None, description="the scraper-wide SLO status, when SLOs are configured")
    slo_tasks: list[TaskSloOut] = Field(
        default_factory=list, description="the SLO status of each of its tasks that has one (declared or ran)"
    )


class OverviewOut(BaseModel):
    hours: int = Field(description="the window, ending now")
    empty: bool = Field(description="true when the store holds no executions at all")
    total: int
    success: int
    failed: int
    retrying: int
    skipped: int
    silent: int
    success_rate: float | None
    silent_24h: int = Field(description="silent failures in the last 24 hours (the banner)")
    scrapers: list[ScraperStatsOut]
    recent_runs: list[RunOut]
    slo_as_of: datetime | None = Field(
        None, description="end of the SLO window the statuses describe (their snapshot's time)"
    )
    slo_error: str | None = Field(None, description="why SLO statuses are missing, if they are")
    spool_rejects: int = Field(
        0, description="spooled summaries the store could never take (set aside on the workers)"
    )
    recovered: int = Field(
        0,
        description="tries in the window whose own summary never reached the store (a worker lost, a "
        "spool's disk full): rebuilt from Airflow's record by the repair, without their counts and items",
    )
    city: str | None = Field(None, description="the city filter's key: every number is of that city's runs")
    background: list[BackgroundIssueOut] | None = Field(
        None,
        description="the monitor's own DAGs that are not running on time, and what that costs; "
        "null when Airflow was not asked (outside the api-server)",
    )


def overview(
    conn: psycopg.Connection,
    hours: int,
    now: datetime | None = None,
    visible: Visible = None,
    city: str | None = None,
    background: Sequence[BackgroundDagRecord] | None = None,
) -> OverviewOut:
    """``background``: what Airflow knows of the monitor's own DAGs (``scraper_monitor.airflow``
    reads it), judged by ``reports.background``; None leaves the health line out."""
    now = now or datetime.now(UTC)
    city = ExecutionFilter(city=city).city  # validated, as its key
    rows = stats(conn, hours=hours, now=now, visible=visible, city=city)
    silent_24h = rows if hours == 24 else stats(conn, hours=24, now=now, visible=visible, city=city)
    slo_by_scraper, slo_by_task, slo_as_of, slo_error = _slo_statuses(conn, now, city)
    scrapers = [
        ScraperStatsOut.model_validate(row).model_copy(
            update={"slo": slo_by_scraper.get(row.scraper), "slo_tasks": slo_by_task.get(row.scraper, [])}
        )
        for row in rows
    ]
    success, failed = sum(r.success for r in rows), sum(r.failed for r in rows)
    return OverviewOut(
        hours=hours,
        empty=not rows and not executions.any_recorded(conn),
        total=sum(r.total for r in rows),
        success=success,
        failed=failed,
        retrying=sum(r.retrying for r in rows),
        skipped=sum(r.skipped for r in rows),
        silent=sum(r.silent for r in rows),
        success_rate=success_rate(success, failed),
        silent_24h=sum(r.silent for r in silent_24h),
        scrapers=scrapers,
        recent_runs=runs.recent(conn, RECENT_RUNS, visible=visible, city=city),
        slo_as_of=slo_as_of,
        slo_error=slo_error,
        spool_rejects=spool_rejects(conn, visible),
        recovered=sum(r.recovered for r in rows),
        city=city,
        background=background_report.issues(background, now) if background is not None else None,
    )


def stats(
    conn: psycopg.Connection,
    hours: int = 24,
    scraper: str | None = None,
    now: datetime | None = None,
    task_id: str | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> list[ScraperStats]:
    """Per scraper over the last ``hours``, optionally of one task or one city only (see the package
    docstring)."""
    window = ExecutionFilter(
        scraper=scraper, city=city, task_id=task_id, since=since(hours, now), visible_dags=visible
    )
    where, params = window.where()
    # The durations are gathered per scraper by a hash aggregate (an ordered-set aggregate made
    # PostgreSQL sort every row of the window by scraper first) and their percentile is taken here:
    # sorting ~110,000 durations of 24 hours at 10 M executions row by row in SQL (unnest, then a
    # sort per scraper) was the larger half of the overview's time. Fetched in binary, an int array
    # costs no parsing.
    query = sql.SQL("""
        SELECT scraper,
               count(*) AS total,
               count(*) FILTER (WHERE state = %(success)s) AS success,
               count(*) FILTER (WHERE state = %(failed)s) AS failed,
               count(*) FILTER (WHERE state = %(retrying)s) AS retrying,
               count(*) FILTER (WHERE state = %(skipped)s) AS skipped,
               count(*) FILTER (WHERE state = %(upstream_failed)s) AS upstream_failed,
               count(*) FILTER (WHERE silent) AS silent,
               count(*) FILTER (WHERE recovered) AS recovered,
               (avg(duration_ms) FILTER (WHERE state <> %(upstream_failed)s))::float8 AS avg_duration_ms,
               array_agg(duration_ms)
                   FILTER (WHERE state <> %(upstream_failed)s AND duration_ms IS NOT NULL) AS durations
        FROM task_executions
        WHERE {where}
        GROUP BY scraper
        ORDER BY scraper
    """).format(where=where)
    with conn.cursor(row_factory=dict_row, binary=True) as cur:
        rows = cur.execute(query, {**params, **STATE_PARAMS}).fetchall()
    out = []
    for row in rows:
        durations = row.pop("durations")
        out.append(
            ScraperStats(
                **row,
                p95_duration_ms=percentile_cont(durations, 0.95),
                success_rate=success_rate(row["success"], row["failed"]),
            )
        )
    return out


def percentile_cont(values: list[int] | None, fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY value)``, to the same double:
    linear interpolation between the two nearest ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    first = math.floor(position)
    if first == position:
        return float(ordered[first])
    low, high = float(ordered[first]), float(ordered[first + 1])
    return low + (high - low) * (position - first)


def spool_rejects(conn: psycopg.Connection, visible: Visible = None) -> int:
    """Spooled summaries set aside because the store could never take them (``store.spool``); a
    reader restricted to some DAGs counts theirs only (unreadable lines have no DAG)."""
    query = """
        SELECT count(*) FROM spool_rejects
        WHERE %(visible)s::text[] IS NULL OR dag_id = ANY(%(visible)s)
    """
    params = {"visible": sorted(visible) if visible is not None else None}
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(query, params).fetchone()[0]


def _slo_statuses(
    conn: psycopg.Connection, now: datetime, city: str | None = None
) -> tuple[dict[str, SloOut], dict[str, list[TaskSloOut]], datetime | None, str | None]:
    """SLO statuses per scraper and per task (of one city, or all), and the moment they describe; a
    broken SLO file or a store too slow to compute them degrades the SLO column and table, never the
    panel."""
    try:
        config = slo.load_config()
    except slo.SloConfigError as exc:
        log.warning("scraper monitor: SLO config: %s", exc)
        return {}, {}, None, f"SLO file invalid: {exc}"
    try:
        view = slo_view(conn, config, now=now, city=city)
    except psycopg.errors.QueryCanceled:
        log.warning("scraper monitor: SLO statuses: no fresh snapshot, and computing them timed out")
        return {}, {}, None, SLO_TOO_SLOW
    by_scraper: dict[str, SloOut] = {}
    by_task: dict[str, list[TaskSloOut]] = {}
    for status in view.statuses:
        if status.task_id is None:
            by_scraper[status.scraper] = SloOut.of(status)
        else:
            task = TaskSloOut(**SloOut.of(status).model_dump(), task_id=status.task_id)
            by_task.setdefault(status.scraper, []).append(task)
    return by_scraper, by_task, view.computed_at, None
