"""Tallies over the daily rollups: the one definition of a trend's numbers, shared by the trends
panel and `scraper-monitor trends` (errors = failed + retrying tries, per category; success rate as
in ``store.queries.success_rate``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scraper_monitor.store.queries import success_rate
from scraper_monitor.store.rows import TrendRow

#: Label for failures stored without a category (the panels and the CLI show the same word).
UNCATEGORIZED = "uncategorized"


@dataclass(slots=True)  # one per day and per week of a trends request: no __dict__ each
class TrendTally:
    executions: int = 0
    success: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    upstream_failed: int = 0
    silent: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, row: TrendRow) -> None:
        self.executions += row.executions
        self.success += row.success
        self.failed += row.failed
        self.retrying += row.retrying
        self.skipped += row.skipped
        self.upstream_failed += row.upstream_failed
        self.silent += row.silent
        self.errors.update(error_counts(row))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def success_rate(self) -> float | None:
        return success_rate(self.success, self.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "executions": self.executions,
            "success": self.success,
            "failed": self.failed,
            "retrying": self.retrying,
            "skipped": self.skipped,
            "upstream_failed": self.upstream_failed,
            "silent": self.silent,
            "success_rate": self.success_rate,
            "errors": self.error_count,
            "errors_by_category": dict(sorted(self.errors.items())),
        }


def error_counts(counts: TrendRow | TrendTally) -> dict[str, int]:
    """Failures by category, uncategorized ones (stored under '') named UNCATEGORIZED."""
    if "" not in counts.errors:
        return counts.errors
    return {category or UNCATEGORIZED: count for category, count in counts.errors.items()}


def rate_change(this: TrendTally, last: TrendTally) -> float | None:
    """Change of the success rate in points (0.02 = +2 pp); None without both rates."""
    if this.success_rate is None or last.success_rate is None:
        return None
    return this.success_rate - last.success_rate
