"""File the stored tries of one fingerprint again (after a rule was added for it), and keep the daily
rollups in step: they count failures per error category, so every (day, scraper) whose rows changed
category is rolled up again in the same transaction. A reader sees the old filing or the new one,
never rows and rollups that disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.rows import tuple_row

from scraper_monitor.category import Categorization
from scraper_monitor.store import rollup

_ROWS = """
SELECT id, error_message, scraper, (coalesce(started_at, recorded_at) AT TIME ZONE 'UTC')::date
FROM task_executions WHERE fingerprint = %(fingerprint)s
ORDER BY id
FOR UPDATE
"""

_UPDATE = """
UPDATE task_executions SET error_category = %(category)s, error_type = %(error_type)s,
                           fingerprint = %(fingerprint)s
WHERE id = %(id)s
"""


@dataclass(frozen=True)
class Recategorized:
    fingerprint: str
    rows: int  # stored tries with the fingerprint
    changed: int  # of them, filed differently now
    rollup_days: int  # (day, scraper) rollup keys recomputed
    #: (category, error_type, fingerprint) -> tries filed so now
    filed_as: dict[tuple[str, str, str], int]


def recategorize(
    conn: psycopg.Connection, fingerprint: str, file: Callable[[str], Categorization]
) -> Recategorized:
    """File every stored try of ``fingerprint`` with ``file`` (categorize, with today's rules)."""
    filed_as: dict[tuple[str, str, str], int] = {}
    keys: dict[date, set[str]] = {}
    changed = 0
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(_ROWS, {"fingerprint": fingerprint}).fetchall()
        for row_id, message, scraper, day in rows:
            result = file(message or "")
            key = (result.category, result.error_type, result.fingerprint)
            filed_as[key] = filed_as.get(key, 0) + 1
            if result.fingerprint == fingerprint:
                continue  # same category, type and text: nothing to write
            cur.execute(
                _UPDATE,
                {
                    "id": row_id,
                    "category": result.category,
                    "error_type": result.error_type,
                    "fingerprint": result.fingerprint,
                },
            )
            changed += 1
            keys.setdefault(day, set()).add(scraper)
        for day, scrapers in sorted(keys.items()):
            rollup.refresh(conn, day, day, sorted(scrapers))
    return Recategorized(fingerprint, len(rows), changed, sum(len(s) for s in keys.values()), filed_as)
