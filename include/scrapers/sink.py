"""Where processed showtimes go: an idempotent upsert that tells created from updated."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import psycopg

log = logging.getLogger(__name__)

UpsertOutcome = Literal["created", "updated"]

# Scraped text is untrusted: bound every column, and the payload as a whole.
MAX_EXTERNAL_ID = 300
MAX_TITLE = 500
MAX_CINEMA = 300
MAX_SOURCE = 50
MAX_PAYLOAD_STRING = 2000
MAX_PAYLOAD_BYTES = 32_000


@dataclass(frozen=True)
class ShowtimeRecord:
    external_id: str
    source: str
    title: str | None
    tmdb_id: int | None
    cinema: str | None
    starts_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


class ShowtimeSink(Protocol):
    def upsert(self, records: Sequence[ShowtimeRecord]) -> dict[str, UpsertOutcome]:
        """Store the batch; for every external id say whether it was new or already there."""
        ...


def clean_text(value: str | None, limit: int) -> str | None:
    """Text PostgreSQL accepts (no NUL), at most ``limit`` characters."""
    if value is None:
        return None
    return value.replace("\x00", "")[:limit]


def _clean_payload(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value, MAX_PAYLOAD_STRING)
    if isinstance(value, dict):
        return {str(clean_text(str(k), 200)): _clean_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_payload(v) for v in value]
    return value


def payload_json(payload: dict[str, Any]) -> str:
    text = json.dumps(_clean_payload(payload), ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        return json.dumps({"truncated": True, "bytes": len(text.encode())})
    return text


_CREATE = """
CREATE TABLE IF NOT EXISTS scraped_showtimes (
    external_id   varchar(300) PRIMARY KEY,
    source        varchar(50) NOT NULL,
    title         varchar(500),
    tmdb_id       bigint,
    cinema        varchar(300),
    starts_at     timestamptz NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
)
"""

# One statement per batch. xmax = 0 on the returned row means this statement inserted it; a row
# that went through ON CONFLICT DO UPDATE carries the updating transaction's id.
_UPSERT = """
INSERT INTO scraped_showtimes AS s (external_id, source, title, tmdb_id, cinema, starts_at, payload)
SELECT external_id, source, title, tmdb_id, cinema, starts_at, payload::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[])
    AS batch(external_id, source, title, tmdb_id, cinema, starts_at, payload)
ON CONFLICT (external_id) DO UPDATE SET
    source = EXCLUDED.source,
    title = EXCLUDED.title,
    tmdb_id = EXCLUDED.tmdb_id,
    cinema = EXCLUDED.cinema,
    starts_at = EXCLUDED.starts_at,
    payload = EXCLUDED.payload,
    last_seen_at = now()
RETURNING s.external_id, (s.xmax = 0) AS inserted
"""


class PostgresShowtimeSink:
    """``scraped_showtimes`` in PostgreSQL (psycopg 3); creates the table on first use."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._table_ready = False

    def _ensure_table(self, conn: psycopg.Connection) -> None:
        if self._table_ready:
            return
        # Parallel showtimes tasks may all find the table missing; the lock serialises the CREATE
        # (IF NOT EXISTS alone can still collide on the catalog's unique index).
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('scraped_showtimes'))")
        conn.execute(_CREATE)

    def upsert(self, records: Sequence[ShowtimeRecord]) -> dict[str, UpsertOutcome]:
        if not records:
            return {}
        # ON CONFLICT cannot touch one row twice in a statement: the last record of an id wins.
        batch = {r.external_id: r for r in records}
        for external_id in batch:
            if not external_id or len(external_id) > MAX_EXTERNAL_ID or "\x00" in external_id:
                # Truncating would merge distinct showtimes; the step validates ids before this.
                raise ValueError(f"external id must be 1..{MAX_EXTERNAL_ID} characters without NUL")
        rows = list(batch.values())
        params = (
            [r.external_id for r in rows],
            [clean_text(r.source, MAX_SOURCE) for r in rows],
            [clean_text(r.title, MAX_TITLE) for r in rows],
            [r.tmdb_id for r in rows],
            [clean_text(r.cinema, MAX_CINEMA) for r in rows],
            [r.starts_at for r in rows],
            [payload_json(r.payload) for r in rows],
        )
        with psycopg.connect(self._dsn) as conn:
            self._ensure_table(conn)
            result = conn.execute(_UPSERT, params).fetchall()
        # Only after the commit: a rolled-back batch also rolled back a CREATE in it.
        self._table_ready = True
        outcomes: dict[str, UpsertOutcome] = {
            external_id: "created" if inserted else "updated" for external_id, inserted in result
        }
        log.info(
            "upserted %d showtimes (%d created)",
            len(outcomes),
            sum(o == "created" for o in outcomes.values()),
        )
        return outcomes
