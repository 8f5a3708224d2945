"""What a drill declares (name, what it injects, how, what it counts) and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drills.context import DrillContext


@dataclass
class Outcome:
    """The counts that matter. None: the drill does not count that (no alerts in a store drill)."""

    injected_at: str = ""  # when, in words (after which task, at which second)
    load: str = ""  # what was running when the fault hit
    user_saw: str = ""
    tries: int = 0  # tries Airflow ran (or the writers' tasks in a drill without Airflow)
    #: Tries Airflow failed before they started and lists nowhere; their rows are in ``stored``.
    unlisted: int = 0
    stored: int | None = 0  # summaries in the store, one per try (None: the drill writes none)
    lost: int = 0
    #: Tries whose own summary never came (killed mid-try), rebuilt from Airflow's record by the repair:
    #: not lost, but without the task's counts and items, and shown on the overview as a warning.
    recovered: int = 0
    duplicated: int = 0
    monitoring_failures: int = 0  # task failures caused by the monitor
    killed_failures: int = 0  # task instances that failed because the drill killed their tries
    alerts_sent: int | None = None
    alerts_lost: int | None = None
    alerts_duplicated: int | None = None
    #: Any other promise the drill checks that did not hold, one line each (a lock wait over 1 s).
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.monitoring_failures
            or self.alerts_lost
            or self.alerts_duplicated
            or self.problems
        )


@dataclass(frozen=True)
class Drill:
    name: str
    injects: str  # what is broken
    how: str  # how, on this machine
    counts: str  # what is counted, and what makes it fail
    needs_stack: bool  # runs on the private Airflow stack (make drills only), else on a store alone
    run: Callable[[DrillContext], Outcome]
