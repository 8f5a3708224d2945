"""The monitor's only contact with Airflow: task callbacks and the cluster policy that attaches them.

Every task of every DAG gets success / failure / retry / skipped callbacks through ``task_policy``
(installed as ``$AIRFLOW_HOME/config/airflow_local_settings.py``), so no DAG author can forget
monitoring. Callbacks run in the task's own process on the worker after it finished; they write
through the monitor's own connection (Airflow 3 workers cannot touch the metadata DB) and never
raise: a monitoring problem must not change a task's outcome.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from scraper_monitor import silent
from scraper_monitor.category import categorize, describe
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS
from scraper_monitor.store.writer import SummaryWriter
from scrapers.outcome import StepResult

log = logging.getLogger(__name__)

MONITOR_CONN_ID = "scraper_monitor_db"
#: A task whose return value is not its StepResult (fan-out tasks return the list Airflow maps
#: over) pushes the StepResult under this XCom key instead.
STEP_RESULT_KEY = "step_result"
_MARK = "_scraper_monitor_callback"


# --- where summaries go ------------------------------------------------------------------------


def connection_dsn(conn_id: str) -> str:
    """A libpq DSN from an Airflow connection (host may be a Unix socket folder)."""
    from airflow.sdk import BaseHook
    from psycopg.conninfo import make_conninfo

    conn = BaseHook.get_connection(conn_id)
    params = {
        "host": conn.host,
        "port": conn.port,
        "dbname": conn.schema,
        "user": conn.login,
        "password": conn.password,
    }
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def monitor_dsn() -> str:
    return os.environ.get("SCRAPER_MONITOR_DSN") or connection_dsn(MONITOR_CONN_ID)


def spool_path() -> Path:
    default = Path(os.environ.get("SCRAPER_MONITOR_HOME", ".")) / ".local" / "spool" / "summaries.jsonl"
    return Path(os.environ.get("SCRAPER_MONITOR_SPOOL", default))


@cache
def _writer_for(dsn: str, spool: Path) -> SummaryWriter:
    return SummaryWriter(dsn, spool)


def _writer() -> SummaryWriter:
    try:
        dsn = monitor_dsn()
    except Exception as exc:  # no connection configured: keep the summary in the spool
        log.warning("scraper monitor: no store connection (%s); spooling", type(exc).__name__)
        dsn = ""
    return _writer_for(dsn, spool_path())


# --- building the summary ----------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _task_result(ti: Any) -> StepResult | None:
    for key in (STEP_RESULT_KEY, "return_value"):
        try:
            raw = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index, key=key)
        except Exception:
            continue
        if isinstance(raw, dict) and isinstance(raw.get("counts"), dict):
            return StepResult.from_dict(raw)
    return None


def _history(dag_id: str, task_id: str) -> silent.History:
    def history(count: str, runs: int) -> Sequence[int]:
        return _writer().history(dag_id, task_id, count, runs)

    return history


def _redact(message: str) -> str:
    from airflow.sdk._shared.secrets_masker import redact  # the path the deprecation warning names

    return str(redact(message))


def build_summary(context: Any, state: str) -> ExecutionSummary:
    ti = context["ti"]
    ended = _now()
    started = getattr(ti, "start_date", None)
    summary = ExecutionSummary(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index if ti.map_index is not None else -1,
        try_number=ti.try_number,
        state=state,
        scraper=ti.dag_id,
        logical_date=context.get("logical_date"),
        started_at=started,
        ended_at=ended,
        duration_ms=int((ended - started).total_seconds() * 1000) if started else None,
    )
    exception = context.get("exception")
    # Each enrichment is optional: a failure in one (a rule, the history lookup, categorization)
    # is logged and the summary is still written, so an execution is never lost to a monitor bug.
    if state == SUCCESS:
        _enrich(summary, "task result", lambda: _add_result(summary, ti))
    elif state == SKIPPED:
        result = _task_result(ti)
        summary.skip_reason = str(exception) if exception else (result.skip_reason if result else None)
    elif exception is not None or state in (FAILED, RETRYING):
        summary.error_message = _redact(describe(exception)) if exception else None
        _enrich(summary, "categorization", lambda: _add_category(summary, exception))
    return summary


def _enrich(summary: ExecutionSummary, what: str, step: Callable[[], None]) -> None:
    try:
        step()
    except Exception:
        log.exception("scraper monitor: %s failed for %s; recording without it", what, summary.key)


def _add_result(summary: ExecutionSummary, ti: Any) -> None:
    result = _task_result(ti)
    if result is None:
        return
    summary.counts, summary.items = result.counts, result.items
    rules = silent.rules_for(ti.dag_id, ti.task_id)
    verdict = silent.evaluate(rules, result.counts, _history(ti.dag_id, ti.task_id))
    summary.silent, summary.silent_reason = verdict.silent, verdict.reason


def _add_category(summary: ExecutionSummary, exception: BaseException | None) -> None:
    found = categorize(exception)
    summary.error_category, summary.error_type, summary.fingerprint = (
        found.category,
        found.error_type,
        found.fingerprint,
    )


def _record(state: str) -> Callable[[Any], None]:
    def callback(context: Any) -> None:
        try:
            _writer().write(build_summary(context, state))
        except Exception:
            log.exception("scraper monitor: could not record the execution (task outcome unchanged)")

    setattr(callback, _MARK, state)
    callback.__name__ = f"record_{state}"
    return callback


ON_SUCCESS = _record(SUCCESS)
ON_FAILURE = _record(FAILED)
ON_RETRY = _record(RETRYING)
ON_SKIPPED = _record(SKIPPED)

_CALLBACKS = {
    "on_success_callback": ON_SUCCESS,
    "on_failure_callback": ON_FAILURE,
    "on_retry_callback": ON_RETRY,
    "on_skipped_callback": ON_SKIPPED,
}


def _with(existing: Any, callback: Callable[[Any], None]) -> list[Any]:
    callbacks = (
        [] if existing is None else list(existing) if isinstance(existing, list | tuple) else [existing]
    )
    if not any(getattr(c, _MARK, None) for c in callbacks):
        callbacks.append(callback)
    return callbacks


def task_policy(task: Any) -> None:
    """Cluster policy: attach the monitor's callbacks to every task, keeping the author's own."""
    for attribute, callback in _CALLBACKS.items():
        setattr(task, attribute, _with(getattr(task, attribute, None), callback))


def has_monitor_callbacks(task: Any) -> bool:
    """True if every monitor callback is attached (used by the coverage test)."""
    return all(
        any(getattr(c, _MARK, None) == cb_state for c in (getattr(task, attr, None) or []))
        for attr, cb_state in ((a, getattr(cb, _MARK)) for a, cb in _CALLBACKS.items())
    )


# --- maintenance (the scraper_monitor_maintenance DAG) -------------------------------------------


def replay_spool() -> dict[str, int]:
    from scraper_monitor.store.spool import replay

    report = replay(monitor_dsn(), spool_path())
    return {"replayed": report.replayed, "failed": report.failed, "rejected": report.rejected}


def refresh_rollups(days: int) -> dict[str, int]:
    from scraper_monitor.store.rollup import rollup_recent

    report = rollup_recent(monitor_dsn(), days)
    return {"days": days, "execution_rows": report.execution_rows, "item_rows": report.item_rows}


def prune_raw_rows(retention_days: int) -> dict[str, int]:
    from scraper_monitor.store.retention import prune

    report = prune(monitor_dsn(), retention_days)
    return {"executions_deleted": report.executions_deleted, "items_deleted": report.items_deleted}


def refresh_snapshots() -> dict[str, object]:
    """The ``scraper_monitor_snapshots`` task: SLO statuses and metrics for the current time."""
    from scraper_monitor.snapshot import refresh

    return refresh(monitor_dsn()).to_json()
