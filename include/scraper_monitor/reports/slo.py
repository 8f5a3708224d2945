"""What is each SLO's status? Final tries over the SLO window, per scraper and per task; the
snapshot's copy while it is fresh (the overview), computed from the raw rows otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from scraper_monitor.slo import SloConfig, SloStatus, classify
from scraper_monitor.state import FAILED, SUCCESS
from scraper_monitor.store import snapshots
from scraper_monitor.store.filters import ExecutionFilter

SLO_SNAPSHOT = "slo_statuses"


# DISTINCT ON keeps the newest try of each task instance inside the window: the final one.
# GROUPING SETS gives the per-task rows and the per-scraper totals (task_id NULL) in one scan.
_STATUS_SQL = """
WITH final AS (
    SELECT DISTINCT ON (dag_id, run_id, task_id, map_index)
           scraper, task_id, state, silent, duration_ms
    FROM task_executions
    WHERE started_at >= %(since)s AND started_at < %(until)s
      AND (%(scraper)s::text IS NULL OR scraper = %(scraper)s::text)
      AND (%(city)s::text IS NULL OR city = %(city)s::text)
    ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
)
SELECT scraper, task_id, GROUPING(task_id) = 1 AS is_total,
       count(*) FILTER (WHERE state = %(success)s AND NOT silent) AS succeeded,
       count(*) FILTER (WHERE state = %(success)s AND silent) AS silent,
       count(*) FILTER (WHERE state = %(failed)s) AS failed,
       avg(duration_ms) FILTER (WHERE state = %(success)s) AS avg_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE state = %(success)s) AS p95_ms
FROM final
WHERE state IN (%(success)s, %(failed)s)
GROUP BY GROUPING SETS ((scraper, task_id), (scraper))
"""


def slo_statuses(
    conn: psycopg.Connection,
    config: SloConfig,
    *,
    now: datetime | None = None,
    scraper: str | None = None,
    city: str | None = None,
) -> list[SloStatus]:
    """Every declared SLO (``SloConfig.declares``) with data in the window, plus every configured one
    (as insufficient_data when idle); of one city's runs only with ``city`` (any spelling).

    Sorted by scraper, the scraper-wide status first, then its tasks.
    """
    until = now or datetime.now(UTC)
    since = until - config.window
    city = ExecutionFilter(scraper=scraper, city=city).city  # validated, as its key
    params = {
        "since": since,
        "until": until,
        "scraper": scraper,
        "city": city,
        "success": SUCCESS,
        "failed": FAILED,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_STATUS_SQL, params)
        rows = cur.fetchall()
    found: dict[tuple[str, str | None], Mapping[str, Any]] = {
        (row["scraper"], None if row["is_total"] else row["task_id"]): row for row in rows
    }
    for name, task_ids in config.configured_tasks().items():
        if scraper is None or scraper == name:
            for key in [(name, None), *((name, t) for t in task_ids)]:
                found.setdefault(key, {})
    return [
        _status(name, task_id, found[(name, task_id)], config, since, until, city)
        for name, task_id in sorted(found, key=lambda k: (k[0], k[1] is not None, k[1] or ""))
        if config.declares(name)
    ]


def _status(
    scraper: str,
    task_id: str | None,
    row: Mapping[str, Any],
    config: SloConfig,
    since: datetime,
    until: datetime,
    city: str | None,
) -> SloStatus:
    succeeded, silent, failed = (int(row.get(k) or 0) for k in ("succeeded", "silent", "failed"))
    runs = succeeded + silent + failed
    rate = succeeded / runs if runs else None
    avg_ms = float(row["avg_ms"]) if row.get("avg_ms") is not None else None
    p95_ms = float(row["p95_ms"]) if row.get("p95_ms") is not None else None
    target = config.target_for(scraper, task_id)
    return SloStatus(
        scraper=scraper,
        task_id=task_id,
        status=classify(rate, avg_ms, runs, target, config.min_runs),
        runs=runs,
        succeeded=succeeded,
        silent=silent,
        failed=failed,
        success_rate=rate,
        avg_duration_ms=avg_ms,
        p95_duration_ms=p95_ms,
        target=target,
        window_start=since,
        window_end=until,
        city=city,
    )


@dataclass(frozen=True)
class SloView:
    statuses: list[SloStatus]
    computed_at: datetime  # the end of the SLO window the statuses describe


def slo_view(
    conn: psycopg.Connection, config: SloConfig, *, now: datetime | None = None, city: str | None = None
) -> SloView:
    """The SLO statuses of the fresh snapshot, else computed now; one city's are always computed (the
    snapshot holds every city's together, and one city's window reads its own index)."""
    now = now or datetime.now(UTC)
    if city is not None:
        return SloView(slo_statuses(conn, config, now=now, city=city), now)
    found = snapshots.load_fresh(conn, SLO_SNAPSHOT, now)
    if found is not None:
        return SloView([SloStatus.from_json(s) for s in found.body], found.computed_at)
    return SloView(slo_statuses(conn, config, now=now), now)
