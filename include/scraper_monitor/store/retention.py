"""Retention: roll up, then delete raw executions (and, by cascade, their item outcomes).

The cut-off is midnight UTC, ``retention_days`` before now: whole days go, so every pruned day was
rolled up complete. Rollup and delete share one REPEATABLE READ snapshot, so a row committed in
between can't be deleted without having been counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import tuple_row

from scraper_monitor.store.db import MAINTENANCE_STATEMENT_TIMEOUT_MS, connect
from scraper_monitor.store.rollup import RollupReport, day_start, refresh

DEFAULT_RETENTION_DAYS = 90

_COUNT_ITEMS = """
SELECT count(*) FROM item_outcomes i
JOIN task_executions e ON e.id = i.execution_id
WHERE coalesce(e.started_at, e.recorded_at) < %(cutoff)s
"""
_DELETE_EXECUTIONS = """
WITH gone AS (
    DELETE FROM task_executions WHERE coalesce(started_at, recorded_at) < %(cutoff)s RETURNING 1
)
SELECT count(*) FROM gone
"""


@dataclass(frozen=True)
class PruneReport:
    cutoff: datetime  # raw rows before this instant were deleted
    rollup: RollupReport
    executions_deleted: int
    items_deleted: int


def prune(dsn: str, retention_days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None) -> PruneReport:
    if retention_days < 1:
        raise ValueError(f"retention must be at least 1 day, got {retention_days}")
    now = now or datetime.now(UTC)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)  # naive = UTC
    cutoff_day = (now - timedelta(days=retention_days)).date()
    cutoff = day_start(cutoff_day)
    with connect(dsn, statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
            rolled = refresh(conn, None, cutoff_day - timedelta(days=1))
            (items,) = cur.execute(_COUNT_ITEMS, {"cutoff": cutoff}).fetchone() or (0,)
            (executions,) = cur.execute(_DELETE_EXECUTIONS, {"cutoff": cutoff}).fetchone() or (0,)
    return PruneReport(cutoff, rolled, executions, items)
