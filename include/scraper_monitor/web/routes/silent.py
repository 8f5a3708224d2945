"""The silent-failures panel: ``GET /silent`` and ``GET /api/silent-failures``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import executions
from scraper_monitor.reports import silent as report
from scraper_monitor.web.deps import Store, Visible
from scraper_monitor.web.params import CityParam, HoursParam, LimitParam, ScraperParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)

PAGE_ROWS = 200


@api.get("/silent-failures", response_model=report.SilentOut, responses=STORE_503)
def silent_failures(
    conn: Store,
    visible: Visible,
    city: CityParam,
    hours: HoursParam = 24,
    limit: LimitParam = 100,
    scraper: ScraperParam = None,
) -> report.SilentOut:
    """Successes that produced nothing they should have, newest first."""
    return report.silent(conn, hours, limit, scraper=scraper, visible=visible, city=city)


@pages.get("/silent")
def silent_page(
    request: Request,
    conn: Store,
    visible: Visible,
    city: CityParam,
    hours: HoursParam = 24,
    scraper: ScraperParam = None,
) -> HTMLResponse:
    return page(
        request,
        "silent.html",
        active="silent",
        report=report.silent(conn, hours, PAGE_ROWS, scraper=scraper, visible=visible, city=city),
        hours=hours,
        scraper=scraper,
        city=city,
        scrapers=executions.scraper_names(conn, visible),
        cities=executions.city_names(conn, visible),
    )
