"""The bodies of the monitor's own DAG tasks: maintenance, snapshots and alert evaluation.

The DAG files stay declarative; each task calls one function here, which resolves the store through
Airflow's connection and returns a small JSON report (shown as the task's XCom).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scraper_monitor import settings
from scraper_monitor.airflow.connections import monitor_dsn

log = logging.getLogger(__name__)


class AlertChecksFailed(RuntimeError):
    """A check could not run (a query error, a bug): its alerts can neither open nor resolve."""


# --- scraper_monitor_maintenance -----------------------------------------------------------------


def replay_spool() -> dict[str, int]:
    from scraper_monitor.store.spool import replay

    report = replay(monitor_dsn(), settings.spool_path())
    return {"replayed": report.replayed, "failed": report.failed, "rejected": report.rejected}


def refresh_rollups(days: int) -> dict[str, int]:
    from scraper_monitor.store.rollup import rollup_recent

    report = rollup_recent(monitor_dsn(), days)
    return {
        "days": days,
        "execution_rows": report.execution_rows,
        "item_rows": report.item_rows,
        "older_keys": report.pending_keys,
    }


def repair_recent_runs(hours: int) -> dict[str, int]:
    """Reconcile the runs that ended in the last ``hours`` and write the summaries that never arrived
    (their worker died, its spool was lost); see ``scraper-monitor reconcile --repair``."""
    from datetime import UTC, datetime, timedelta

    from scraper_monitor.airflow.connections import airflow_api
    from scraper_monitor.airflow.reconciliation import reconcile_since
    from scraper_monitor.store.db import connect

    with connect(monitor_dsn()) as conn:
        runs = reconcile_since(airflow_api(), conn, datetime.now(UTC) - timedelta(hours=hours), repair=True)
    for run in runs:
        if run.recovered:
            log.warning(
                "recovered %d summaries of %s %s: %s",
                len(run.recovered),
                run.dag_id,
                run.run_id,
                run.recovered,
            )
        for difference in run.differences:
            log.warning("%s %s: %s", run.dag_id, run.run_id, difference.text)
    return {
        "runs": len(runs),
        "recovered": sum(len(r.recovered) for r in runs),
        "differences_left": sum(len(r.differences) for r in runs),
    }


def prune_raw_rows(retention_days: int) -> dict[str, int]:
    from scraper_monitor.store.retention import prune

    report = prune(monitor_dsn(), retention_days)
    return {
        "executions_deleted": report.executions_deleted,
        "items_deleted": report.items_deleted,
        "late_rollup_rows": report.late_rollup_rows,
    }


# --- scraper_monitor_snapshots -------------------------------------------------------------------


def refresh_snapshots() -> dict[str, object]:
    """SLO statuses and metrics for the current time."""
    from scraper_monitor.precompute import refresh

    return refresh(monitor_dsn()).to_json()


# --- scraper_monitor_alerts ----------------------------------------------------------------------


def evaluate_alerts(dsn: str | None = None) -> dict[str, Any]:
    """One evaluation; returns the report.

    Slack trouble never fails the task: the next evaluation retries the send. A check that could not
    run does fail it, after everything else was evaluated and sent, so a blind spot is visible in
    Airflow instead of only in a log line.
    """
    from scraper_monitor import slo
    from scraper_monitor.airflow.notifications import SlackHookSender, airflow_base_url
    from scraper_monitor.alerts.config import alert_config
    from scraper_monitor.alerts.evaluator import Evaluator

    slo_config = slo.load_config()
    sender = SlackHookSender(timeout_seconds=alert_config(slo_config).slack_timeout_seconds)
    evaluator = Evaluator(dsn or monitor_dsn(), sender, slo_config=slo_config, base_url=airflow_base_url())
    report = evaluator.evaluate()
    log.info(
        "alerts: %d firing, opened %s, repeated %s, resolved %s, sent %s",
        len(report.firing),
        report.opened,
        report.repeated,
        report.resolved,
        report.sent,
    )
    if report.failed_sends:
        log.warning("alerts: Slack did not take %s; retried on the next evaluation", report.failed_sends)
    if report.check_errors:
        raise AlertChecksFailed(f"alert checks failed: {report.check_errors}")
    return report.to_json()


# --- city_discovery ------------------------------------------------------------------------------


class TriggersFailed(RuntimeError):
    """Airflow refused or missed some triggers: those stay due, the task's retry queues them."""


def queue_due_sources(at: Any, dry_run: bool) -> dict[str, Any]:
    """Trigger every due city-source for the day of ``at`` (the orchestrator run's logical date or
    run_after); the report lists each with its outcome. Fails after writing back what was queued when
    any trigger failed, so Airflow shows it and the retry queues only what is still due."""
    from scraper_monitor.airflow.connections import airflow_api
    from scraper_monitor.airflow.discovery import queue_due
    from scraper_monitor.store.db import MAINTENANCE_STATEMENT_TIMEOUT_MS, connect

    with connect(monitor_dsn(), statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn:
        results = queue_due(airflow_api(), conn, at, dry_run=dry_run)
    for item in results:
        log.info("%s %s: %s %s %s", item.city, item.source, item.outcome, item.run_id, item.detail)
    counts = Counter(item.outcome for item in results)
    report = {"dry_run": dry_run, "counts": dict(counts), "sources": [i.to_json() for i in results]}
    failed = [f"{i.city}/{i.source}: {i.detail}" for i in results if i.outcome == "failed"]
    if failed:
        raise TriggersFailed(f"{len(failed)} of {len(results)} triggers failed: {'; '.join(failed)}")
    return report
