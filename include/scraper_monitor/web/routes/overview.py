"""The overview panel: ``GET /`` and ``GET /api/overview``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import executions
from scraper_monitor.reports import overview as report
from scraper_monitor.web.deps import BackgroundDags, Store, Visible
from scraper_monitor.web.params import CityParam, HoursParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


@api.get("/overview", response_model=report.OverviewOut, responses=STORE_503)
def overview(
    conn: Store, visible: Visible, city: CityParam, background: BackgroundDags, hours: HoursParam = 24
) -> report.OverviewOut:
    """Success rate, durations and SLO status per scraper, silent failures of the last 24 h, recent
    runs (of one city's runs with ``city``), and the monitor's own DAGs that are not running on time."""
    return report.overview(conn, hours, visible=visible, city=city, background=background)


@pages.get("/")
def overview_page(
    request: Request,
    conn: Store,
    visible: Visible,
    city: CityParam,
    background: BackgroundDags,
    hours: HoursParam = 24,
) -> HTMLResponse:
    data = report.overview(conn, hours, visible=visible, city=city, background=background)
    cities = executions.city_names(conn, visible)
    return page(request, "overview.html", active="overview", data=data, cities=cities)
