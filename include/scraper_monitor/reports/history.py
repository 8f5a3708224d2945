"""What did this task report in its last runs? The history behind the "drop below the median"
silent-failure rule (``scraper_monitor.silent``), read on the write path for each summary."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from scraper_monitor.reports.base import MAX_LIMIT, check_range
from scraper_monitor.state import SUCCESS


def recent_counts(
    conn: psycopg.Connection, dag_id: str, task_id: str, count: str, runs: int, *, city: str | None
) -> list[int]:
    """Values of one count in the task's last ``runs`` successful tries of runs for ``city`` (None: runs
    without a city), newest first.

    The history behind the "drop below the median" silent-failure rule (``scraper_monitor.silent``).
    Per city: Warsaw's 8 cinemas are no drop from Kraków's 12, and a city that lost half its cinemas
    must not hide behind the others' median. Tries that did not report the count are skipped.
    """
    check_range("runs", runs, 1, MAX_LIMIT)
    query, params = lookup(dag_id, task_id, count, runs, city)
    with conn.cursor(row_factory=tuple_row) as cur:
        return [value for (value,) in cur.execute(query, params).fetchall()]


def lookup(
    dag_id: str, task_id: str, count: str, runs: int, city: str | None
) -> tuple[sql.Composed, dict[str, object]]:
    """``recent_counts``' statement and parameters. Spelled so that the partial index
    ix_task_executions_history (migration 0012) serves it in every plan: the state a literal (a
    generic plan cannot prove a parameter matches the index's predicate), the city the index's
    expression (an equality even for runs without a city, so the index is read in its order)."""
    query = sql.SQL("""
        SELECT (counts ->> %(count)s)::bigint
        FROM task_executions
        WHERE dag_id = %(dag_id)s AND task_id = %(task_id)s AND state = {success}
          AND coalesce(city, '') = %(city)s AND counts ? %(count)s
        ORDER BY started_at DESC NULLS LAST, id DESC
        LIMIT %(runs)s
    """).format(success=sql.Literal(SUCCESS))
    return query, {"dag_id": dag_id, "task_id": task_id, "count": count, "runs": runs, "city": city or ""}
