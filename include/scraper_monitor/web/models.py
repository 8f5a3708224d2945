"""Response models of the JSON API (they are also what the HTML panels render)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _FromAttributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ExecutionOut(_FromAttributes):
    """One try of one task instance."""

    id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = Field(description="-1 when the task is not mapped")
    try_number: int
    scraper: str
    logical_date: datetime | None
    state: str = Field(description="success, failed (no tries left), retrying, skipped or upstream_failed")
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    counts: dict[str, int] = Field(description="what the task reported (films, showtimes, ...)")
    error_category: str | None
    error_type: str | None = Field(description="finer than the category, e.g. timeout, http_5xx")
    error_message: str | None = Field(description="untrusted text: escape before display")
    fingerprint: str | None = Field(description="groups messages that differ only in ids, numbers, URLs")
    silent: bool = Field(description="a success that produced nothing it should have")
    silent_reason: str | None
    skip_reason: str | None
    recorded_at: datetime


class ItemOutcomeOut(_FromAttributes):
    entity_type: str = Field(description="film, showtime, day page, ...")
    external_id: str | None
    outcome: str = Field(description="created, updated, skipped_expected or failed")
    category: str | None
    reason: str | None


class ExecutionDetail(BaseModel):
    execution: ExecutionOut
    tries: list[ExecutionOut] = Field(description="every try of the same task instance, first first")
    items: list[ItemOutcomeOut] = Field(description="up to 200 item outcomes of this try, failed first")
    item_totals: dict[str, int] = Field(description="outcome -> count over all items of this try")


class ExecutionPage(BaseModel):
    total: int = Field(description="rows matching the filters, counted up to 10,000")
    total_capped: bool = Field(description="true when more rows than `total` match (shown as 10,000+)")
    limit: int
    offset: int
    items: list[ExecutionOut]


class SloOut(BaseModel):
    status: str = Field(description="met, below_target, critical or insufficient_data")
    success_rate: float | None
    target_success_rate: float
    alert_threshold: float
    target_duration_ms: int
    runs: int


class ScraperStatsOut(_FromAttributes):
    scraper: str
    total: int = Field(description="tries in the window")
    success: int
    failed: int
    retrying: int
    skipped: int
    upstream_failed: int
    silent: int
    success_rate: float | None = Field(description="success / (success + failed); null without final tries")
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    slo: SloOut | None = Field(None, description="the scraper-wide SLO status, when SLOs are configured")


class RunOut(_FromAttributes):
    dag_id: str
    run_id: str
    scraper: str
    logical_date: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    task_instances: int = Field(description="task instances with a summary (never-ran ones have none)")
    success: int
    failed: int
    skipped: int
    upstream_failed: int
    silent: int


class OverviewOut(BaseModel):
    hours: int = Field(description="the window, ending now")
    empty: bool = Field(description="true when the store holds no executions at all")
    total: int
    success: int
    failed: int
    retrying: int
    skipped: int
    silent: int
    success_rate: float | None
    silent_24h: int = Field(description="silent failures in the last 24 hours (the banner)")
    scrapers: list[ScraperStatsOut]
    recent_runs: list[RunOut]
    slo_as_of: datetime | None = Field(
        None, description="end of the SLO window the statuses describe (their snapshot's time)"
    )
    slo_error: str | None = Field(None, description="why SLO statuses are missing, if they are")


class CategoryCount(BaseModel):
    category: str | None = Field(description="null for failures without a category")
    count: int
    share: float = Field(description="fraction of all failures in the window")


class ErrorGroupOut(_FromAttributes):
    fingerprint: str | None
    count: int
    error_category: str | None
    error_type: str | None
    example_message: str | None
    scrapers: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


class ErrorsOut(BaseModel):
    hours: int
    total: int = Field(description="failed and retrying tries in the window")
    categories: list[CategoryCount]
    top: list[ErrorGroupOut]


class SilentOut(BaseModel):
    hours: int
    count: int
    items: list[ExecutionOut]


class ChainNodeOut(BaseModel):
    task_id: str
    map_index: int
    label: str = Field(description='e.g. "cinema_dates[4]"')
    state: str = Field(description="the monitor vocabulary plus running, queued and none (not started)")
    try_number: int
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    counts: dict[str, int]
    error_category: str | None
    error_type: str | None
    error_message: str | None
    silent: bool
    silent_reason: str | None
    skip_reason: str | None
    items: dict[str, int] = Field(description="item outcome -> count, for the latest try")
    has_summary: bool = Field(description="false for task instances that never ran")
    blocked_by: str | None = Field(
        description="for upstream_failed: the failed task instance that stopped it"
    )


class StageOut(BaseModel):
    key: str = Field(description="sync, units, films, showtimes or other")
    title: str
    states: dict[str, int]
    counts: dict[str, int]
    items: dict[str, int]
    duration_s: float | None
    nodes: list[ChainNodeOut]


class IncidentOut(BaseModel):
    kind: str = Field(description="failure, retrying, silent or orphan")
    text: str = Field(
        description='e.g. "cinema_dates[4] failed (network_error: HTTP 503): showtimes[4] never ran"'
    )
    root: str | None = Field(description="label of the root-cause node")
    casualties: list[str] = Field(description="labels of the nodes that never ran because of it")


class ChainSummaryOut(BaseModel):
    text: str = Field(description='e.g. "20/25 succeeded (80%)"')
    total: int = Field(description="finished task instances, skipped ones excluded")
    succeeded: int
    failed: int
    retrying: int
    upstream_failed: int
    skipped: int
    pending: int
    silent: int
    success_rate: float | None


class ChainOut(BaseModel):
    dag_id: str
    run_id: str
    source: str = Field(description='"airflow" when task-instance states came from Airflow, else "store"')
    summary: ChainSummaryOut
    duration_s: float | None
    items: dict[str, int]
    incidents: list[IncidentOut]
    stages: list[StageOut]


class TrendDay(BaseModel):
    day: date
    executions: int
    success_rate: float | None
    errors: dict[str, int] = Field(description="failed + retrying tries per error category")


class WeekCompare(BaseModel):
    executions: int
    errors: int
    success_rate: float | None


class ScraperTrend(BaseModel):
    scraper: str
    executions: int
    errors: int
    success_rate: float | None
    this_week: WeekCompare = Field(description="the last 7 days, today included")
    last_week: WeekCompare = Field(description="the 7 days before")
    change: float | None = Field(description="success rate this week minus last week (fraction)")
    days: list[TrendDay]


class TrendsOut(BaseModel):
    days: int
    first_day: date
    last_day: date
    categories: list[str] = Field(description="error categories seen in the window, most errors first")
    by_day: list[TrendDay]
    this_week: WeekCompare
    last_week: WeekCompare
    change: float | None
    scrapers: list[ScraperTrend]
