"""The alert evaluator: runs the checks, moves alerts through their lifecycle, delivers what is owed.

One evaluation = checks -> lifecycle transitions (one transaction) -> delivery of pending messages.
Delivery never raises: Slack down or slow leaves the message pending for the next evaluation, and
the first failed send ends this round's delivery so a dead Slack costs one timeout, not one per alert.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import psycopg

from scraper_monitor import slo
from scraper_monitor.alerts.checks import Check, CheckContext, default_checks
from scraper_monitor.alerts.config import AlertConfig, alert_config
from scraper_monitor.alerts.model import Alert
from scraper_monitor.alerts.slack_message import SlackMessage, alert_message
from scraper_monitor.store import alert_state
from scraper_monitor.store.db import advisory_lock, connect

log = logging.getLogger(__name__)

# Delivers one message; raises on any failure (non-200, timeout, connection refused).
Sender = Callable[[SlackMessage], None]

# Session advisory lock: two evaluations at once (a manual trigger next to the schedule) would both
# see an alert as new and both announce it.
EVALUATOR_LOCK_KEY = 727_102
STATEMENT_TIMEOUT_MS = 30_000
_URL = re.compile(r"\w+://\S+")


@dataclass
class EvaluationReport:
    skipped: bool = False  # another evaluation held the lock
    firing: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "<key> <event>"
    failed_sends: list[str] = field(default_factory=list)
    check_errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Evaluator:
    def __init__(
        self,
        dsn: str,
        sender: Sender,
        *,
        slo_config: slo.SloConfig,
        base_url: str,
        config: AlertConfig | None = None,
        checks: Sequence[Check] | None = None,
    ) -> None:
        self.dsn = dsn
        self.sender = sender
        self.slo_config = slo_config
        self.config = config or alert_config(slo_config)
        self.base_url = base_url
        self.checks = list(checks) if checks is not None else default_checks()

    def evaluate(self, now: datetime | None = None) -> EvaluationReport:
        now = now or datetime.now(UTC)
        report = EvaluationReport()
        with (
            connect(self.dsn, statement_timeout_ms=STATEMENT_TIMEOUT_MS) as conn,
            advisory_lock(conn, EVALUATOR_LOCK_KEY) as locked,
        ):
            if not locked:
                report.skipped = True
                return report
            firing = self._run_checks(conn, now, report)
            moved = alert_state.apply(
                conn,
                firing,
                now=now,
                repeat_interval=self.config.repeat_interval,
                unknown_checks=frozenset(report.check_errors),
            )
            report.opened, report.repeated, report.resolved = moved.opened, moved.repeated, moved.resolved
            self._deliver(conn, now, report)
        return report

    def _run_checks(self, conn: psycopg.Connection, now: datetime, report: EvaluationReport) -> list[Alert]:
        ctx = CheckContext(conn=conn, now=now, slo=self.slo_config, alerts=self.config)
        firing: list[Alert] = []
        for check in self.checks:
            try:
                found = check.evaluate(ctx)
            except Exception as exc:  # one broken check must not silence the others
                log.warning("alert check %s failed", check.name, exc_info=True)
                report.check_errors[check.name] = _describe(exc)
                continue
            firing.extend(found)
        report.firing = [alert.key for alert in firing]
        return firing

    def _deliver(self, conn: psycopg.Connection, now: datetime, report: EvaluationReport) -> None:
        for record in alert_state.pending(conn):
            assert record.pending_event is not None
            message = alert_message(
                record.alert,
                record.pending_event,
                base_url=self.base_url,
                opened_at=record.opened_at,
                now=record.resolved_at or now,
            )
            try:
                self.sender(message)
            except Exception as exc:  # Slack down, slow or refusing: retried next evaluation
                error = _describe(exc)
                log.warning("Slack send failed for %s (%s); will retry", record.key, error)
                alert_state.mark_failed(conn, record, error, now)
                report.failed_sends.append(f"{record.key} {record.pending_event}")
                return
            alert_state.mark_sent(conn, record, now)
            report.sent.append(f"{record.key} {record.pending_event}")


def _describe(exc: BaseException) -> str:
    """An error for logs and the state table, with any URL cut out: a webhook URL is a secret."""
    return _URL.sub("<url>", f"{type(exc).__name__}: {exc}")[:500]
