"""Rows returned by ``scraper_monitor.reports`` (immutable: readers never write back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True)
class Execution:
    """One row of task_executions (one try of one task instance)."""

    id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    scraper: str
    logical_date: datetime | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    counts: dict[str, int]
    error_category: str | None
    error_type: str | None
    error_message: str | None
    fingerprint: str | None
    silent: bool
    silent_reason: str | None
    skip_reason: str | None
    hostname: str | None  # the worker that ran the try, as Airflow records it
    recovered: bool  # written from Airflow's record by the repair, not by the task (migration 0007)
    city: str | None  # the run's city key (scraper_monitor.city); None without one (migration 0008)
    recorded_at: datetime


@dataclass(frozen=True)
class ItemOutcomeRow:
    execution_id: int
    task_id: str
    map_index: int
    try_number: int
    scraper: str
    entity_type: str
    external_id: str | None
    outcome: str
    category: str | None
    reason: str | None
    recorded_at: datetime | None


@dataclass(frozen=True)
class ItemOutcomeCount:
    """How many items of one task instance's latest try had one outcome (the chain view's input)."""

    task_id: str
    map_index: int
    outcome: str
    items: int


@dataclass(frozen=True)
class ScraperStats:
    scraper: str
    total: int
    success: int
    failed: int
    retrying: int
    skipped: int
    upstream_failed: int
    silent: int
    success_rate: float | None
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    #: Tries whose own summary never reached the store (its worker was lost, its spool's disk was full):
    #: rows the repair rebuilt from Airflow's record (``recovered``).
    recovered: int = 0


class TrendRow(NamedTuple):
    """One day x scraper from the scraper_daily rollup, with its failures by error category.

    A NamedTuple, immutable like the dataclasses here but cheaper to build, and one row per
    scraper-day rather than per category: a 90-day request reads ~1,800 of them instead of ~12,600,
    which kept the trends panel clear of garbage-collection pauses.
    """

    day: date
    scraper: str
    executions: int
    success: int
    failed: int
    retrying: int
    skipped: int
    upstream_failed: int
    silent: int
    duration_ms_sum: int
    errors: dict[str, int]  # error category ('' when none) -> failed + retrying tries; only those > 0
    success_rate: float | None
