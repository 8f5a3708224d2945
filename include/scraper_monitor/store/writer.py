"""Writing execution summaries from task callbacks without ever failing or slowing the task.

Every round trip to the store runs against a client-side deadline (``WRITE_DEADLINE_S``,
``HISTORY_DEADLINE_S``): the server's statement timeout does not help when the backend itself stops
answering (a storage stall, a paused VM, a failover without a reset), and Airflow kills a callback
that overruns ``task_success_overtime`` (20 s) with its summary neither stored nor spooled. When a
deadline passes, the connection is abandoned to the thread still waiting on it and the summary goes
to the spool; if the stalled write completes later, the replay's upsert stores the same row again,
never a second one. After a write that worked, draining the spool takes at most ``replay_budget_s``.
So a callback spends at most about 2 + 6 + 3 seconds on the store (history, write, replay).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

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
WRITE_DEADLINE_S = 6.0
HISTORY_DEADLINE_S = 2.0

T = TypeVar("T")


class StoreStalled(Exception):
    """The store did not answer within the client-side deadline."""


def within(seconds: float, what: str, work: Callable[[], T]) -> T:
    """``work()``'s result, or StoreStalled once ``seconds`` have passed. The work goes on in a daemon
    thread that nobody waits for (a blocked socket read cannot be interrupted from outside)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"scraper-monitor-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise StoreStalled(f"the monitor store did not answer the {what} within {seconds:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


class SummaryWriter:
    def __init__(
        self,
        dsn: str,
        spool_path: str | Path,
        *,
        replay_budget_s: float = REPLAY_BUDGET_S,
        write_deadline_s: float = WRITE_DEADLINE_S,
        history_deadline_s: float = HISTORY_DEADLINE_S,
    ) -> None:
        self._dsn = dsn
        self._spool_path = Path(spool_path)
        self._replay_budget_s = replay_budget_s
        self._write_deadline_s = write_deadline_s
        self._history_deadline_s = history_deadline_s
        # One connection per process, shared by the history lookup and the write: connecting costs as
        # much as the write itself, and a process (a task try, or dag.test()) may record several.
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._dsn)
        return self._conn

    def _drop_connection(self, *, abandon: bool = False) -> None:
        """Forget the connection; close it unless a stalled thread may still be using it."""
        if self._conn is not None and not abandon:
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
                within(self._write_deadline_s, "write", lambda: save(self._connection(), summary))
                break
            except StoreStalled as exc:
                self._drop_connection(abandon=True)
                log.warning("%s; spooling %s", exc, summary.key)
                return self._spool(summary)
            except Exception as exc:  # the task must never see a monitoring error
                self._drop_connection()
                if attempt == 1 and kept:
                    continue  # the kept connection may have gone stale (store restarted): reconnect once
                log.warning("monitor store write failed (%s); spooling %s", describe_error(exc), summary.key)
                return self._spool(summary)
        self._replay_spool()
        return "stored"

    def history(self, dag_id: str, task_id: str, count: str, runs: int, *, city: str | None) -> list[int]:
        """The task's recent values of one count in runs for ``city`` (for the below-median rule); []
        if the store can't say."""
        if not self._dsn:
            return []
        try:
            return within(
                self._history_deadline_s,
                "history lookup",
                lambda: recent_counts(self._connection(), dag_id, task_id, count, runs, city=city),
            )
        except StoreStalled as exc:
            self._drop_connection(abandon=True)
            log.warning("%s; judging without history", exc)
            return []
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
                # The replay's own budget is checked between entries; the deadline also covers a
                # statement that hangs. A replay cut off here leaves a claim the next one adopts.
                report = within(
                    self._replay_budget_s + self._write_deadline_s,
                    "spool replay",
                    lambda: spool.replay(
                        self._dsn, self._spool_path, budget_s=self._replay_budget_s, wait=False
                    ),
                )
                log.info("monitor spool replayed: %s", report)
        except Exception as exc:
            log.warning("monitor spool replay failed (%s); will retry on a later write", describe_error(exc))
