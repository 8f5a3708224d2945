"""The trends panel: ``GET /trends`` and ``GET /api/trends``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import executions
from scraper_monitor.reports import trends as report
from scraper_monitor.web import charts
from scraper_monitor.web.deps import Store, Visible
from scraper_monitor.web.params import CityParam, DaysParam, ScraperParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


@api.get("/trends", response_model=report.TrendsOut, responses=STORE_503)
def trends(
    conn: Store, visible: Visible, city: CityParam, days: DaysParam = 30, scraper: ScraperParam = None
) -> report.TrendsOut:
    """Executions, success rate and errors per category by day (from the daily rollups), per scraper,
    and this week against last week; of one city's runs with ``city``."""
    return report.trends(conn, days, scraper=scraper, visible=visible, city=city)


@pages.get("/trends")
def trends_page(
    request: Request,
    conn: Store,
    visible: Visible,
    city: CityParam,
    days: DaysParam = 30,
    scraper: ScraperParam = None,
) -> HTMLResponse:
    answer = report.trends(conn, days, scraper=scraper, visible=visible, city=city)
    labels = [d.day.strftime("%b %d") for d in answer.by_day]
    errors_chart = charts.line_chart(
        labels,
        [
            # A day without executions is a gap, not "zero failures".
            charts.Series(c, c, [d.errors.get(c, 0) if d.executions else None for d in answer.by_day])
            for c in answer.categories
        ],
        title="Failures per day by error category",
    )
    rate_chart = charts.line_chart(
        labels,
        [
            charts.Series(s.scraper, f"scraper-{i % 6}", [d.success_rate for d in s.days])
            for i, s in enumerate(answer.scrapers)
        ],
        title="Success rate per day by scraper",
        y_max=1,
        percent=True,
    )
    return page(
        request,
        "trends.html",
        active="trends",
        report=answer,
        errors_chart=errors_chart,
        rate_chart=rate_chart,
        days=days,
        scraper=scraper,
        city=city,
        scrapers=executions.scraper_names(conn, visible),
        cities=executions.city_names(conn, visible),
    )
