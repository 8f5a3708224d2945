"""Which cities and sources does discovery run, and how are they doing? The configuration of every
city-source with its statistics (runs in the last N days, succeeded, failed, last run, next run, last
error), read in one query for all of them, and the change log.

What the Discovery panel, ``/api/discovery`` and ``scraper-monitor discovery list --json`` show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel

from scraper_monitor.reports.base import MAX_LIMIT, check_range
from scraper_monitor.state import FAILED
from scraper_monitor.store import discovery as store

DEFAULT_DAYS = 7
MAX_DAYS = 90
DEFAULT_CHANGES = 20


class SourceStats(BaseModel):
    """A city-source's runs whose first try started in the window, from the monitor's rows."""

    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    last_run_id: str | None = None
    last_run_at: datetime | None = None
    last_error_category: str | None = None
    last_error_message: str | None = None
    last_error_at: datetime | None = None


class SourceOut(BaseModel):
    source: str
    enabled: bool
    frequency_hours: int
    settings: dict[str, Any]
    next_run_at: datetime | None
    last_queued_at: datetime | None
    last_queued_run_id: str | None
    due: bool
    stats: SourceStats


class CityOut(BaseModel):
    city: str
    name: str
    discovery_enabled: bool
    sources: list[SourceOut]


class ChangeOut(BaseModel):
    at: datetime
    actor: str
    city: str
    source: str | None
    change: str


class DiscoveryOut(BaseModel):
    days: int
    now: datetime
    cities: list[CityOut]
    changes: list[ChangeOut]


# Per configured city-source, three index probes: its runs in the window from dag_runs (one row per DAG
# run, kept by triggers on task_executions: migration 0011), its newest run, and its newest failed try
# in the window (the last error) from task_executions' partial index of failed rows. A window reads
# its runs, never their executions. A run counts when its first try started in the window; it failed
# when any of its task instances ended failed or upstream_failed (retries that later succeeded are
# `retrying`, not failed).
_STATS = """
SELECT s.source AS dag_id, s.city, c.runs, c.failed, l.run_id AS last_run_id, l.started_at AS last_run_at,
       e.error_category, e.error_message, e.at AS error_at
FROM discovery_sources s
CROSS JOIN LATERAL (
    SELECT count(*) AS runs, count(*) FILTER (WHERE r.failed) AS failed
    FROM dag_runs r
    WHERE r.dag_id = s.source AND r.city = s.city AND r.started_at >= %(since)s
) c
CROSS JOIN LATERAL (
    SELECT r.run_id, r.started_at
    FROM dag_runs r
    WHERE r.dag_id = s.source AND r.city = s.city AND r.started_at >= %(since)s
    ORDER BY r.started_at DESC
    LIMIT 1
) l
LEFT JOIN LATERAL (
    SELECT x.error_category, x.error_message, coalesce(x.started_at, x.recorded_at) AS at
    FROM task_executions x
    WHERE x.dag_id = s.source AND x.city = s.city AND x.state = %(failed)s
      AND coalesce(x.started_at, x.recorded_at) >= %(since)s
    ORDER BY coalesce(x.started_at, x.recorded_at) DESC
    LIMIT 1
) e ON true
"""


def stats(conn: psycopg.Connection, days: int, now: datetime) -> dict[tuple[str, str], SourceStats]:
    """(city, source) -> its statistics over the last ``days``: one query for every source of every
    city (the origin ran one per source, which grows with the fleet)."""
    check_range("days", days, 1, MAX_DAYS)
    params = {"since": now - timedelta(days=days), "failed": FAILED}
    out = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for r in cur.execute(_STATS, params):
            out[(r["city"], r["dag_id"])] = source_stats(r)
    return out


def source_stats(row: Mapping[str, Any]) -> SourceStats:
    """One city-source's statistics from a row of the statistics query's shape."""
    return SourceStats(
        runs=row["runs"],
        succeeded=row["runs"] - row["failed"],
        failed=row["failed"],
        last_run_id=row["last_run_id"],
        last_run_at=row["last_run_at"],
        last_error_category=row["error_category"],
        last_error_message=row["error_message"],
        last_error_at=row["error_at"],
    )


def changes(
    conn: psycopg.Connection, limit: int = DEFAULT_CHANGES, visible: frozenset[str] | None = None
) -> list[ChangeOut]:
    """The latest changes; with ``visible``, a source's only when the user may read its DAG."""
    check_range("limit", limit, 1, MAX_LIMIT)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT at, actor, city, source, change FROM discovery_changes"
            " WHERE %(all)s OR source IS NULL OR source = ANY(%(visible)s)"
            " ORDER BY at DESC, id DESC LIMIT %(limit)s",
            {"all": visible is None, "visible": sorted(visible or ()), "limit": limit},
        ).fetchall()
    return [ChangeOut.model_validate(r) for r in rows]


def overview(
    conn: psycopg.Connection,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    city: str | None = None,
    changes_limit: int = DEFAULT_CHANGES,
    visible: frozenset[str] | None = None,
) -> DiscoveryOut:
    """Every city (or one) with its sources, their statistics and whether they are due now.

    ``visible``: the DAGs the user may read (None: all); a source is a DAG, so the others' sources and
    their changes are left out, as every panel leaves out what Airflow would refuse to show."""
    now = now or datetime.now(UTC)
    figures = stats(conn, days, now)
    by_city: dict[str, list[SourceOut]] = {}
    for entry in store.load(conn, city=city):
        if visible is not None and entry.source not in visible:
            continue
        by_city.setdefault(entry.city, []).append(
            SourceOut(
                source=entry.source,
                enabled=entry.enabled,
                frequency_hours=entry.frequency_hours,
                settings=dict(entry.settings),
                next_run_at=entry.next_run_at,
                last_queued_at=entry.last_queued_at,
                last_queued_run_id=entry.last_run_id,
                due=entry.is_due(now),
                stats=figures.get((entry.city, entry.source), SourceStats()),
            )
        )
    cities = [
        CityOut(
            city=c["city"],
            name=c["name"],
            discovery_enabled=c["discovery_enabled"],
            sources=by_city.get(c["city"], []),
        )
        for c in store.cities(conn)
        if city is None or c["city"] == city
    ]
    return DiscoveryOut(days=days, now=now, cities=cities, changes=changes(conn, changes_limit, visible))
