"""Reconcile one DAG run: every try Airflow knows against the monitor store's rows (pure, no I/O).

The store writes one row per try from task callbacks; a callback that never ran (worker killed,
spool lost) or wrote the wrong state shows up here. Rules, per try (task_id, map_index, try_number):

- A try that ran must have a row whose state is what the try implies: ``success`` -> success,
  ``skipped`` -> skipped (the task skipped itself), ``up_for_retry`` -> retrying, ``failed`` ->
  failed when it is the task instance's last try, retrying when a later try follows and tries were
  left (Airflow's history records a try that was retried as ``failed``; ``max_tries`` tells a retry
  from a manual clear after the last try).
- A try that never ran has no row: ``upstream_failed``, and try number 0 (e.g. skipped by the
  scheduler because a parent was skipped). A row there must at least say ``upstream_failed``.
- A try still in progress (queued, running, ...) is not compared: its row comes when it ends. Nor
  is a ``removed`` task instance (the mapped input shrank): it is no longer part of the run.
- A row for a try Airflow does not know is a difference too, except a try that never started and is
  followed by a try Airflow knows: Airflow failed it from outside before it began (its task could not
  reach the api-server to start; the failure callback wrote the row) and keeps no history of it
  (seen on 3.3 by the api_server_kill drill: ``/tries`` lists try 3 only, the store tries 1 to 3).

Feed ``compare`` the run's task instances (their current try) together with the ``/tries`` history:
Airflow leaves a task instance's current try out of ``/tries`` while it is ``up_for_retry``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from scraper_monitor.state import (
    FAILED,
    RETRYING,
    SKIPPED,
    SUCCESS,
    UPSTREAM_FAILED,
    airflow_unfinished,
    from_airflow,
)


def api_time(value: str | None) -> datetime | None:
    """A timestamp of Airflow's REST API (ISO 8601), None when absent."""
    return datetime.fromisoformat(value) if value else None


def try_label(task_id: str, map_index: int, try_number: int) -> str:
    task = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    return f"{task} try {try_number}"


DifferenceKind = Literal["missing_row", "state_mismatch", "unknown_try"]
TryKey = tuple[str, int, int]


@dataclass(frozen=True)
class AirflowTry:
    """One try of one task instance as Airflow reports it (task instance or its history)."""

    task_id: str
    map_index: int
    try_number: int
    state: str | None  # Airflow's TaskInstanceState value
    max_tries: int | None = None  # at the time of this try; None when unknown
    # What the repair writes into a recovered summary (scraper_monitor.recovery); not compared.
    started_at: datetime | None = None
    ended_at: datetime | None = None
    hostname: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> AirflowTry:
        """From a REST API task instance or task-instance-history entry."""
        max_tries = raw.get("max_tries")
        return cls(
            task_id=str(raw["task_id"]),
            map_index=int(raw["map_index"]),
            try_number=int(raw["try_number"]),
            state=raw.get("state"),
            max_tries=None if max_tries is None else int(max_tries),
            started_at=api_time(raw.get("start_date")),
            ended_at=api_time(raw.get("end_date")),
            hostname=raw.get("hostname") or None,
        )

    @property
    def key(self) -> TryKey:
        return (self.task_id, self.map_index, self.try_number)

    @property
    def label(self) -> str:
        return try_label(self.task_id, self.map_index, self.try_number)

    @property
    def ran(self) -> bool:
        return (
            self.try_number > 0
            and not self.pending
            and from_airflow(self.state) not in (UPSTREAM_FAILED, None)
        )

    @property
    def pending(self) -> bool:
        return airflow_unfinished(self.state)


class StoreRow(Protocol):
    """What compare needs from a store row (``scraper_monitor.store.rows.Execution`` fits)."""

    task_id: str
    map_index: int
    try_number: int
    state: str
    started_at: datetime | None  # None: the try never started (failed from outside before it began)


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    task_id: str
    map_index: int
    try_number: int
    airflow_state: str | None  # None: Airflow knows no such try
    expected_state: str | None  # the store state Airflow's try implies; None: no row expected
    store_state: str | None  # None: no row

    @property
    def label(self) -> str:
        return try_label(self.task_id, self.map_index, self.try_number)

    @property
    def text(self) -> str:
        if self.kind == "missing_row":
            return (
                f"{self.label}: Airflow {self.airflow_state}, no store row (expected {self.expected_state})"
            )
        if self.kind == "unknown_try":
            return f"{self.label}: store row ({self.store_state}) for a try Airflow does not know"
        expected = self.expected_state or "no row: it never ran"
        return f"{self.label}: Airflow {self.airflow_state} (expected {expected}), store {self.store_state}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "try_number": self.try_number,
            "airflow_state": self.airflow_state,
            "expected_state": self.expected_state,
            "store_state": self.store_state,
            "text": self.text,
        }


