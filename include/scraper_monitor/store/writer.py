"""Writing execution summaries from task callbacks without ever failing or slowing the task.

A write costs at most the connect timeout plus the statement timeouts of ``store.db`` (a couple of
seconds when the store is down or wedged), then the summary goes to the spool; after a write that
worked, draining the spool takes at most ``replay_budget_s`` more.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import psycopg

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reports.history import recent_counts
from scraper_monitor.store import spool
from scraper_monitor.store.db import connect, describe_error
from scraper_monitor.store.persist import save

log = logging.getLogger(__name__)

# "lost" only when even the local spool file cannot be written (disk full, no permission); the
# summary is then logged in full so the task log still has it.
WriteResult = Literal["stored", "spooled", "lost"]

REPLAY_BUDGET_S = 2.0


class SummaryWriter:
    def __init__(self, dsn: str, spool_path: str | Path, *, replay_budget_s: float = REPLAY_BUDGET_S) -> None:
        self._dsn = dsn
        self._spool_path = Path(spool_path)
        self._replay_budget_s = replay_budget_s
        # One connection per process, shared by the history lookup and the write: connecting costs as
        # much as the write itself, and a process (a task try, or dag.test()) may record several.
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._dsn)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection may fail too; it is gone either way
                pass
        self._conn = None

    def write(self, summary: ExecutionSummary) -> WriteResult:
        """Upsert the summary and its item outcomes; spool it when the store cannot take it."""
        if not self._dsn:
            # No store configured. An empty DSN would make libpq try its own defaults instead.
            return self._spool(summary)
        for attempt in (1, 2):
            kept = self._conn is not None
            try:
                save(self._connection(), summary)
                break
            except Exception as exc:  # the task must never see a monitoring error
                self._drop_connection()
                if attempt == 1 and kept:
                    continue  # the kept connection may have gone stale (store restarted): reconnect once
                log.warning("monitor store write failed (%s); spooling %s", describe_error(exc), summary.key)
                return self._spool(summary)
        self._replay_spool()
        return "stored"

    def history(self, dag_id: str, task_id: str, count: str, runs: int) -> list[int]:
        """The task's recent values of one count (for the below-median rule); [] if the store can't say."""
        if not self._dsn:
            return []
        try:
            return recent_counts(self._connection(), dag_id, task_id, count, runs)
        except Exception as exc:
            self._drop_connection()
            log.warning("monitor store history lookup failed (%s)", describe_error(exc))
            return []

    def _spool(self, summary: ExecutionSummary) -> WriteResult:
        try:
            spool.append(self._spool_path, summary)
        except Exception as exc:
            log.error(
                "monitor summary LOST, spool unwritable (%s): %r", type(exc).__name__, summary.to_json()
            )
            return "lost"
        return "spooled"

    def _replay_spool(self) -> None:
        """The store just took a write, so it is up: a good moment to drain the spool (bounded)."""
        try:
            if spool.pending(self._spool_path):
                report = spool.replay(self._dsn, self._spool_path, budget_s=self._replay_budget_s)
                log.info("monitor spool replayed: %s", report)
        except Exception as exc:
            log.warning("monitor spool replay failed (%s); will retry on a later write", describe_error(exc))
