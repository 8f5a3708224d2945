"""The HTML panels. Each renders the same service result the matching API endpoint returns.

Links are relative (``root`` is the way back to the app root), because the panels are served under
Airflow's prefix inside the UI's iframe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.category import CATEGORIES
from scraper_monitor.state import ERROR_STATES, STATES
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.web import charts, services
from scraper_monitor.web import queries as web_queries
from scraper_monitor.web.deps import Settings, Store
from scraper_monitor.web.params import (
    CategoryParam,
    DaysParam,
    Filters,
    HoursParam,
    OffsetParam,
    ScraperParam,
    StateParam,
)
from scraper_monitor.web.rendering import query, render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PAGE_SIZE = 25


def _params(request: Request) -> dict[str, str]:
    """The current query string, for links that keep the filters (paging, export, windows)."""
    return {k: v for k, v in request.query_params.items() if v}


def _page(request: Request, template: str, *, root: str = "./", active: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(
        render(request, template, root=root, active=active, params=_params(request), **context)
    )


@router.get("/")
def overview_page(request: Request, conn: Store, hours: HoursParam = 24) -> HTMLResponse:
    data = services.overview(conn, hours)
    return _page(request, "overview.html", active="overview", data=data)


@router.get("/executions")
def executions_page(request: Request, conn: Store, filters: Filters, offset: OffsetParam = 0) -> HTMLResponse:
    page = services.executions(conn, filters, PAGE_SIZE, offset)
    return _page(
        request,
        "executions.html",
        active="executions",
        page=page,
        filters=filters,
        scrapers=web_queries.scrapers(conn),
        categories=CATEGORIES,
        states=STATES,
    )


@router.get("/executions/{execution_id}")
def execution_page(request: Request, conn: Store, execution_id: int) -> HTMLResponse:
    detail = services.execution_detail(conn, execution_id)
    if detail is None:
        raise HTTPException(404, f"no execution with id {execution_id}")
    return _page(request, "execution.html", root="../", active="", detail=detail)


@router.get("/errors")
def errors_page(
    request: Request,
    conn: Store,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
    category: CategoryParam = None,
    state: StateParam = None,
    offset: OffsetParam = 0,
) -> HTMLResponse:
    if state is not None and state not in ERROR_STATES:
        raise HTTPException(
            422, f"invalid parameters: state must be one of {', '.join(sorted(ERROR_STATES))}"
        )
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    report = services.errors(conn, hours, scraper=scraper, category=category, now=now)
    failures = services.executions(
        conn,
        ExecutionFilter(scraper=scraper, category=category, state=state, since=since),
        PAGE_SIZE,
        offset,
        errors_only=True,
    )
    bars = [
        charts.Bar(
            label=c.category or services.UNCATEGORIZED,
            value=c.count,
            css=c.category or services.UNCATEGORIZED,
            note=f"{c.share:.0%}",
            href=f"?{query(_params(request), category=c.category, offset=None)}" if c.category else None,
        )
        for c in report.categories
    ]
    return _page(
        request,
        "errors.html",
        active="errors",
        report=report,
        chart=charts.bar_chart(bars, title="Failures by error category") if bars else None,
        failures=failures,
        hours=hours,
        scraper=scraper,
        category=category,
        state=state,
        scrapers=web_queries.scrapers(conn),
        categories=CATEGORIES,
        error_states=sorted(ERROR_STATES),
        since=since,
    )


@router.get("/silent")
def silent_page(
    request: Request, conn: Store, hours: HoursParam = 24, scraper: ScraperParam = None
) -> HTMLResponse:
    report = services.silent_failures(conn, hours, limit=200, scraper=scraper)
    return _page(
        request,
        "silent.html",
        active="silent",
        report=report,
        hours=hours,
        scraper=scraper,
        scrapers=web_queries.scrapers(conn),
    )


@router.get("/runs")
def runs_page(request: Request, conn: Store, scraper: ScraperParam = None) -> HTMLResponse:
    return _page(
        request,
        "runs.html",
        active="runs",
        runs=services.runs(conn, 50, scraper=scraper),
        scraper=scraper,
        scrapers=web_queries.scrapers(conn),
    )


@router.get("/chain/{dag_id}/{run_id}")
def chain_page(request: Request, conn: Store, settings: Settings, dag_id: str, run_id: str) -> HTMLResponse:
    result = services.chain(conn, settings.ti_source, dag_id, run_id)
    if result is None:
        # Also what the Airflow "Chain" tab shows for a run that has not started any task yet.
        return _page(
            request, "chain_missing.html", root="../../", active="runs", dag_id=dag_id, run_id=run_id
        )
    return _page(request, "chain.html", root="../../", active="runs", chain=result)


@router.get("/trends")
def trends_page(
    request: Request, conn: Store, days: DaysParam = 30, scraper: ScraperParam = None
) -> HTMLResponse:
    report = services.trends(conn, days, scraper=scraper)
    labels = [d.day.strftime("%b %d") for d in report.by_day]
    errors_chart = charts.line_chart(
        labels,
        [
            # A day without executions is a gap, not "zero failures".
            charts.Series(c, c, [d.errors.get(c, 0) if d.executions else None for d in report.by_day])
            for c in report.categories
        ],
        title="Failures per day by error category",
    )
    rate_chart = charts.line_chart(
        labels,
        [
            charts.Series(s.scraper, f"scraper-{i % 6}", [d.success_rate for d in s.days])
            for i, s in enumerate(report.scrapers)
        ],
        title="Success rate per day by scraper",
        y_max=1,
        percent=True,
    )
    return _page(
        request,
        "trends.html",
        active="trends",
        report=report,
        errors_chart=errors_chart,
        rate_chart=rate_chart,
        days=days,
        scraper=scraper,
        scrapers=web_queries.scrapers(conn),
    )
