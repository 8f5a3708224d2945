"""What did the chains leave out on purpose? Item outcomes skipped as expected (a showtime of a film
TMDB could not match, a duplicate in a listing) and films not matched, by scraper, task and reason.

This is what the origin system called "cancelled" jobs (seed 001: ShowtimeProcessJob cancelled
because its movie was not matched). Airflow tasks are never cancelled for that here: the task
succeeds and says per item what it skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from scraper_monitor.store.filters import ExecutionFilter

SKIPPED_EXPECTED = "skipped_expected"


@dataclass(frozen=True)
class LeftOut:
    scraper: str
    task_id: str
    entity_type: str
    outcome: str
    reason: str | None
    items: int


def left_out(conn: psycopg.Connection, filters: ExecutionFilter, limit: int) -> list[LeftOut]:
    """The most frequent (scraper, task, entity, outcome, reason) of items skipped as expected or films
    not matched, among the executions ``filters`` selects."""
    where, params = filters.where()
    query = sql.SQL(
        """
        WITH picked AS (SELECT id, scraper, task_id FROM task_executions WHERE {where})
        SELECT p.scraper, p.task_id, i.entity_type, i.outcome, i.reason, count(*) AS items
        FROM picked p JOIN item_outcomes i ON i.execution_id = p.id
        WHERE i.outcome = %(skipped)s OR (i.entity_type = 'film' AND i.outcome = 'failed')
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY items DESC, 1, 2, 3, 5
        LIMIT %(limit)s
        """
    ).format(where=where)
    with conn.cursor(row_factory=class_row(LeftOut)) as cur:
        return cur.execute(query, {**params, "skipped": SKIPPED_EXPECTED, "limit": limit}).fetchall()
