"""The spool's disk is full: a summary that cannot reach the store cannot be kept on the worker either.

The spool file is a link to /dev/full, whose writes fail with ENOSPC exactly as on a full filesystem
(no root, no mount: CI can run it). Three phases, each a task's writer in its own process state (a new
``SummaryWriter`` per task): the store up (every summary stored, the spool never touched), the store
down (each summary cannot be stored nor spooled: the writer returns ``lost`` and logs the whole summary
at ERROR, so the task log keeps it, and the callback counts it as ``scraper_monitor.summaries_lost`` in
Airflow's metrics), the store back (stored again). No write may raise into the task. A summary is
counted lost here only when it vanished silently: neither stored nor logged in full.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drills.context import DrillContext
from drills.model import Drill, Outcome
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reports import executions
from scraper_monitor.state import SUCCESS
from scraper_monitor.store import writer as writer_module
from scraper_monitor.store.db import connect
from scraper_monitor.store.writer import SummaryWriter

FULL_DEVICE = Path("/dev/full")
#: Nothing listens here: connecting fails at once, like a store that is down.
DOWN_DSN = "postgresql://postgres@/monitor?host=/nonexistent-scraper-monitor-socket&connect_timeout=1"
TASKS_PER_PHASE = 5


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _writer_errors() -> Iterator[_Captured]:
    handler = _Captured()
    logger = logging.getLogger(writer_module.__name__)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _summary(phase: str, i: int) -> ExecutionSummary:
    now = datetime.now(UTC)
    return ExecutionSummary(
        dag_id="kino_krakow",
        run_id=f"drill__spool_full__{phase}",
        task_id="day.day_pages",
        map_index=i,
        try_number=1,
        state=SUCCESS,
        scraper="kino_krakow",
        logical_date=now,
        started_at=now - timedelta(seconds=3),
        ended_at=now,
        duration_ms=3000,
        counts={"films": 12, "showtimes": 140},
        city="krakow",
    )


def run(ctx: DrillContext) -> Outcome:
    if not FULL_DEVICE.exists():
        raise RuntimeError(f"{FULL_DEVICE} is missing: this machine cannot fake a full disk without root")
    dsn = ctx.new_store()
    outcome = Outcome(
        injected_at="from the first task on (the spool's disk is full the whole drill); the store down "
        "for the middle phase",
        load=f"{3 * TASKS_PER_PHASE} tasks, one after the other",
    )
    results: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="drill-spool-") as folder, _writer_errors() as errors:
        spool_path = Path(folder) / "summaries.jsonl"
        spool_path.symlink_to(FULL_DEVICE)
        for phase, store in (("store up", dsn), ("store down", DOWN_DSN), ("store back", dsn)):
            results[phase] = []
            for i in range(TASKS_PER_PHASE):
                started = time.monotonic()
                try:
                    result = SummaryWriter(store, spool_path).write(_summary(phase, i))
                except Exception as exc:  # the task would have failed because of monitoring
                    outcome.monitoring_failures += 1
                    result = f"raised {type(exc).__name__}"
                results[phase].append(result)
                if time.monotonic() - started > writer_module.WRITE_DEADLINE_S + 1:
                    outcome.problems.append(
                        f"{phase}: a write held its task {time.monotonic() - started:.1f} s"
                    )
        logged = [line for line in errors.lines if "LOST" in line]
    with connect(dsn) as conn:
        stored = {
            phase: len(executions.of_run(conn, "kino_krakow", f"drill__spool_full__{phase}"))
            for phase in results
        }
    # The log line holds the summary's repr: its run id among the rest.
    lost_loudly = sum(1 for line in logged if "'run_id': 'drill__spool_full__store down'" in line)
    not_stored = sum(TASKS_PER_PHASE - n for n in stored.values())
    outcome.tries = 3 * TASKS_PER_PHASE
    outcome.stored = sum(stored.values())
    outcome.lost = max(0, not_stored - lost_loudly)  # vanished without a trace
    outcome.user_saw = (
        "; ".join(
            f"{phase}: {', '.join(sorted(set(r)))} ({stored[phase]} stored)" for phase, r in results.items()
        )
        + f"; {len(logged)} ERROR lines 'monitor summary LOST, spool unwritable (OSError)' each holding the "
        "whole summary in the task log"
    )
    if stored["store up"] != TASKS_PER_PHASE or stored["store back"] != TASKS_PER_PHASE:
        outcome.problems.append("a summary was not stored while the store was up")
    if set(results["store down"]) != {"lost"}:
        outcome.problems.append(f"with the store down the writer said {results['store down']}, not 'lost'")
    return outcome


DRILL = Drill(
    name="spool_full",
    injects="the spool's disk (full), and the store for the middle third",
    how="the spool file is a link to /dev/full (ENOSPC on every write); the store DSN points at no server",
    counts="writes that raised into the task; summaries neither stored nor logged in full",
    needs_stack=False,
    run=run,
)
