"""The errors panel: ``GET /errors``, ``GET /api/errors`` and ``GET /api/errors/unknown`` (the
unknown_error fingerprints with a suggested category, which ``scraper-monitor errors accept`` or the
panel's own form, ``routes.accept``, turn into rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor import settings as monitor_settings
from scraper_monitor import teaching
from scraper_monitor.category import CATEGORIES, UNKNOWN_ERROR
from scraper_monitor.reports import errors as report
from scraper_monitor.reports import executions, unknown
from scraper_monitor.rules import RuleError, RuleSet
from scraper_monitor.state import ERROR_STATES
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.web import charts, forms
from scraper_monitor.web.deps import Editor, MonitorSettings, Settings, Store, Visible
from scraper_monitor.web.params import (
    CategoryParam,
    CityParam,
    HoursParam,
    OffsetParam,
    ScraperParam,
    StateParam,
)
from scraper_monitor.web.rendering import current_params, page, query
from scraper_monitor.web.routes.common import STORE_503
from scraper_monitor.web.routes.executions import PAGE_SIZE

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


@api.get("/errors", response_model=report.ErrorsOut, responses=STORE_503)
def errors(
    conn: Store,
    visible: Visible,
    city: CityParam,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
    category: CategoryParam = None,
) -> report.ErrorsOut:
    """Failures (failed and retrying tries) by category, and the most frequent error fingerprints
    with a count and an example message (``category`` narrows the fingerprints)."""
    return report.errors(conn, hours, scraper=scraper, category=category, visible=visible, city=city)


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


@dataclass(frozen=True)
class Filters:
    """The panel's filters, from the query string (the accept form posts to the same URL)."""

    hours: int = 24 * 7
    scraper: str | None = None
    category: str | None = None
    state: str | None = None
    offset: int = 0
    city: str | None = None


@dataclass(frozen=True)
class AcceptOutcome:
    """What the accept form did, or why it did nothing: shown on the page it answers with."""

    fingerprint: str
    done: str | None = None
    field: str | None = None  # the form field a problem is about ("" for the form as a whole)
    problem: str | None = None
    values: dict[str, str] | None = None  # what was entered, to show it again next to the problem


@pages.get("/errors")
def errors_page(
    request: Request,
    conn: Store,
    visible: Visible,
    editor: Editor,
    monitor: Settings,
    city: CityParam,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
    category: CategoryParam = None,
    state: StateParam = None,
    offset: OffsetParam = 0,
) -> HTMLResponse:
    filters = Filters(hours, scraper, category, state, offset, city)
    return panel(request, conn, visible, editor, monitor, filters)


def panel(
    request: Request,
    conn: psycopg.Connection,
    visible: frozenset[str] | None,
    editor: str | None,
    monitor: MonitorSettings,
    filters: Filters,
    outcome: AcceptOutcome | None = None,
    status: int = 200,
) -> HTMLResponse:
    hours, scraper, category, state, city = (
        filters.hours,
        filters.scraper,
        filters.category,
        filters.state,
        filters.city,
    )
    if state is not None and state not in ERROR_STATES:
        raise HTTPException(
            422, f"invalid parameters: state must be one of {', '.join(sorted(ERROR_STATES))}"
        )
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    answer = report.errors(
        conn, hours, scraper=scraper, category=category, now=now, visible=visible, city=city
    )
    failures = executions.page(
        conn,
        ExecutionFilter(
            scraper=scraper, city=city, category=category, state=state, since=since, visible_dags=visible
        ),
        PAGE_SIZE,
        filters.offset,
        errors=True,
    )
    teach = (
        unknown.unknown_errors(
            conn, hours, scraper=scraper, now=now, visible=visible, limit=5, rules=_rules_now()
        )
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
    response = page(
        request,
        "errors.html",
        active="errors",
        report=answer,
        chart=charts.bar_chart(bars, title="Failures by error category") if bars else None,
        failures=failures,
        unknown=teach,
        accepting=_accepting(editor, monitor),
        outcome=outcome,
        hours=hours,
        scraper=scraper,
        category=category,
        state=state,
        city=city,
        scrapers=executions.scraper_names(conn, visible),
        cities=executions.city_names(conn, visible),
        categories=CATEGORIES,
        error_states=sorted(ERROR_STATES),
        since=since,
    )
    response.status_code = status
    return response


def _rules_now() -> RuleSet | None:
    """The team's rules as the file says now (an accept from this page changed it); a broken file
    is the default rules' business (they log it and fall back to the built-in ones)."""
    try:
        return teaching.current_rules()
    except RuleError:
        return None


def _accepting(editor: str | None, monitor: MonitorSettings) -> dict[str, str | None] | None:
    """What the accept forms need: None when the user may not edit (the section shows the CLI)."""
    if editor is None:
        return None
    return {
        "editor": editor,
        "token": forms.issue_token(monitor.form_secret, editor),
        "rules_file": monitor_settings.user_error_rules_path(),
    }
