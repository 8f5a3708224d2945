"""The one state vocabulary, used end to end (store, API, CLI, panels, metrics), and its one
translation from Airflow's task-instance states.

The origin system broke its dashboards by writing one set of state names and querying another;
every reader and writer imports these constants instead of spelling strings. Airflow's own state
strings are spelled here only: the chain and reconcile read them through ``from_airflow``.
"""

from __future__ import annotations

SUCCESS = "success"
FAILED = "failed"  # no tries left
RETRYING = "retrying"  # failed, tries left
SKIPPED = "skipped"  # the task skipped itself: expected, never an error
UPSTREAM_FAILED = "upstream_failed"  # never ran because a parent failed (from Airflow's TI states)

STATES: tuple[str, ...] = (SUCCESS, FAILED, RETRYING, SKIPPED, UPSTREAM_FAILED)
ERROR_STATES: frozenset[str] = frozenset({FAILED, RETRYING})


def validate_state(value: str) -> str:
    if value not in STATES:
        raise ValueError(f"unknown state {value!r}; expected one of {', '.join(STATES)}")
    return value


# Not-yet-finished states of a task instance: shown in a chain, never counted as errors nor in the
# success rate, and never stored as an execution's state.
RUNNING = "running"
QUEUED = "queued"
NONE = "none"  # the scheduler created the task instance but has not scheduled it yet
PENDING_STATES: frozenset[str] = frozenset({RUNNING, QUEUED, NONE})

# Airflow's TaskInstanceState values (their strings) -> this vocabulary. "removed" (the mapped input
# shrank) is absent on purpose: such task instances are not part of the run any more.
AIRFLOW_REMOVED = "removed"
_FROM_AIRFLOW: dict[str | None, str] = {
    "success": SUCCESS,
    "failed": FAILED,
    "up_for_retry": RETRYING,
    "skipped": SKIPPED,
    "upstream_failed": UPSTREAM_FAILED,
    "running": RUNNING,
    "restarting": RUNNING,
    "deferred": RUNNING,
    "up_for_reschedule": RUNNING,
    "awaiting_input": RUNNING,
    "queued": QUEUED,
    "scheduled": QUEUED,
    None: NONE,
    "none": NONE,
}


def from_airflow(state: str | None) -> str | None:
    """This vocabulary's state for an Airflow task-instance state; None for ``removed`` (drop it)."""
    return _FROM_AIRFLOW.get(state)


def airflow_unfinished(state: str | None) -> bool:
    """True while Airflow's task instance has not finished (None: not scheduled yet)."""
    return from_airflow(state) in PENDING_STATES
