"""How are things moving? Executions, success rate and failures per error category by day and per
scraper, and this week against last week, read from the daily rollups (so 90 days stay cheap and
survive raw-row pruning; the numbers are as fresh as the last ``rollup`` run).

Errors are failed + retrying tries, per category; the success rate is ``base.success_rate``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import args_row
from pydantic import BaseModel, Field

from scraper_monitor.reports.base import MAX_DAYS, Visible, check_range, success_rate
from scraper_monitor.reports.errors import UNCATEGORIZED
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import TrendRow

DAY_CHOICES = (7, 30, 90)
WEEK = 7


class TrendDay(BaseModel):
    day: date
    executions: int
    success_rate: float | None
    failed: int
    retrying: int
    silent: int
    errors: dict[str, int] = Field(description="failed + retrying tries per error category")


class WeekCompare(BaseModel):
    executions: int
    errors: int
    success_rate: float | None
    errors_by_category: dict[str, int] = Field(description="failed + retrying tries per error category")


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
    city: str | None = Field(None, description="the city filter's key: every number is of that city's runs")


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
    def success_rate(self) -> float | None:
        return success_rate(self.success, self.failed)


def error_counts(counts: TrendRow | TrendTally) -> dict[str, int]:
    """Failures by category, uncategorized ones (stored under '') named UNCATEGORIZED."""
    if "" not in counts.errors:
        return counts.errors
    return {category or UNCATEGORIZED: n for category, n in counts.errors.items()}


def rate_change(this: TrendTally, last: TrendTally) -> float | None:
    """Change of the success rate in points (0.02 = +2 pp); None without both rates."""
    if this.success_rate is None or last.success_rate is None:
        return None
    return this.success_rate - last.success_rate


def trends(
    conn: psycopg.Connection,
    days: int,
    scraper: str | None = None,
    today: date | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> TrendsOut:
    """The trends panel, ``GET /api/trends`` and ``scraper-monitor trends --json``; of one city's runs
    with ``city`` (any spelling)."""
    last_day = today or datetime.now(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    city = ExecutionFilter(city=city).city  # validated, as its key
    # Week-over-week needs 14 days even when the chart shows 7.
    rows = daily_rows(
        conn, days=max(days, 2 * WEEK), scraper=scraper, today=last_day, visible=visible, city=city
    )
    this_week_start, last_week_start = (
        last_day - timedelta(days=WEEK - 1),
        last_day - timedelta(days=2 * WEEK - 1),
    )

    # A row is one scraper's day already: kept as it is for that scraper's series, and added to
    # the tallies of its day and week. No object per row beyond the row itself: at 90 days those
    # would be thousands more objects for Python's garbage collector to walk.
    per_day: dict[date, TrendTally] = defaultdict(TrendTally)
    per_scraper_day: dict[str, dict[date, TrendRow]] = defaultdict(dict)
    weeks: dict[tuple[str | None, str], TrendTally] = defaultdict(TrendTally)
    for row in rows:
        week = "this" if row.day >= this_week_start else "last" if row.day >= last_week_start else None
        if week:
            weeks[(None, week)].add(row)
            weeks[(row.scraper, week)].add(row)
        if row.day >= first_day:
            per_day[row.day].add(row)
            per_scraper_day[row.scraper][row.day] = row

    day_list = [first_day + timedelta(days=i) for i in range(days)]

    def series(found: Mapping[date, TrendTally | TrendRow]) -> list[dict[str, Any]]:
        # Plain dicts, made TrendDays by the models' validation below, in pydantic's compiled core: a
        # model_construct per day (1,800 at 90 days) cost more than the whole rollup query.
        return [
            {
                "day": d,
                "executions": t.executions,
                "success_rate": t.success_rate,
                "failed": t.failed,
                "retrying": t.retrying,
                "silent": t.silent,
                "errors": error_counts(t),
            }
            if (t := found.get(d)) is not None
            else {
                "day": d,
                "executions": 0,
                "success_rate": None,
                "failed": 0,
                "retrying": 0,
                "silent": 0,
                "errors": {},
            }
            for d in day_list
        ]

    category_totals: dict[str, int] = defaultdict(int)
    for tally in per_day.values():
        for category, n in tally.errors.items():
            category_totals[category] += n

    scrapers = []
    for name in sorted(per_scraper_day.keys() | {s for s, _ in weeks if s}):
        tallies = per_scraper_day.get(name, {})
        window = TrendTally()
        for row in tallies.values():
            window.add(row)
        scrapers.append(
            ScraperTrend(
                scraper=name,
                executions=window.executions,
                errors=sum(window.errors.values()),
                success_rate=window.success_rate,
                this_week=_week(weeks[(name, "this")]),
                last_week=_week(weeks[(name, "last")]),
                change=rate_change(weeks[(name, "this")], weeks[(name, "last")]),
                days=series(tallies),
            )
        )
    return TrendsOut(
        days=days,
        first_day=first_day,
        last_day=last_day,
        categories=sorted(category_totals, key=lambda c: (-category_totals[c], c)),
        by_day=series(per_day),
        this_week=_week(weeks[(None, "this")]),
        last_week=_week(weeks[(None, "last")]),
        change=rate_change(weeks[(None, "this")], weeks[(None, "last")]),
        scrapers=scrapers,
        city=city,
    )


def _week(tally: TrendTally) -> WeekCompare:
    return WeekCompare(
        executions=tally.executions,
        errors=sum(tally.errors.values()),
        success_rate=tally.success_rate,
        errors_by_category=dict(sorted(tally.errors.items())),
    )


def daily_rows(
    conn: psycopg.Connection,
    days: int = 30,
    scraper: str | None = None,
    today: date | None = None,
    visible: Visible = None,
    city: str | None = None,
) -> list[TrendRow]:
    """The last ``days`` days (today, UTC, included) by day and scraper, failures by error category;
    summed over cities, or of one city's runs with ``city``."""
    check_range("days", days, 1, MAX_DAYS)
    city = ExecutionFilter(scraper=scraper, city=city).city  # validates the name and the city
    last = today or datetime.now(UTC).date()
    # One group per scraper-day, read in the primary key's order (day, scraper, ...): no sort and no
    # second grouping. Its categories come as two parallel arrays, a category once per city, summed
    # into one object by _trend_row. Summing cities per category in SQL first, then building a JSON
    # object per scraper-day, took 59 ms of the 90-day request at 10 M executions; this, 9 ms.
    query = """
        SELECT day, scraper,
               sum(executions)::int, sum(success)::int, sum(failed)::int, sum(retrying)::int,
               sum(skipped)::int, sum(upstream_failed)::int, sum(silent)::int, sum(duration_ms_sum)::bigint,
               array_agg(error_category) FILTER (WHERE failed + retrying > 0),
               array_agg(failed + retrying) FILTER (WHERE failed + retrying > 0)
        FROM scraper_daily
        WHERE day BETWEEN %(first)s AND %(last)s
          AND (%(scraper)s::text IS NULL OR scraper = %(scraper)s)
          AND (%(city)s::text IS NULL OR city = %(city)s)
          AND (%(visible)s::text[] IS NULL OR scraper = ANY(%(visible)s))
        GROUP BY day, scraper
        ORDER BY day, scraper
    """
    params = {
        "first": last - timedelta(days=days - 1),
        "last": last,
        "scraper": scraper,
        "city": city,
        "visible": sorted(visible) if visible is not None else None,
    }
    # Positional rows (the columns above are in TrendRow's field order), in binary: the arrays cost
    # no text parsing.
    with conn.cursor(row_factory=args_row(_trend_row), binary=True) as cur:
        return cur.execute(query, params).fetchall()


def _trend_row(*columns: Any) -> TrendRow:
    *counts, categories, errors = columns
    by_category: dict[str, int] = {}
    for category, n in zip(categories or (), errors or (), strict=True):
        by_category[category] = by_category.get(category, 0) + n
    return TrendRow(*counts, errors=by_category, success_rate=success_rate(counts[3], counts[4]))
