"""Connections to the monitor store.

The store sits on the task's path (callbacks write to it), so every connection gets short timeouts:
a store that is down or wedged must cost a task a couple of seconds, never hang it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

CONNECT_TIMEOUT_S = 2
# TCP connections notice a peer that vanished (failover, partition) in about 10 s instead of the
# kernel's two hours; libpq ignores these for Unix sockets.
_TCP_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
STATEMENT_TIMEOUT_MS = 2_000
# Maintenance (prune, rollup over many days) legitimately runs longer and is off the task path.
MAINTENANCE_STATEMENT_TIMEOUT_MS = 300_000


def connect(
    dsn: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS, idle_in_transaction_ms: int | None = None
) -> psycopg.Connection:
    """An autocommit connection returning dict rows; use ``conn.transaction()`` for atomic work.

    The session time zone is UTC so naive datetimes are read as UTC and ``::date`` gives UTC days.
    ``idle_in_transaction_ms``: the server ends the session when a transaction waits that long on its
    client (a reader that stopped reading must not pin a snapshot and a connection slot).
    """
    options = f"-c statement_timeout={int(statement_timeout_ms)} -c TimeZone=UTC"
    if idle_in_transaction_ms is not None:
        options += f" -c idle_in_transaction_session_timeout={int(idle_in_transaction_ms)}"
    return psycopg.connect(
        dsn,
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=CONNECT_TIMEOUT_S,
        options=options,
        application_name="scraper-monitor",
        **_TCP_OPTIONS,
    )


def describe_error(exc: BaseException) -> str:
    """One line about a store error for logs and the CLI, never echoing the DSN.

    Only connection-level messages (server unreachable, timeout, login refused) are quoted: libpq
    builds them from the host and the server's reply. Any other message may quote the DSN, password
    included (an invalid DSN's does), so those errors are named by class only.
    """
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    name = type(cause).__name__
    if isinstance(cause, psycopg.OperationalError):
        lines = str(cause).strip().splitlines()
        if lines:
            return f"{name}: {lines[0]}"
    return name


@contextmanager
def advisory_lock(conn: psycopg.Connection, key: int) -> Iterator[bool]:
    """Try a session advisory lock; yields whether this session got it, and releases it after."""
    got = conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,)).fetchone()["locked"]
    try:
        yield got
    finally:
        if got:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
