"""Panel data: each function answers one panel and returns the API's response model.

The HTML pages and the JSON API call the same functions, so a number on screen is the number the
API returns.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import psycopg

from scraper_monitor import slo, snapshot
from scraper_monitor.chain import Chain, DagStructure, build_chain
from scraper_monitor.store import queries as store
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.store.rows import TrendRow
from scraper_monitor.trends import TrendTally, error_counts, rate_change
from scraper_monitor.web import models
from scraper_monitor.web import queries as web_queries
from scraper_monitor.web.deps import TaskInstanceSource

log = logging.getLogger(__name__)

TOP_ERRORS = 10
RECENT_RUNS = 10
ITEMS_SHOWN = 200
SLO_TOO_SLOW = (
    "SLO statuses are not shown: there is no fresh snapshot and computing them took too long. "
    "The DAG scraper_monitor_snapshots refreshes them every 5 minutes; is it unpaused?"
)
# Listings count matching rows up to here; beyond it the total reads "10,000+".
TOTAL_CAP = 10_000


def overview(conn: psycopg.Connection, hours: int, now: datetime | None = None) -> models.OverviewOut:
    now = now or datetime.now(UTC)
    rows = store.stats(conn, hours=hours, now=now)
    silent_24h = rows if hours == 24 else store.stats(conn, hours=24, now=now)
    slo_by_scraper, slo_as_of, slo_error = _slo_statuses(conn, now)
    scrapers = [
        models.ScraperStatsOut.model_validate(row).model_copy(update={"slo": slo_by_scraper.get(row.scraper)})
        for row in rows
    ]
    success, failed = sum(r.success for r in rows), sum(r.failed for r in rows)
    return models.OverviewOut(
        hours=hours,
        empty=not rows and not web_queries.has_executions(conn),
        total=sum(r.total for r in rows),
        success=success,
        failed=failed,
        retrying=sum(r.retrying for r in rows),
        skipped=sum(r.skipped for r in rows),
        silent=sum(r.silent for r in rows),
        success_rate=store.success_rate(success, failed),
        silent_24h=sum(r.silent for r in silent_24h),
        scrapers=scrapers,
        recent_runs=runs(conn, RECENT_RUNS),
        slo_as_of=slo_as_of,
        slo_error=slo_error,
    )


def _slo_statuses(
    conn: psycopg.Connection, now: datetime
) -> tuple[dict[str, models.SloOut], datetime | None, str | None]:
    """Scraper-wide SLO statuses and the moment they describe; a broken SLO file or a store too slow
    to compute them degrades the column, never the panel."""
    try:
        config = slo.load_config()
    except slo.SloConfigError as exc:
        log.warning("scraper monitor: SLO config: %s", exc)
        return {}, None, f"SLO file invalid: {exc}"
    try:
        view = snapshot.slo_view(conn, config, now=now)
    except psycopg.errors.QueryCanceled:
        log.warning("scraper monitor: SLO statuses: no fresh snapshot, and computing them timed out")
        return {}, None, SLO_TOO_SLOW
    out = {}
    for status in view.statuses:
        if status.task_id is None:
            out[status.scraper] = models.SloOut(
                status=status.status,
                success_rate=status.success_rate,
                target_success_rate=status.target.target_success_rate,
                alert_threshold=status.target.alert_threshold,
                target_duration_ms=status.target.target_duration_ms,
                runs=status.runs,
            )
    return out, view.computed_at, None


def executions(
    conn: psycopg.Connection, filters: ExecutionFilter, limit: int, offset: int, *, errors_only: bool = False
) -> models.ExecutionPage:
    fetch = store.failures if errors_only else store.list_executions
    rows = fetch(conn, filters, limit=limit, offset=offset)
    counted = web_queries.count_executions(conn, filters, errors_only=errors_only, cap=TOTAL_CAP)
    return models.ExecutionPage(
        total=min(counted, TOTAL_CAP),
        total_capped=counted > TOTAL_CAP,
        limit=limit,
        offset=offset,
        items=[models.ExecutionOut.model_validate(r) for r in rows],
    )


def execution_detail(conn: psycopg.Connection, execution_id: int) -> models.ExecutionDetail | None:
    execution = web_queries.get_execution(conn, execution_id)
    if execution is None:
        return None
    return models.ExecutionDetail(
        execution=models.ExecutionOut.model_validate(execution),
        tries=[models.ExecutionOut.model_validate(t) for t in web_queries.tries_of(conn, execution)],
        items=[
            models.ItemOutcomeOut.model_validate(i)
            for i in web_queries.item_outcomes_of(conn, execution_id, limit=ITEMS_SHOWN)
        ],
        item_totals=web_queries.item_outcome_totals(conn, execution_id),
    )


def runs(conn: psycopg.Connection, limit: int, scraper: str | None = None) -> list[models.RunOut]:
    return [models.RunOut.model_validate(r) for r in web_queries.recent_runs(conn, limit, scraper=scraper)]


def errors(
    conn: psycopg.Connection,
    hours: int,
    scraper: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
) -> models.ErrorsOut:
    now = now or datetime.now(UTC)
    breakdown = web_queries.category_breakdown(
        conn, ExecutionFilter(scraper=scraper, since=now - timedelta(hours=hours))
    )
    total = sum(count for _, count in breakdown)
    # top_errors has no category filter; fingerprint groups are few, so filter the full list here.
    groups = store.top_errors(
        conn, hours=hours, limit=store.MAX_LIMIT if category else TOP_ERRORS, scraper=scraper, now=now
    )
    if category:
        groups = [g for g in groups if g.error_category == category][:TOP_ERRORS]
    return models.ErrorsOut(
        hours=hours,
        total=total,
        categories=[
            models.CategoryCount(category=c, count=n, share=n / total if total else 0) for c, n in breakdown
        ],
        top=[models.ErrorGroupOut.model_validate(g) for g in groups],
    )


def silent_failures(
    conn: psycopg.Connection, hours: int, limit: int, scraper: str | None = None, now: datetime | None = None
) -> models.SilentOut:
    now = now or datetime.now(UTC)
    rows = store.silent_failures(conn, hours=hours, limit=limit, scraper=scraper, now=now)
    count = web_queries.count_executions(
        conn, ExecutionFilter(scraper=scraper, silent=True, since=now - timedelta(hours=hours))
    )
    return models.SilentOut(
        hours=hours, count=count, items=[models.ExecutionOut.model_validate(r) for r in rows]
    )


def chain(
    conn: psycopg.Connection, ti_source: TaskInstanceSource | None, dag_id: str, run_id: str
) -> models.ChainOut | None:
    """None when neither Airflow nor the store knows the run."""
    execs = store.executions_for_run(conn, dag_id, run_id)
    item_counts = store.item_outcome_counts_for_run(conn, dag_id, run_id)
    structure, tis, source = None, [], "store"
    if ti_source is not None:
        try:
            structure = ti_source.dag_structure(dag_id, run_id)
            tis = ti_source.task_instances(dag_id, run_id)
        except Exception:  # e.g. a DAG version that no longer deserializes: the store still has a chain
            log.exception("scraper monitor: cannot read Airflow's task instances of %s/%s", dag_id, run_id)
            structure, tis = None, []
        source = "airflow" if tis else "store"
    if not execs and not tis:
        return None
    built = build_chain(
        structure or DagStructure(dag_id, ()),
        tis,
        [asdict(e) for e in execs],
        [asdict(i) for i in item_counts],
        run_id=run_id,
    )
    return _chain_out(built, source)


def _chain_out(built: Chain, source: str) -> models.ChainOut:
    summary = built.summary
    return models.ChainOut(
        dag_id=built.dag_id,
        run_id=built.run_id,
        source=source,
        summary=models.ChainSummaryOut(
            text=summary.text, success_rate=summary.success_rate, **asdict(summary)
        ),
        duration_s=built.duration_s,
        items=built.items,
        incidents=[
            models.IncidentOut(
                kind=i.kind,
                text=i.text,
                root=i.root.label if i.root else None,
                casualties=[c.label for c in i.casualties],
            )
            for i in built.incidents
        ],
        stages=[
            models.StageOut(
                key=s.key,
                title=s.title,
                states=s.states,
                counts=s.counts,
                items=s.items,
                duration_s=s.duration_s,
                nodes=[
                    models.ChainNodeOut(
                        label=n.label,
                        **{k: v for k, v in asdict(n).items() if k not in ("stage", "short_name")},
                    )
                    for n in s.nodes
                ],
            )
            for s in built.stages
        ],
    )


def _week(tally: TrendTally) -> models.WeekCompare:
    return models.WeekCompare(
        executions=tally.executions, errors=tally.error_count, success_rate=tally.success_rate
    )


def trends(
    conn: psycopg.Connection, days: int, scraper: str | None = None, today: date | None = None
) -> models.TrendsOut:
    last_day = today or datetime.now(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    # Week-over-week needs 14 days even when the chart shows 7.
    rows = store.trends(conn, days=max(days, 14), scraper=scraper, today=last_day)
    this_week_start, last_week_start = last_day - timedelta(days=6), last_day - timedelta(days=13)

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

    def series(found: Mapping[date, TrendTally | TrendRow]) -> list[models.TrendDay]:
        # model_construct: the values already have the declared types; validating would copy them.
        return [
            models.TrendDay.model_construct(
                day=d, executions=t.executions, success_rate=t.success_rate, errors=error_counts(t)
            )
            if (t := found.get(d)) is not None
            else models.TrendDay.model_construct(day=d, executions=0, success_rate=None, errors={})
            for d in day_list
        ]

    category_totals: dict[str, int] = defaultdict(int)
    for tally in per_day.values():
        for category, count in tally.errors.items():
            category_totals[category] += count

    scrapers = []
    for name in sorted(per_scraper_day.keys() | {s for s, _ in weeks if s}):
        tallies = per_scraper_day.get(name, {})
        window = TrendTally()
        for row in tallies.values():
            window.add(row)
        scrapers.append(
            models.ScraperTrend(
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
    return models.TrendsOut(
        days=days,
        first_day=first_day,
        last_day=last_day,
        categories=sorted(category_totals, key=lambda c: (-category_totals[c], c)),
        by_day=series(per_day),
        this_week=_week(weeks[(None, "this")]),
        last_week=_week(weeks[(None, "last")]),
        change=rate_change(weeks[(None, "this")], weeks[(None, "last")]),
        scrapers=scrapers,
    )
