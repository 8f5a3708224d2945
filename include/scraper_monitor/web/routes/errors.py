"""The errors panel: ``GET /errors``, ``GET /api/errors`` and ``GET /api/errors/unknown`` (the
unknown_error fingerprints with a suggested category, which ``scraper-monitor errors accept`` turns
into rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.category import CATEGORIES, UNKNOWN_ERROR
from scraper_monitor.reports import errors as report
from scraper_monitor.reports import executions, unknown
from scraper_monitor.state import ERROR_STATES
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.web import charts
from scraper_monitor.web.deps import Store, Visible
from scraper_monitor.web.params import CategoryParam, HoursParam, OffsetParam, ScraperParam, StateParam
from scraper_monitor.web.rendering import current_params, page, query
from scraper_monitor.web.routes.common import STORE_503
from scraper_monitor.web.routes.executions import PAGE_SIZE

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


@api.get("/errors", response_model=report.ErrorsOut, responses=STORE_503)
def errors(
    conn: Store,
    visible: Visible,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
    category: CategoryParam = None,
) -> report.ErrorsOut:
    """Failures (failed and retrying tries) by category, and the most frequent error fingerprints
    with a count and an example message (``category`` narrows the fingerprints)."""
    return report.errors(conn, hours, scraper=scraper, category=category, visible=visible)


@api.get("/errors/unknown", response_model=unknown.UnknownOut, responses=STORE_503)
def unknown_errors(
    conn: Store,
    visible: Visible,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
) -> unknown.UnknownOut:
    """The most frequent unknown_error fingerprints, each with an example message and the category
    its message reads as (a guess when below the reading threshold)."""
    return unknown.unknown_errors(conn, hours, scraper=scraper, visible=visible)


@pages.get("/errors")
def errors_page(
    request: Request,
    conn: Store,
    visible: Visible,
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
    answer = report.errors(conn, hours, scraper=scraper, category=category, now=now, visible=visible)
    failures = executions.page(
        conn,
        ExecutionFilter(scraper=scraper, category=category, state=state, since=since, visible_dags=visible),
        PAGE_SIZE,
        offset,
        errors=True,
    )
    teach = (
        unknown.unknown_errors(conn, hours, scraper=scraper, now=now, visible=visible, limit=5)
        if category in (None, UNKNOWN_ERROR)
        else None
    )
    params = current_params(request)
    bars = [
        charts.Bar(
            label=c.category or report.UNCATEGORIZED,
            value=c.count,
            css=c.category or report.UNCATEGORIZED,
            note=f"{c.share:.0%}",
            href=f"?{query(params, category=c.category, offset=None)}" if c.category else None,
        )
        for c in answer.categories
    ]
    return page(
        request,
        "errors.html",
        active="errors",
        report=answer,
        chart=charts.bar_chart(bars, title="Failures by error category") if bars else None,
        failures=failures,
        unknown=teach,
        hours=hours,
        scraper=scraper,
        category=category,
        state=state,
        scrapers=executions.scraper_names(conn, visible),
        categories=CATEGORIES,
        error_states=sorted(ERROR_STATES),
        since=since,
    )
