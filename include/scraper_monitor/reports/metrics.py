"""What does Prometheus see? Every number of the ``/scraper-monitor/metrics`` exposition, read from
the store for one moment (``scraper_monitor.metrics`` turns them into metric families).

Counts are over the last 24 hours (gauges: retention deletes rows, and a counter that drops reads
as a reset); a scraper is known for 30 days from the daily rollups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from scraper_monitor import slo
from scraper_monitor.reports.base import dict_rows
from scraper_monitor.reports.slo import slo_statuses
from scraper_monitor.state import ERROR_STATES, SKIPPED, SUCCESS

WINDOW = timedelta(hours=24)
# How far back a scraper counts as known (from the daily rollups) and a last success is looked for.
KNOWN_FOR = timedelta(days=30)
LAST_SUCCESS_LOOKBACK = timedelta(days=7)
# A scraper with item outcomes in this period produces items at all (so none in the window is wrong).
ITEMS_EXPECTED_LOOKBACK = timedelta(days=8)
# Batch tasks: from a one-second page fetch to an hour-long batch.
DURATION_BUCKETS_S: tuple[float, ...] = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

# Tries that never started (upstream_failed) have no started_at: they count by recorded_at, as in
# the daily rollups. Written as an OR so both halves can use the started_at index.
_KNOWN_SQL = """
SELECT DISTINCT scraper, task_id FROM execution_daily WHERE day >= %(known_since)s::date
UNION
SELECT DISTINCT scraper, task_id FROM task_executions
WHERE started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s)
"""

# By city too ('' for runs without one): scraper_monitor.metrics bounds how many become labels.
_EXECUTIONS_SQL = """
SELECT scraper, task_id, state, coalesce(city, '') AS city, count(*) AS n,
       count(*) FILTER (WHERE silent AND state = %(success)s) AS silent
FROM task_executions
WHERE started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s)
GROUP BY scraper, task_id, state, city
"""

_ERRORS_SQL = """
SELECT scraper, error_category, coalesce(city, '') AS city, count(*) AS n
FROM task_executions
WHERE started_at >= %(since)s AND state = ANY(%(error_states)s)
GROUP BY scraper, error_category, city
"""

# An item belongs to its execution's time, as in the daily rollups.
_ITEMS_SQL = """
SELECT i.scraper, i.outcome,
       count(*) FILTER (WHERE coalesce(e.started_at, e.recorded_at) >= %(since)s) AS n
FROM task_executions e JOIN item_outcomes i ON i.execution_id = e.id
WHERE coalesce(e.started_at, e.recorded_at) >= %(expected_since)s
GROUP BY i.scraper, i.outcome
"""

# A successful run: every final try succeeded or skipped itself, and something really succeeded.
_LAST_SUCCESS_SQL = """
WITH final AS (
    SELECT DISTINCT ON (dag_id, run_id, task_id, map_index)
           scraper, dag_id, run_id, state, silent, coalesce(ended_at, started_at, recorded_at) AS at
    FROM task_executions
    WHERE started_at >= %(lookback)s OR (started_at IS NULL AND recorded_at >= %(lookback)s)
    ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
), good_runs AS (
    SELECT scraper, max(at) AS finished
    FROM final
    GROUP BY scraper, dag_id, run_id
    HAVING bool_and(state IN (%(success)s, %(skipped)s)) AND bool_or(state = %(success)s AND NOT silent)
)
SELECT scraper, extract(epoch FROM max(finished))::float8 AS last_success FROM good_runs GROUP BY scraper
"""

_DURATION_SQL = """
SELECT scraper, task_id, b.le, count(*) FILTER (WHERE duration_ms <= b.le * 1000) AS n
FROM task_executions CROSS JOIN unnest(%(bounds)s::float8[]) AS b(le)
WHERE started_at >= %(since)s AND state = ANY(%(ran)s) AND duration_ms IS NOT NULL
GROUP BY scraper, task_id, b.le
"""

_DURATION_TOTALS_SQL = """
SELECT scraper, task_id, count(*) AS n, (sum(duration_ms) / 1000.0)::float8 AS seconds
FROM task_executions
WHERE started_at >= %(since)s AND state = ANY(%(ran)s) AND duration_ms IS NOT NULL
GROUP BY scraper, task_id
"""


@dataclass(frozen=True)
class MetricsData:
    """Every number of the exposition, read from the store for ``computed_at``."""

    computed_at: datetime
    known: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    items: list[dict[str, Any]]
    last_success: list[dict[str, Any]]
    duration_buckets: list[dict[str, Any]]
    duration_totals: list[dict[str, Any]]
    slo: list[dict[str, Any]]  # SloStatus.to_json() of every status


def read_metrics(conn: psycopg.Connection, slo_config: slo.SloConfig | None, now: datetime) -> MetricsData:
    """Query every family's numbers from the raw rows (seconds at 10 M executions: the endpoint
    serves a snapshot when a fresh one exists)."""
    params: dict[str, Any] = {
        "since": now - WINDOW,
        "known_since": now - KNOWN_FOR,
        "lookback": now - LAST_SUCCESS_LOOKBACK,
        "expected_since": now - ITEMS_EXPECTED_LOOKBACK,
        "success": SUCCESS,
        "skipped": SKIPPED,
        "error_states": sorted(ERROR_STATES),
        "ran": sorted({SUCCESS, *ERROR_STATES}),
        "bounds": list(DURATION_BUCKETS_S),
    }
    return MetricsData(
        computed_at=now,
        known=dict_rows(conn, _KNOWN_SQL, params),
        executions=dict_rows(conn, _EXECUTIONS_SQL, params),
        errors=dict_rows(conn, _ERRORS_SQL, params),
        items=dict_rows(conn, _ITEMS_SQL, params),
        last_success=dict_rows(conn, _LAST_SUCCESS_SQL, params),
        duration_buckets=dict_rows(conn, _DURATION_SQL, params),
        duration_totals=dict_rows(conn, _DURATION_TOTALS_SQL, params),
        slo=[s.to_json() for s in slo_statuses(conn, slo_config, now=now)] if slo_config else [],
    )
