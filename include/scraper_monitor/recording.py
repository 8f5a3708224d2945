"""What goes into a summary: the per-state rules, from plain values, without Airflow.

The Airflow door (``scraper_monitor.airflow.callbacks``) reads the task instance, its exception and its
returned step result, and hands them here. Keeping the rules here makes each one a millisecond unit
test instead of a ``dag.test()`` run:

- success: the step result's counts and items, and the silent verdict of the task's declared rules
  against its own history;
- skipped: the reason the task gave (the skip exception's text, else the step result's reason);
- failed / retrying (or any state with an exception): the redacted message and its category, type and
  fingerprint; without an exception, Airflow failed the try from outside (``FAILED_FROM_OUTSIDE``).

Each enrichment is optional: a failure in one (a rule, the history lookup, categorization) is logged
and the summary is still built, so an execution is never lost to a monitor bug.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from scraper_monitor import silent
from scraper_monitor.category import categorize, describe
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS
from scrapers.outcome import StepResult

log = logging.getLogger(__name__)

#: The message of a failed try that has no exception: Airflow failed it from outside the task. Its
#: failure callback then runs in the dag-processor, not on the worker (Airflow 3 does that for a try
#: whose heartbeat stopped: the worker died or the process was killed).
FAILED_FROM_OUTSIDE = (
    "Airflow failed this try without an exception from the task: its heartbeat stopped (the worker "
    "was lost or the task process killed) or it was marked failed from outside"
)

#: A DAG tagged ``scraper:<name>`` reports as that scraper; any other DAG as its own id.
SCRAPER_TAG_PREFIX = "scraper:"
#: The run conf key naming another set of the sites' connections (scraper_airflow.connections): such
#: a run scrapes a staging copy or a simulator, whose volumes say nothing of the usual sites', so it
#: is not judged by the drop-below-the-median rule against the usual runs' history.
SITES_KEY = "sites"


def scraper_name(dag_id: str, tags: Iterable[str] = ()) -> str:
    """The scraper a DAG's rows belong to. Usually the DAG id; a DAG that is one more deployment of
    a scraper (a backfill copy, a per-city or a canary DAG) says which with a ``scraper:<name>`` tag, so
    the panels, SLOs and trends count it with that scraper while ``dag_id`` still tells the DAGs apart."""
    for tag in sorted(tags):
        if tag.startswith(SCRAPER_TAG_PREFIX) and len(tag) > len(SCRAPER_TAG_PREFIX):
            return tag[len(SCRAPER_TAG_PREFIX) :]
    return dag_id


@dataclass(frozen=True)
class TryFacts:
    """One finished try, as plain values: who it was, when it ran, how it ended."""

    state: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    logical_date: datetime | None
    started_at: datetime | None
    ended_at: datetime
    exception: BaseException | None = None
    result: StepResult | None = None
    scraper: str | None = None  # None: the DAG id (see scraper_name)
    hostname: str | None = None  # the worker that ran the try
    city: str | None = None  # the run's city (scraper_monitor.city.city_of its params)


def build_summary(
    facts: TryFacts,
    history: silent.History,
    redact: Callable[[str], str] = str,
) -> ExecutionSummary:
    """The summary of one try. ``history(count, runs)`` gives the task's recent values of a count
    (for the silent rules); ``redact`` masks secrets in an error message before it is stored."""
    started = facts.started_at
    summary = ExecutionSummary(
        dag_id=facts.dag_id,
        run_id=facts.run_id,
        task_id=facts.task_id,
        map_index=facts.map_index,
        try_number=facts.try_number,
        state=facts.state,
        scraper=facts.scraper or facts.dag_id,
        logical_date=facts.logical_date,
        started_at=started,
        ended_at=facts.ended_at,
        duration_ms=int((facts.ended_at - started).total_seconds() * 1000) if started else None,
        hostname=facts.hostname,
        city=facts.city,
    )
    exception, result = facts.exception, facts.result
    if facts.state == SUCCESS:
        _enrich(summary, "task result", lambda: _add_result(summary, result, history))
    elif facts.state == SKIPPED:
        summary.skip_reason = str(exception) if exception else (result.skip_reason if result else None)
    elif exception is not None or facts.state in (FAILED, RETRYING):
        summary.error_message = redact(describe(exception)) if exception else FAILED_FROM_OUTSIDE
        _enrich(summary, "categorization", lambda: _add_category(summary, exception or FAILED_FROM_OUTSIDE))
    return summary


def _enrich(summary: ExecutionSummary, what: str, step: Callable[[], None]) -> None:
    try:
        step()
    except Exception:
        log.exception("scraper monitor: %s failed for %s; recording without it", what, summary.key)


def _add_result(summary: ExecutionSummary, result: StepResult | None, history: silent.History) -> None:
    if result is None:
        return
    summary.counts, summary.items = result.counts, result.items
    rules = silent.rules_for(summary.dag_id, summary.task_id)
    verdict = silent.evaluate(rules, result.counts, history)
    summary.silent, summary.silent_reason = verdict.silent, verdict.reason


def _add_category(summary: ExecutionSummary, exception: BaseException | str) -> None:
    found = categorize(exception)
    summary.error_category, summary.error_type, summary.fingerprint = (
        found.category,
        found.error_type,
        found.fingerprint,
    )
