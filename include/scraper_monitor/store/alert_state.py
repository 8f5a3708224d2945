"""The alert lifecycle, stored in ``alert_state`` (migration 0002) so a restart neither repeats nor
forgets; the alert evaluator (``scraper_monitor.alerts.evaluator``) drives it.

Each row is one alert key for its whole life. A message owed to Slack is written first
(``pending_send`` + ``pending_event``) and cleared only after Slack accepted it: a failed or timed-out
send stays pending and is retried on the next evaluation. Delivery is at least once: an accepted
message is marked sent one statement after Slack's 200 (``mark_sent``), so only a crash in between, or
a 200 that never reached us, sends it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from scraper_monitor.alerts.model import Alert, Event

OPEN = "open"
RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertRecord:
    key: str
    status: str
    opened_at: datetime
    last_sent_at: datetime | None
    resolved_at: datetime | None
    pending_event: Event | None
    alert: Alert

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertRecord:
        return cls(
            key=row["key"],
            status=row["status"],
            opened_at=row["opened_at"],
            last_sent_at=row["last_sent_at"],
            resolved_at=row["resolved_at"],
            pending_event=row["pending_event"],
            alert=Alert.from_json(row["last_payload"]),
        )


@dataclass
class Transitions:
    opened: list[str]
    repeated: list[str]
    resolved: list[str]


def apply(
    conn: psycopg.Connection,
    firing: Iterable[Alert],
    *,
    now: datetime,
    repeat_interval: timedelta,
    unknown_checks: frozenset[str] = frozenset(),
) -> Transitions:
    """Moves every alert one step through its lifecycle, in one transaction.

    ``unknown_checks``: checks that could not run this time; their open alerts are left as they are
    (an error in a check must not read as "everything is fine" and resolve them).
    """
    firing_by_key = {alert.key: alert for alert in firing}
    result = Transitions(opened=[], repeated=[], resolved=[])
    with conn.transaction():
        records = _load(conn, list(firing_by_key))
        for key, alert in firing_by_key.items():
            _fire(conn, records.get(key), alert, now, repeat_interval, result)
        for key, record in records.items():
            if key in firing_by_key or record.status != OPEN or record.alert.check in unknown_checks:
                continue
            _resolve(conn, record, now, result)
    return result


def pending(conn: psycopg.Connection) -> list[AlertRecord]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM alert_state WHERE pending_send ORDER BY updated_at, key")
        return [AlertRecord.from_row(row) for row in cur.fetchall()]


def mark_sent(conn: psycopg.Connection, record: AlertRecord, now: datetime) -> None:
    # Conditional on the event still being the one that was sent: never clears a newer one.
    conn.execute(
        """
        UPDATE alert_state
        SET pending_send = false, pending_event = NULL, last_sent_at = %(now)s, send_attempts = 0,
            last_error = NULL, updated_at = %(now)s
        WHERE key = %(key)s AND pending_event = %(event)s
        """,
        {"key": record.key, "event": record.pending_event, "now": now},
    )


def mark_failed(conn: psycopg.Connection, record: AlertRecord, error: str, now: datetime) -> None:
    conn.execute(
        """
        UPDATE alert_state SET send_attempts = send_attempts + 1, last_error = %(error)s, updated_at = %(now)s
        WHERE key = %(key)s
        """,
        {"key": record.key, "error": error, "now": now},
    )


def all_records(conn: psycopg.Connection) -> list[AlertRecord]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM alert_state ORDER BY key")
        return [AlertRecord.from_row(row) for row in cur.fetchall()]


# --- transitions -------------------------------------------------------------------------------


def _load(conn: psycopg.Connection, firing_keys: list[str]) -> dict[str, AlertRecord]:
    """Open alerts, alerts with an undelivered message and every firing key; locked for the update."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            SELECT * FROM alert_state
            WHERE status = %(open)s OR pending_send OR key = ANY(%(keys)s)
            FOR UPDATE
            """,
            {"open": OPEN, "keys": firing_keys},
        )
        return {row["key"]: AlertRecord.from_row(row) for row in cur.fetchall()}


def _fire(
    conn: psycopg.Connection,
    record: AlertRecord | None,
    alert: Alert,
    now: datetime,
    repeat_interval: timedelta,
    result: Transitions,
) -> None:
    if record is None or (record.status == RESOLVED and record.pending_event is None):
        _write(conn, alert, status=OPEN, opened_at=now, resolved_at=None, event="opened", now=now)
        result.opened.append(alert.key)
        return
    if record.status == RESOLVED:
        # Back before Slack heard it was resolved: from Slack's view it never closed, so the
        # undelivered "resolved" is dropped and the alert simply stays open.
        _write(conn, alert, status=OPEN, opened_at=record.opened_at, resolved_at=None, event=None, now=now)
        return
    event = record.pending_event
    due = record.last_sent_at is not None and now - record.last_sent_at >= repeat_interval
    if event is None and due:
        event = "repeat"
        result.repeated.append(alert.key)
    # The payload always gets the latest numbers, so a retried or repeated message shows them.
    _write(conn, alert, status=OPEN, opened_at=record.opened_at, resolved_at=None, event=event, now=now)


def _resolve(conn: psycopg.Connection, record: AlertRecord, now: datetime, result: Transitions) -> None:
    # Slack never heard of an alert whose "opened" was not delivered: close it without a word.
    event: Event | None = None if record.pending_event == "opened" else "resolved"
    _write(
        conn, record.alert, status=RESOLVED, opened_at=record.opened_at, resolved_at=now, event=event, now=now
    )
    result.resolved.append(record.key)


def _write(
    conn: psycopg.Connection,
    alert: Alert,
    *,
    status: str,
    opened_at: datetime,
    resolved_at: datetime | None,
    event: Event | None,
    now: datetime,
) -> None:
    conn.execute(
        """
        INSERT INTO alert_state (key, check_name, scraper, severity, status, opened_at, resolved_at,
                                 last_payload, pending_send, pending_event, send_attempts, updated_at)
        VALUES (%(key)s, %(check)s, %(scraper)s, %(severity)s, %(status)s, %(opened_at)s, %(resolved_at)s,
                %(payload)s, %(pending)s, %(event)s, 0, %(now)s)
        ON CONFLICT (key) DO UPDATE SET
            check_name = EXCLUDED.check_name, scraper = EXCLUDED.scraper, severity = EXCLUDED.severity,
            status = EXCLUDED.status, opened_at = EXCLUDED.opened_at, resolved_at = EXCLUDED.resolved_at,
            last_payload = EXCLUDED.last_payload, pending_send = EXCLUDED.pending_send,
            pending_event = EXCLUDED.pending_event, updated_at = EXCLUDED.updated_at,
            send_attempts = CASE WHEN alert_state.pending_event IS DISTINCT FROM EXCLUDED.pending_event
                                 THEN 0 ELSE alert_state.send_attempts END
        """,
        {
            "key": alert.key,
            "check": alert.check,
            "scraper": alert.scraper,
            "severity": alert.severity,
            "status": status,
            "opened_at": opened_at,
            "resolved_at": resolved_at,
            "payload": Jsonb(alert.to_json()),
            "pending": event is not None,
            "event": event,
            "now": now,
        },
    )
