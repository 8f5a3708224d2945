"""Task callbacks and the cluster policy that attaches them to every task of every DAG.

``task_policy`` (installed as ``$AIRFLOW_HOME/config/airflow_local_settings.py``) gives every task
success / failure / retry / skipped callbacks, so no DAG author can forget monitoring. Callbacks run
in the task's own process on the worker after it finished; they read the try from Airflow, build the
summary with ``scraper_monitor.recording``, and write it through the monitor's own connection
(Airflow 3 workers cannot touch the metadata DB). They never raise: a monitoring problem must not
change a task's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from scraper_monitor import settings, silent
from scraper_monitor.airflow.connections import monitor_dsn
from scraper_monitor.city import city_of
from scraper_monitor.recording import SITES_KEY, TryFacts, build_summary, scraper_name
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS
from scraper_monitor.store.writer import SummaryWriter, WriteResult
from scrapers.outcome import StepResult

log = logging.getLogger(__name__)

#: A scraper task pushes what the monitor records (``StepResult.for_monitor()``) under this XCom key.
#: The callback reads this key only, never a task's return value: a task of any DAG in the deployment
#: may return megabytes, and pulling them would eat the callback's budget after the task.
STEP_RESULT_KEY = "step_result"
_MARK = "_scraper_monitor_callback"


# --- where summaries go ------------------------------------------------------------------------


@cache
def _writer_for(dsn: str, spool: Path) -> SummaryWriter:
    return SummaryWriter(dsn, spool)


def _writer() -> SummaryWriter:
    try:
        dsn = monitor_dsn()
    except Exception as exc:  # no connection configured: keep the summary in the spool
        log.warning("scraper monitor: no store connection (%s); spooling", type(exc).__name__)
        dsn = ""
    return _writer_for(dsn, settings.spool_path())


# --- reading the try from Airflow ----------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _task_result(ti: Any) -> StepResult | None:
    raw = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index, key=STEP_RESULT_KEY)
    if isinstance(raw, dict) and isinstance(raw.get("counts"), dict):
        return StepResult.from_dict(raw)
    return None


def _history(dag_id: str, task_id: str, params: dict[str, Any]) -> silent.History:
    def history(count: str, runs: int) -> Sequence[int]:
        if params.get(SITES_KEY):
            return []  # another set of sites: the usual runs' volumes are no yardstick
        return _writer().history(dag_id, task_id, count, runs, city=city_of(params))

    return history


def _redact(message: str) -> str:
    from airflow.sdk._shared.secrets_masker import redact  # the path the deprecation warning names

    return str(redact(message))


def _run_params(context: Any) -> dict[str, Any]:
    """The run's params as the task saw them (the DAG's defaults, overridden by the trigger's conf),
    with the conf read too, for a DAG that takes its city from conf without declaring a param."""
    params: dict[str, Any] = {}
    try:
        params.update(context.get("params") or {})
        params.update(getattr(context.get("dag_run"), "conf", None) or {})
    except Exception:  # the city is an enrichment: never lose the summary to it
        log.exception("scraper monitor: could not read the run's params")
    return params


def try_facts(context: Any, state: str) -> TryFacts:
    """The finished try as plain values. Only a success or a skip reads the task's step result."""
    ti = context["ti"]
    result = None
    if state in (SUCCESS, SKIPPED):
        try:
            result = _task_result(ti)
        except Exception:
            log.exception("scraper monitor: could not read the task result of %s", ti.task_id)
    return TryFacts(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index if ti.map_index is not None else -1,
        try_number=ti.try_number,
        state=state,
        logical_date=context.get("logical_date"),
        started_at=getattr(ti, "start_date", None),
        ended_at=_now(),
        exception=context.get("exception"),
        result=result,
        scraper=scraper_name(ti.dag_id, getattr(context.get("dag"), "tags", None) or ()),
        hostname=getattr(ti, "hostname", None),
        city=city_of(_run_params(context)),
    )


def _count(result: WriteResult, dag_id: str) -> None:
    """A summary that is not in the store yet is counted in Airflow's own metrics (StatsD or
    OpenTelemetry, ``[metrics]`` in airflow.cfg), the one channel that still works when both the store
    and the worker's disk do not: ``scraper_monitor.summaries_spooled`` (stored later by the replay)
    and ``scraper_monitor.summaries_lost`` (never stored; the task log holds the summary)."""
    if result == "stored":
        return
    try:
        from airflow.sdk.observability.stats import incr

        incr(f"scraper_monitor.summaries_{result}", tags={"dag_id": dag_id})
    except Exception:  # a metrics backend that fails must not fail the callback either
        log.warning("scraper monitor: could not count the %s summary in Airflow's metrics", result)


def _record(state: str) -> Callable[[Any], None]:
    def callback(context: Any) -> None:
        result: WriteResult = "lost"
        try:
            facts = try_facts(context, state)
            history = _history(facts.dag_id, facts.task_id, _run_params(context))
            summary = build_summary(facts, history, _redact)
            result = _writer().write(summary)
        except Exception:
            log.exception("scraper monitor: could not record the execution (task outcome unchanged)")
        _count(result, getattr(context.get("ti"), "dag_id", "unknown"))

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
        # First: the callbacks share Airflow's budget after the task (task_success_overtime), and a
        # slow callback of the DAG author's must not cost the summary.
        callbacks.insert(0, callback)
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
