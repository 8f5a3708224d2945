"""The one state vocabulary, used end to end (store, API, CLI, panels, metrics).

The origin system broke its dashboards by writing one set of state names and querying another;
every reader and writer imports these constants instead of spelling strings.
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
