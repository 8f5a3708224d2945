"""The ``snapshots`` table: named JSON documents of precomputed numbers, each with its "as of" time.

What goes in them and who refreshes them: ``scraper_monitor.snapshot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

# Older than this, readers compute the numbers themselves: a snapshot DAG that stopped must not
# leave the panels showing last week's SLOs as current.
MAX_AGE = timedelta(minutes=30)
# A snapshot stamped a little after "now" was computed on a host whose clock runs ahead.
CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class Snapshot:
    name: str
    computed_at: datetime
    body: Any

    def age(self, now: datetime) -> timedelta:
        return now - self.computed_at


def save(conn: psycopg.Connection, name: str, computed_at: datetime, body: Any) -> None:
    """Replace the snapshot ``name``; an older ``computed_at`` never overwrites a newer one (two
    refreshes that overlap finish in either order)."""
    conn.execute(
        """
        INSERT INTO snapshots (name, computed_at, body) VALUES (%s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET computed_at = EXCLUDED.computed_at, body = EXCLUDED.body
        WHERE snapshots.computed_at <= EXCLUDED.computed_at
        """,
        (name, computed_at, Jsonb(body)),
    )


def load(conn: psycopg.Connection, name: str) -> Snapshot | None:
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute("SELECT computed_at, body FROM snapshots WHERE name = %s", (name,)).fetchone()
    return None if row is None else Snapshot(name, row[0], row[1])


def load_fresh(
    conn: psycopg.Connection, name: str, now: datetime, max_age: timedelta = MAX_AGE
) -> Snapshot | None:
    """The snapshot if it describes a moment at most ``max_age`` before ``now`` (and not after it,
    beyond clock skew)."""
    found = load(conn, name)
    if found is None or not -CLOCK_SKEW <= found.age(now) <= max_age:
        return None
    return found
