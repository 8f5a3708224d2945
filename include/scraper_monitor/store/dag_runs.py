"""``dag_runs``, one row per DAG run with executions (migration 0011): kept by triggers on
task_executions, except during a bulk load, which recounts it from the executions once at the end.

The deferred row trigger still runs once per execution at the commit (it merges each run once and
returns at once for the run's other rows): nothing for the writer (one execution per transaction),
minutes for a generated store of ten million rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

_REBUILD = """
WITH gone AS (DELETE FROM dag_runs)
INSERT INTO dag_runs (dag_id, run_id, city, started_at, failed)
SELECT dag_id, run_id, max(city), min(coalesce(started_at, recorded_at)),
       bool_or(state IN ('failed', 'upstream_failed'))
FROM task_executions
GROUP BY dag_id, run_id
"""


@contextmanager
def bulk_load(conn: psycopg.Connection) -> Iterator[None]:
    """Insert executions in bulk inside: the per-row merge is off (for every session: a bulk load owns
    the store), and every run is recounted when the block ends."""
    conn.execute("ALTER TABLE task_executions DISABLE TRIGGER dag_runs_on_write")
    try:
        yield
    finally:
        conn.execute("ALTER TABLE task_executions ENABLE TRIGGER dag_runs_on_write")
    conn.execute(_REBUILD)
