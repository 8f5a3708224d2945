"""Summaries for tries whose own summary never arrived, written from Airflow's record of them.

A task's summary comes from its callback, on its worker; if the store was unreachable it waits in the
worker's spool. A worker that dies (SIGKILL, a lost machine, an autoscaled pod) takes the running
try's callback with it, and a worker that never comes back takes its spool too. Airflow still knows
every try: its state, timings, try number and host, and, where the worker's log can still be read,
the error. ``recovered_summary`` turns that into a summary marked ``recovered``, categorized like
any other error, so the panels count the try and say where its summary came from.

What it cannot know is what only the task knew (counts, item outcomes, the silent verdict): a
recovered success has no counts. A real summary replayed later from a spool replaces it
(``scraper_monitor.store.persist``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scraper_monitor.category import categorize
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reconcile import AirflowTry
from scraper_monitor.state import FAILED, RETRYING

#: The error of a failed try whose log says nothing (its worker died with it, or the log is gone).
NO_LOG_ERROR = (
    "Task instance heartbeat timed out or its log is unreadable: the worker that ran this try "
    "was lost before the try could report (no summary, no readable log)"
)
_LOG_ERROR_MAX_CHARS = 2000


def error_from_log(content: Iterable[Any]) -> str | None:
    """The try's error as the task logged it: the last exception (``error_detail``, "Type: value"
    for each link of the chain), else the last error-level line; None when the log holds neither.

    ``content`` is the REST API's structured log (``GET .../logs/{try_number}``): records with an
    ``event`` and, for an exception, ``error_detail``. Plain text lines are accepted too.
    """
    last_exception: str | None = None
    last_error_line: str | None = None
    for record in content:
        if not isinstance(record, Mapping):
            continue
        detail = record.get("error_detail")
        if isinstance(detail, list) and detail:
            links = [
                f"{d.get('exc_type', 'Exception')}: {d.get('exc_value', '')}".rstrip(": ")
                for d in detail
                if isinstance(d, Mapping)
            ]
            last_exception = "\n".join(links) or last_exception
        elif str(record.get("level", "")).lower() in ("error", "critical"):
            last_error_line = str(record.get("event", "")) or last_error_line
    found = last_exception or last_error_line
    return found[:_LOG_ERROR_MAX_CHARS] if found else None


def recovered_summary(
    dag_id: str,
    run_id: str,
    attempt: AirflowTry,
    state: str,
    *,
    scraper: str,
    logical_date: datetime | None,
    log_error: str | None,
    city: str | None = None,
) -> ExecutionSummary:
    """The summary of one try that has no row; ``state`` is the one ``reconcile`` expected for it."""
    started, ended = attempt.started_at, attempt.ended_at
    summary = ExecutionSummary(
        dag_id=dag_id,
        run_id=run_id,
        task_id=attempt.task_id,
        map_index=attempt.map_index,
        try_number=attempt.try_number,
        state=state,
        scraper=scraper,
        logical_date=logical_date,
        started_at=started,
        ended_at=ended,
        duration_ms=int((ended - started).total_seconds() * 1000) if started and ended else None,
        hostname=attempt.hostname,
        recovered=True,
        city=city,
    )
    if state in (FAILED, RETRYING):
        message = log_error or NO_LOG_ERROR
        found = categorize(message)
        summary.error_message = message
        summary.error_category, summary.error_type = found.category, found.error_type
        summary.fingerprint = found.fingerprint
    return summary
