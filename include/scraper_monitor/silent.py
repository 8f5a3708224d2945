"""Silent failures: a task that succeeded but produced nothing it should have.

Rules are declared next to each task in its DAG file, on the counts that task returns (not a
global list of key names: the origin's global list never covered the two cinema chains). A task
that legitimately has nothing to do skips itself instead, so it never reaches these rules.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Returns the values of one count in the task's last successful executions, newest first.
History = Callable[[str, int], Sequence[int]]


@dataclass(frozen=True)
class Verdict:
    silent: bool
    reason: str | None = None


class Rule:
    def check(self, counts: dict[str, int], history: History) -> str | None:
        """Return the reason this result is a silent failure, or None."""
        raise NotImplementedError


@dataclass(frozen=True)
class NonZero(Rule):
    """Zero where non-zero is expected. A missing count is treated as zero: it means the task
    returned less than it declared, which is exactly the kind of silence we look for."""

    count: str

    def check(self, counts: dict[str, int], history: History) -> str | None:
        value = counts.get(self.count)
        if value is None:
            return f"{self.count} missing from the task's counts"
        if value == 0:
            return f"{self.count} = 0 where non-zero is expected"
        return None


@dataclass(frozen=True)
class BelowMedian(Rule):
    """A drop below ``fraction`` of the median of the last ``runs`` successful executions."""

    count: str
    fraction: float = 0.5
    runs: int = 10
    min_history: int = 3

    def check(self, counts: dict[str, int], history: History) -> str | None:
        value = counts.get(self.count)
        if value is None:
            return None
        past = list(history(self.count, self.runs))
        if len(past) < self.min_history:
            return None
        median = statistics.median(past)
        if median > 0 and value < self.fraction * median:
            return (
                f"{self.count} = {value}, below {self.fraction:.0%} of the median {median:g} "
                f"of the last {len(past)} successful runs"
            )
        return None


@dataclass(frozen=True)
class Consistent(Rule):
    """If ``found`` is positive, at least one of ``accounted`` must be too
    (e.g. showtimes found but none created, updated or skipped; showtimes found but no films).

    ``reason`` explains an inconsistency to a reader; it is formatted with the task's counts."""

    found: str
    accounted: tuple[str, ...]
    reason: str = "{found} = {n} but none {accounted}"

    def check(self, counts: dict[str, int], history: History) -> str | None:
        if counts.get(self.found, 0) > 0 and not any(counts.get(k, 0) > 0 for k in self.accounted):
            names = {"found": self.found, "n": counts[self.found], "accounted": "/".join(self.accounted)}
            return self.reason.format_map({**counts, **names})
        return None


@dataclass(frozen=True)
class Equal(Rule):
    """Two counts of the same things seen two ways must agree (a film's showtimes on the day pages
    and on its own page). A missing count means nothing was compared: no verdict.

    ``reason`` explains a disagreement to a reader; it is formatted with the task's counts."""

    count: str
    other: str
    reason: str = "{count} = {a} but {other} = {b}"

    def check(self, counts: dict[str, int], history: History) -> str | None:
        a, b = counts.get(self.count), counts.get(self.other)
        if a is None or b is None or a == b:
            return None
        return self.reason.format_map({**counts, "count": self.count, "other": self.other, "a": a, "b": b})


def evaluate(rules: Sequence[Rule], counts: dict[str, int], history: History) -> Verdict:
    reasons = [r for rule in rules if (r := rule.check(counts, history))]
    return Verdict(silent=bool(reasons), reason="; ".join(reasons) or None)


_REGISTRY: dict[tuple[str, str], tuple[Rule, ...]] = {}


def expect(dag_id: str, task_id: str, rules: Sequence[Rule]) -> None:
    """Declare the silent-failure rules of one task (called when the DAG file is parsed)."""
    _REGISTRY[(dag_id, task_id)] = tuple(rules)


def rules_for(dag_id: str, task_id: str) -> tuple[Rule, ...]:
    return _REGISTRY.get((dag_id, task_id), ())
