"""The runs panel (the way into the chains): ``GET /runs`` and ``GET /api/runs``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import executions
from scraper_monitor.reports import runs as report
from scraper_monitor.web.deps import Store, Visible
from scraper_monitor.web.params import CityParam, LimitParam, ScraperParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)

PAGE_ROWS = 50


@api.get("/runs", response_model=list[report.RunOut], responses=STORE_503)
def runs(
    conn: Store, visible: Visible, city: CityParam, limit: LimitParam = 50, scraper: ScraperParam = None
) -> list[report.RunOut]:
    """The most recent DAG runs with a summary in the store, newest first (links to their chains)."""
    return report.recent(conn, limit, scraper=scraper, visible=visible, city=city)


@pages.get("/runs")
def runs_page(
    request: Request, conn: Store, visible: Visible, city: CityParam, scraper: ScraperParam = None
) -> HTMLResponse:
    return page(
        request,
        "runs.html",
        active="runs",
        runs=report.recent(conn, PAGE_ROWS, scraper=scraper, visible=visible, city=city),
        scraper=scraper,
        city=city,
        scrapers=executions.scraper_names(conn, visible),
        cities=executions.city_names(conn, visible),
    )
