"""Retention: roll up, then delete raw executions (and, by cascade, their item outcomes).

The cut-off is midnight UTC, ``retention_days`` before now: whole days go, so every pruned day was
rolled up complete, and the retention watermark moves to the cut-off. Rows that arrived late for days
already below the watermark are added to the rollups, never recomputed from (their days' other rows
are gone), and deleted with the rest. Rollup and delete share one REPEATABLE READ snapshot, so a row
committed in between can't be deleted without having been counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import tuple_row

from scraper_monitor.store.db import MAINTENANCE_STATEMENT_TIMEOUT_MS, connect
from scraper_monitor.store.rollup import RollupReport, add_late_rows, day_start, refresh, watermark

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


_MOVE_WATERMARK = """
INSERT INTO retention_watermark (id, pruned_before) VALUES (true, %(day)s)
ON CONFLICT (id) DO UPDATE
SET pruned_before = greatest(retention_watermark.pruned_before, EXCLUDED.pruned_before)
"""


@dataclass(frozen=True)
class PruneReport:
    cutoff: datetime  # raw rows before this instant were deleted
    rollup: RollupReport
    executions_deleted: int
    items_deleted: int
    late_rollup_rows: int = 0  # rollup rows that grew by rows that arrived after their day was pruned


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
            pruned_before = watermark(conn)
            # Complete days (from the old watermark to the cut-off) are recomputed...
            rolled = refresh(conn, None, cutoff_day - timedelta(days=1))
            # ...late rows of days pruned before are added, exactly once: they are deleted below.
            late = add_late_rows(conn, min(pruned_before, cutoff_day)) if pruned_before else 0
            (items,) = cur.execute(_COUNT_ITEMS, {"cutoff": cutoff}).fetchone() or (0,)
            (executions,) = cur.execute(_DELETE_EXECUTIONS, {"cutoff": cutoff}).fetchone() or (0,)
            cur.execute(_MOVE_WATERMARK, {"day": cutoff_day})
    return PruneReport(cutoff, rolled, executions, items, late)
