"""Storing one ExecutionSummary: the upsert shared by the writer and the spool replay."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from scraper_monitor.execution import MESSAGE_MAX_CHARS, ExecutionSummary

EXTERNAL_ID_MAX_CHARS = 300
REASON_MAX_CHARS = 500

# On a conflict the newer version wins. A replayed spool entry may be older than what a later
# direct write stored for the same try; ended_at tells them apart (equal or unknown: overwrite).
_UPSERT = """
INSERT INTO task_executions (
    dag_id, run_id, task_id, map_index, try_number, scraper, logical_date, state,
    started_at, ended_at, duration_ms, counts, error_category, error_type, error_message,
    fingerprint, silent, silent_reason, skip_reason
) VALUES (
    %(dag_id)s, %(run_id)s, %(task_id)s, %(map_index)s, %(try_number)s, %(scraper)s,
    %(logical_date)s, %(state)s, %(started_at)s, %(ended_at)s, %(duration_ms)s, %(counts)s,
    %(error_category)s, %(error_type)s, %(error_message)s, %(fingerprint)s, %(silent)s,
    %(silent_reason)s, %(skip_reason)s
)
ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET
    scraper = EXCLUDED.scraper,
    logical_date = EXCLUDED.logical_date,
    state = EXCLUDED.state,
    started_at = EXCLUDED.started_at,
    ended_at = EXCLUDED.ended_at,
    duration_ms = EXCLUDED.duration_ms,
    counts = EXCLUDED.counts,
    error_category = EXCLUDED.error_category,
    error_type = EXCLUDED.error_type,
    error_message = EXCLUDED.error_message,
    fingerprint = EXCLUDED.fingerprint,
    silent = EXCLUDED.silent,
    silent_reason = EXCLUDED.silent_reason,
    skip_reason = EXCLUDED.skip_reason
WHERE EXCLUDED.ended_at IS NULL
   OR task_executions.ended_at IS NULL
   OR EXCLUDED.ended_at >= task_executions.ended_at
RETURNING id, coalesce(ended_at, started_at, recorded_at) AS items_at
"""

_COPY_ITEMS = (
    "COPY item_outcomes (execution_id, scraper, entity_type, external_id, outcome, category, reason,"
    " recorded_at) FROM STDIN"
)


def _text(value: str | None, limit: int | None = None) -> str | None:
    """PostgreSQL text cannot hold NUL; scraped text sometimes does. Bound what has a column limit."""
    if value is None:
        return None
    value = value.replace("\x00", "\ufffd")
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def _params(summary: ExecutionSummary) -> dict[str, Any]:
    return {
        "dag_id": _text(summary.dag_id),
        "run_id": _text(summary.run_id),
        "task_id": _text(summary.task_id),
        "map_index": summary.map_index,
        "try_number": summary.try_number,
        "scraper": _text(summary.scraper),
        "logical_date": summary.logical_date,
        "state": summary.state,
        "started_at": summary.started_at,
        "ended_at": summary.ended_at,
        "duration_ms": summary.duration_ms,
        "counts": Jsonb({_text(k): int(v) for k, v in summary.counts.items()}),
        "error_category": _text(summary.error_category),
        "error_type": _text(summary.error_type),
        "error_message": _text(summary.error_message, MESSAGE_MAX_CHARS),
        "fingerprint": _text(summary.fingerprint),
        "silent": bool(summary.silent),
        "silent_reason": _text(summary.silent_reason),
        "skip_reason": _text(summary.skip_reason),
    }


def save(conn: psycopg.Connection, summary: ExecutionSummary) -> int | None:
    """Upsert the summary and replace its item outcomes, atomically.

    Returns the execution id, or None when the store already holds a newer version of this try.
    """
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(_UPSERT, _params(summary)).fetchone()
        if row is None:
            return None
        execution_id, items_at = row
        cur.execute("DELETE FROM item_outcomes WHERE execution_id = %s", (execution_id,))
        if summary.items:
            scraper = _text(summary.scraper)
            with cur.copy(_COPY_ITEMS) as copy:
                for item in summary.items:
                    copy.write_row(
                        (
                            execution_id,
                            scraper,
                            _text(item.entity_type),
                            _text(item.external_id, EXTERNAL_ID_MAX_CHARS),
                            item.outcome,
                            _text(item.category),
                            _text(item.reason, REASON_MAX_CHARS),
                            items_at,
                        )
                    )
    return execution_id
