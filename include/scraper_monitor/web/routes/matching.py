"""The matching panel: ``GET /matching`` and ``GET /api/matching``."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import executions
from scraper_monitor.reports import matching as report
from scraper_monitor.web import charts
from scraper_monitor.web.deps import Store, Visible
from scraper_monitor.web.params import MatchDaysParam, ScraperParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


def _answer(conn: Store, visible: Visible, days: int, scraper: str | None) -> report.MatchingOut:
    target, config_error = report.configured_target()
    return report.matching(
        conn, days, target=target, config_error=config_error, scraper=scraper, visible=visible
    )


@api.get("/matching", response_model=report.MatchingOut, responses=STORE_503)
def matching(
    conn: Store, visible: Visible, days: MatchDaysParam = 7, scraper: ScraperParam = None
) -> report.MatchingOut:
    """TMDB match quality: the matched-film rate per scraper and UTC day against the SLO file's
    target, how matches were found, the films that fail to match most, the weakest matches."""
    return _answer(conn, visible, days, scraper)


@pages.get("/matching")
def matching_page(
    request: Request, conn: Store, visible: Visible, days: MatchDaysParam = 7, scraper: ScraperParam = None
) -> HTMLResponse:
    answer = _answer(conn, visible, days, scraper)
    window = [answer.first_day + timedelta(days=n) for n in range(answer.days)]
    rate_chart = charts.line_chart(
        [day.strftime("%b %d") for day in window],
        [
            # A day without films is a gap, not 0 %.
            charts.Series(s.scraper, f"scraper-{i % 6}", [_rates(s).get(day) for day in window])
            for i, s in enumerate(answer.scrapers)
        ],
        title="Matched films per day by scraper",
        y_max=1,
        percent=True,
    )
    return page(
        request,
        "matching.html",
        active="matching",
        report=answer,
        rate_chart=rate_chart,
        days=days,
        scraper=scraper,
        scrapers=executions.scraper_names(conn, visible),
    )


def _rates(scraper: report.ScraperMatching) -> dict[date, float | None]:
    return {d.day: d.matched_rate for d in scraper.days}