def _rank(t: AirflowTry) -> int:
    # One try can be reported twice: by the task instance and by its history. up_for_retry says
    # more than the history's "failed"; a try that ran says more than a cleared instance waiting
    # (state None) or never run (upstream_failed) under the same try number.
    if from_airflow(t.state) == RETRYING:
        return 2
    return 1 if t.ran else 0


def latest_tries(task_instance_tries: Iterable[AirflowTry]) -> dict[TryKey, AirflowTry]:
    """One record per try, the most informative one when Airflow reports a try twice."""
    best: dict[TryKey, AirflowTry] = {}
    for t in task_instance_tries:
        if t.key not in best or _rank(t) > _rank(best[t.key]):
            best[t.key] = t
    return best


def expected_state(t: AirflowTry, is_last: bool) -> str | None:
    """The store state this try implies; None when it never ran (no row expected)."""
    if not t.ran:
        return None
    state = from_airflow(t.state)
    if state in (SUCCESS, SKIPPED, RETRYING):
        return state
    if state == FAILED and not is_last and (t.max_tries is None or t.try_number <= t.max_tries):
        return RETRYING
    return FAILED


def _failed_before_it_started(row: StoreRow, last_try: int) -> bool:
    """A row of a try Airflow failed from outside before it started, and then retried: Airflow keeps
    no history of such a try, so its absence from Airflow's record is no difference."""
    return row.started_at is None and row.state in (RETRYING, FAILED) and row.try_number < last_try


def compare(task_instance_tries: Iterable[AirflowTry], executions: Iterable[StoreRow]) -> list[Difference]:
    """Every difference between Airflow's tries and the store's rows of one run, in task order."""
    tries = latest_tries(task_instance_tries)
    # A later try, even one still running, makes a failed try a retried one.
    last_try: dict[tuple[str, int], int] = {}
    for t in tries.values():
        ti = (t.task_id, t.map_index)
        last_try[ti] = max(last_try.get(ti, 0), t.try_number)
    rows = {(r.task_id, r.map_index, r.try_number): r for r in executions}

    differences: list[Difference] = []
    for key in sorted(tries.keys() | rows.keys()):
        t, row = tries.get(key), rows.get(key)
        store_state = row.state if row else None
        if t is None:
            assert row is not None
            if not _failed_before_it_started(row, last_try.get(key[:2], 0)):
                differences.append(Difference("unknown_try", *key, None, None, store_state))
            continue
        if t.pending or from_airflow(t.state) is None:
            continue
        expected = expected_state(t, is_last=t.try_number == last_try.get(key[:2]))
        if expected is None:
            # Never ran: no row, or at most one that says why.
            if row is not None and row.state != UPSTREAM_FAILED:
                differences.append(Difference("state_mismatch", *key, t.state, None, store_state))
        elif row is None:
            differences.append(Difference("missing_row", *key, t.state, expected, None))
        elif row.state != expected:
            differences.append(Difference("state_mismatch", *key, t.state, expected, store_state))
    return differences


def pending_tries(task_instance_tries: Iterable[AirflowTry]) -> list[AirflowTry]:
    """Tries still in progress (not compared): a run that is not finished cannot fully reconcile."""
    return [t for t in latest_tries(task_instance_tries).values() if t.pending]


@dataclass
class RunReconciliation:
    """One run: Airflow's tries against the store's rows, and the summaries a repair wrote. The CLI,
    the maintenance DAG and the tests read this one answer."""

    dag_id: str
    run_id: str
    airflow_tries: int
    store_rows: int
    differences: list[Difference]  # after the repair, when there was one
    pending: list[str]  # tries still in progress: not compared
    recovered: list[str] = field(default_factory=list)  # tries whose summary the repair wrote

    @classmethod
    def of(
        cls,
        dag_id: str,
        run_id: str,
        tries: Iterable[AirflowTry],
        rows: Iterable[StoreRow],
        recovered: Iterable[str] = (),
    ) -> RunReconciliation:
        tries, rows = list(tries), list(rows)
        return cls(
            dag_id=dag_id,
            run_id=run_id,
            airflow_tries=len(latest_tries(tries)),
            store_rows=len(rows),
            differences=compare(tries, rows),
            pending=[t.label for t in pending_tries(tries)],
            recovered=list(recovered),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "airflow_tries": self.airflow_tries,
            "store_rows": self.store_rows,
            "count": len(self.differences),
            "differences": [d.to_json() for d in self.differences],
            "pending": self.pending,
            "recovered": self.recovered,
        }
