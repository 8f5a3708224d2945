"""Storing one ExecutionSummary: the upsert shared by the writer and the spool replay.

Every stored field is bounded, whatever a task returns or raises (scraped text is untrusted and
unbounded): ids and names 250 characters (Airflow's own limit), error message 2,000, fingerprint 400,
silent and skip reasons 500, error category and type 100, city key 100; ``counts`` at most 100 keys of 100
characters; ``duration_ms`` at most 2^31 - 1 (24.8 days: a sensor deferred longer is stored as that);
per item, external id 300 and reason 500 characters; a film's match, its titles 300 and its method 100
characters, its confidence clamped to [0, 1]. Text is cut with a trailing "…", NUL replaced.
Item outcomes are written in batches of ``ITEM_BATCH`` rows, each its own statement, so a try with a
huge item list never runs into the statement timeout as one statement would.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from scraper_monitor.city import CITY_MAX_CHARS
from scraper_monitor.execution import MESSAGE_MAX_CHARS, ExecutionSummary
from scraper_monitor.store.rows import Execution
from scrapers.outcome import MatchQuality

EXTERNAL_ID_MAX_CHARS = 300
REASON_MAX_CHARS = 500
NAME_MAX_CHARS = 250
COUNTS_MAX_KEYS = 100
COUNT_NAME_MAX_CHARS = 100
DURATION_MS_MAX = 2**31 - 1  # the column is an int4
ITEM_BATCH = 5_000

# The row's columns come from the row dataclass, as the reads' SELECT does: a column added to
# Execution is written and read everywhere. The store assigns id and recorded_at itself.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Execution) if f.name not in ("id", "recorded_at"))
KEY: tuple[str, ...] = ("dag_id", "run_id", "task_id", "map_index", "try_number")
# Every text column's bound (the module docstring lists them).
_MAX_CHARS = {
    "dag_id": NAME_MAX_CHARS,
    "run_id": NAME_MAX_CHARS,
    "task_id": NAME_MAX_CHARS,
    "scraper": NAME_MAX_CHARS,
    "state": 30,
    "error_category": 100,
    "error_type": 100,
    "error_message": MESSAGE_MAX_CHARS,
    "fingerprint": 400,
    "silent_reason": REASON_MAX_CHARS,
    "skip_reason": REASON_MAX_CHARS,
    "hostname": NAME_MAX_CHARS,
    "city": CITY_MAX_CHARS,
}

# On a conflict the newer version wins. A replayed spool entry may be older than what a later
# direct write stored for the same try; ended_at tells them apart (equal or unknown: overwrite).
# A recovered summary (the repair's, from Airflow's record) only fills a gap, and the task's own
# summary, arriving late from a spool, always replaces it: it knows the counts and items.
_UPSERT = sql.SQL("""
INSERT INTO task_executions ({columns}) VALUES ({values})
ON CONFLICT ({key}) DO UPDATE SET {updates}
WHERE NOT EXCLUDED.recovered AND (
      task_executions.recovered
   OR EXCLUDED.ended_at IS NULL
   OR task_executions.ended_at IS NULL
   OR EXCLUDED.ended_at >= task_executions.ended_at)
RETURNING id, coalesce(ended_at, started_at, recorded_at) AS items_at
""").format(
    columns=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
    values=sql.SQL(", ").join(map(sql.Placeholder, COLUMNS)),
    key=sql.SQL(", ").join(map(sql.Identifier, KEY)),
    updates=sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in COLUMNS if name not in KEY
    ),
)

_COPY_ITEMS = (
    "COPY item_outcomes (execution_id, scraper, entity_type, external_id, outcome, category, reason,"
    " recorded_at, film_title, match_confidence, match_method, tmdb_id, tmdb_title) FROM STDIN"
)
TITLE_MAX_CHARS = 300
METHOD_MAX_CHARS = 100
TMDB_ID_MAX = 2**63 - 1  # the column is an int8


_PENDING = "INSERT INTO rollup_pending (day, scraper) VALUES (%(day)s, %(scraper)s) ON CONFLICT DO NOTHING"


def _day(summary: ExecutionSummary) -> date:
    """The rollup day of a summary: the UTC date it started (else now, as recorded_at will be)."""
    started = summary.started_at or datetime.now(UTC)
    return (started.replace(tzinfo=UTC) if started.tzinfo is None else started.astimezone(UTC)).date()


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: str | None, limit: int | None = None) -> str | None:
    """PostgreSQL text cannot hold NUL, nor (UTF-8) a lone surrogate; scraped text sometimes does.
    Bound what has a column limit."""
    if value is None:
        return None
    value = _UNSTORABLE.sub("\ufffd", value)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def _params(summary: ExecutionSummary) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in COLUMNS:
        value = getattr(summary, name)
        if name == "counts":
            value = Jsonb(_counts(value))
        elif name == "duration_ms" and value is not None:
            value = max(0, min(int(value), DURATION_MS_MAX))
        elif isinstance(value, str):
            value = _text(value, _MAX_CHARS.get(name))
        params[name] = value
    return params


def _match(match: MatchQuality | None) -> tuple[Any, ...]:
    """A film item's match columns (migration 0010); NULLs for every other item."""
    if match is None:
        return (None,) * 5
    tmdb_id = match.tmdb_id if isinstance(match.tmdb_id, int) and 0 <= match.tmdb_id <= TMDB_ID_MAX else None
    confidence = float(match.confidence)
    return (
        _text(match.title, TITLE_MAX_CHARS),
        min(max(confidence, 0.0), 1.0) if math.isfinite(confidence) else None,
        _text(match.method, METHOD_MAX_CHARS),
        tmdb_id,
        _text(match.tmdb_title, TITLE_MAX_CHARS),
    )


def _counts(counts: dict[str, int]) -> dict[str | None, int]:
    """At most COUNTS_MAX_KEYS counts (the first ones a task reported), names bounded."""
    return {
        _text(str(name), COUNT_NAME_MAX_CHARS): int(value)
        for name, value in list(counts.items())[:COUNTS_MAX_KEYS]
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
        if (day := _day(summary)) < datetime.now(UTC).date() - timedelta(days=1):
            # Older than the regular rollup window (a spool replayed after an outage): list the key
            # so the maintenance DAG rolls that day up whatever its age.
            cur.execute(_PENDING, {"day": day, "scraper": _text(summary.scraper, NAME_MAX_CHARS)})
        cur.execute("DELETE FROM item_outcomes WHERE execution_id = %s", (execution_id,))
        scraper = _text(summary.scraper, NAME_MAX_CHARS)
        for start in range(0, len(summary.items), ITEM_BATCH):
            # Each batch's rows are bounded before its COPY starts: the statement timeout then covers
            # sending them, not this loop too (on a busy worker, building 5,000 rows in Python took a
            # few hundred milliseconds of a COPY's time).
            rows = [
                (
                    execution_id,
                    scraper,
                    _text(item.entity_type, 100),
                    _text(item.external_id, EXTERNAL_ID_MAX_CHARS),
                    item.outcome,
                    _text(item.category, 100),
                    _text(item.reason, REASON_MAX_CHARS),
                    items_at,
                    *_match(item.match),
                )
                for item in summary.items[start : start + ITEM_BATCH]
            ]
            with cur.copy(_COPY_ITEMS) as copy:
                for row in rows:
                    copy.write_row(row)
    return execution_id
