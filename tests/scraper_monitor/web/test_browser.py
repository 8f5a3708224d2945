"""The panels in headless Chromium: numbers on screen against the store, the category filter, the
XSS probe rendered as text, empty and store-down states, and the app inside a sandboxed iframe like
Airflow's. Screenshots go to docs/screenshots/.

The app is the real web app served by uvicorn on loopback under /scraper-monitor; only Airflow is
replaced: a cookie stands in for Airflow's login and the seed supplies the task instances.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.web import create_app
from tests.fixtures.browser import BrowserPage, serve
from tests.fixtures.monitor_store import DOWN_DSN, XSS, Seed

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SESSION = "browser-test-session"
# The sandbox Airflow 3.3.2 puts on plugin iframes (ui/dist/assets/index-*.js).
AIRFLOW_IFRAME_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-downloads"


def cookie_auth(request: Request) -> None:
    """Stands in for Airflow's login: the `_token` cookie must carry the test session."""
    if request.cookies.get("_token") != SESSION:
        raise HTTPException(401, "Not authenticated")


def host_app(dsn: str, ti_source: Any = None) -> FastAPI:
    """The monitor under /scraper-monitor plus an Airflow-like page that frames it."""
    host = FastAPI()

    @host.get("/plugin/scraper-monitor")
    def framed() -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><title>Airflow</title><iframe id="plugin" src="/scraper-monitor/" '
            f'sandbox="{AIRFLOW_IFRAME_SANDBOX}" style="width:1300px;height:850px"></iframe>'
        )

    host.mount("/scraper-monitor", create_app(lambda: dsn, cookie_auth, ti_source))
    return host


@pytest.fixture(scope="module")
def origin(seeded_store: Seed, browser_context: Any) -> Iterator[str]:
    with serve(host_app(seeded_store.dsn, seeded_store.ti_source())) as url:
        browser_context.add_cookies([{"name": "_token", "value": SESSION, "url": url}])
        yield url


@pytest.fixture
def base(origin: str) -> str:
    return f"{origin}/scraper-monitor/"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def store_value(dsn: str, query: str, params: dict[str, Any] | None = None) -> Any:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params or {}).fetchone()[0]


def text(page: Any, selector: str = "main") -> str:
    """Visible text with whitespace collapsed (flex layouts put line breaks between children)."""
    return " ".join(page.inner_text(selector).split())


def assert_links_relative(page: Any) -> None:
    """Inside Airflow the app lives under a prefix and in an iframe: no link may be absolute."""
    hrefs = page.eval_on_selector_all(
        "a[href], link[href], script[src], form[action]",
        """
        els => els.map(e => e.getAttribute('href') ?? e.getAttribute('src') ?? e.getAttribute('action'))
    """,
    )
    absolute = [h for h in hrefs if h.startswith(("/", "http:", "https:"))]
    assert not absolute, absolute


def test_overview_numbers_match_the_store(browser_page: BrowserPage, base: str, seeded_store: Seed) -> None:
    page = browser_page.page
    page.goto(base)
    success, failed = (
        store_value(
            seeded_store.dsn,
            "SELECT count(*) FILTER (WHERE state = %(state)s) FROM task_executions"
            " WHERE started_at >= now() - interval '24 hours'",
            {"state": state},
        )
        for state in ("success", "failed")
    )
    assert page.get_by_test_id("kpi-success-rate").locator(".kpi-value").inner_text() == (
        f"{success / (success + failed) * 100:.1f}%"
    )
    silent = store_value(
        seeded_store.dsn,
        "SELECT count(*) FROM task_executions WHERE silent AND started_at >= now() - interval '24 hours'",
    )
    assert silent == 2
    assert page.get_by_test_id("silent-banner").inner_text().startswith("⚠ 2 silent failures in the last 24h")
    cinema_total = store_value(
        seeded_store.dsn,
        "SELECT count(*) FROM task_executions WHERE scraper = 'cinema_city'"
        " AND started_at >= now() - interval '24 hours'",
    )
    row = page.locator('[data-testid=scraper-table] tr[data-scraper="cinema_city"]')
    assert row.locator("td").nth(1).inner_text() == str(cinema_total)
    newest_run = page.locator("[data-testid=runs-table] tbody tr").first
    assert seeded_store.cinema_run in newest_run.inner_text()
    assert_links_relative(page)
    shot(page, "overview")

    page.get_by_test_id("silent-banner").click()
    page.wait_for_url(re.compile(r"/scraper-monitor/silent$"))
    rows = page.locator("[data-testid=silent-table] tbody tr")
    assert rows.count() == 2
    assert "films == 0 on a day the cinema lists" in page.inner_text("[data-testid=silent-table]")
    shot(page, "silent-failures")

    rows.filter(has_text="cinema_dates").get_by_role("link", name="Investigate →").click()
    page.wait_for_url(re.compile(r"/scraper-monitor/executions/\d+$"))
    assert "Why it is suspicious" in text(page)
    assert_links_relative(page)
    shot(page, "execution-detail")
    assert browser_page.dialogs == []


def test_errors_panel_filters_by_category_and_escapes_scraped_text(
    browser_page: BrowserPage, base: str, seeded_store: Seed
) -> None:
    page = browser_page.page
    page.goto(base + "errors")
    expected = store_value(
        seeded_store.dsn,
        "SELECT count(*) FROM task_executions WHERE state IN ('failed', 'retrying')"
        " AND started_at >= now() - interval '7 days'",
    )
    assert f"Failures by category · {expected}" in text(page)
    assert page.locator("[data-testid=category-chart] svg .bar").count() >= 3
    assert page.locator("[data-testid=top-errors] tbody tr").count() >= 3
    shot(page, "errors")

    page.get_by_test_id("category-filter").select_option("validation_error")
    page.wait_for_url(re.compile(r"category=validation_error"))
    categories = page.eval_on_selector_all(
        "[data-testid=executions-table] tbody tr", "rows => rows.map(r => r.dataset.category)"
    )
    validation = store_value(
        seeded_store.dsn,
        "SELECT count(*) FROM task_executions WHERE state IN ('failed', 'retrying')"
        " AND error_category = 'validation_error' AND started_at >= now() - interval '7 days'",
    )
    assert categories and set(categories) == {"validation_error"}
    assert f"Failures · {validation} validation_error" in text(page)
    # The XSS probe is shown as the text it is; no element was created from it, no script ran.
    assert page.get_by_text(f"No TMDB match for title {XSS}").first.is_visible()
    assert page.locator("img").count() == 0
    shot(page, "errors-validation-filter")
    assert browser_page.dialogs == []


def test_chain_tree_collapses_cascades(browser_page: BrowserPage, base: str, seeded_store: Seed) -> None:
    page = browser_page.page
    page.goto(f"{base}chain/cinema_city/{seeded_store.cinema_run}")
    assert page.get_by_test_id("chain-summary").inner_text() == "20/25 succeeded (80%)"
    incidents = text(page, "[data-testid=incidents]")
    assert "cinema_dates[4] failed (network_error: HTTP 503 Service Unavailable" in incidents
    assert "): showtimes[4] never ran" in incidents
    assert "movie_details[7] failed (network_error: TMDB search timed out" in incidents
    assert "its showtimes were skipped" in incidents
    never_ran = page.locator('[data-label="showtimes[4]"]')
    assert never_ran.get_attribute("data-state") == "upstream_failed"
    assert "never ran" in never_ran.inner_text()
    assert_links_relative(page)
    shot(page, "chain")

    page.goto(f"{base}chain/kino_krakow/{seeded_store.kino_run}")
    assert page.get_by_test_id("chain-summary").inner_text() == "17/20 succeeded (85%)"
    assert f"movie_details[1] failed (validation_error: No TMDB match for title {XSS})" in text(
        page, "[data-testid=incidents]"
    )
    assert page.locator("img").count() == 0
    assert browser_page.dialogs == []


def test_trends_show_the_week_over_week_change(
    browser_page: BrowserPage, base: str, seeded_store: Seed
) -> None:
    page = browser_page.page
    page.goto(base + "trends")
    this_week, last_week = (
        store_value(
            seeded_store.dsn,
            "SELECT sum(executions) FILTER (WHERE state = 'success')::float"
            " / sum(executions) FILTER (WHERE state IN ('success', 'failed'))"
            " FROM execution_daily WHERE scraper = 'cinema_city'"
            " AND day BETWEEN current_date - %(first)s AND current_date - %(last)s",
            {"first": first, "last": last},
        )
        for first, last in ((6, 0), (13, 7))
    )
    row = page.locator('[data-testid=scraper-comparison] tr[data-scraper="cinema_city"]')
    change = (this_week - last_week) * 100
    assert row.locator("td.change").inner_text() == f"{'+' if change > 0 else '−'}{abs(change):.1f} pp"
    assert change < 0  # the seeded history has more network errors this week
    assert page.locator("[data-testid=errors-chart] svg polyline").count() >= 2
    assert page.locator("[data-testid=rate-chart] svg .series").count() == 2
    shot(page, "trends")
    page.get_by_role("link", name="7 days").click()
    page.wait_for_url(re.compile(r"days=7"))
    assert "last 7 days" in text(page, "h1")


def test_matching_panel_shows_the_matched_rate_and_scraped_titles_as_text(
    browser_page: BrowserPage, base: str, seeded_store: Seed
) -> None:
    page = browser_page.page
    page.goto(base)
    page.get_by_role("link", name="Matching", exact=True).click()
    page.wait_for_url(re.compile(r"/matching$"))
    rate = store_value(
        seeded_store.dsn,
        "SELECT count(*) FILTER (WHERE outcome = 'created')::float / count(*) FROM item_outcomes"
        " WHERE entity_type = 'film' AND scraper = 'cinema_city'"
        " AND recorded_at >= (now() AT TIME ZONE 'UTC')::date - 6",
    )
    row = page.locator('[data-testid=matching-scrapers] tr[data-scraper="cinema_city"]')
    assert row.get_by_test_id("matched-rate").inner_text() == f"{rate * 100:.1f}%"
    assert "guessed_split_exact 1" in text(
        page, '[data-testid=matching-scrapers] tr[data-scraper="cinema_city"]'
    )
    failing = text(page, "[data-testid=failing-films]")
    assert f"Kulej {XSS}" in failing and "tmdb_low_confidence 0.46" in failing and "Za kulisami" in failing
    assert "Serce wojownika" in text(page, "[data-testid=low-confidence]")
    assert page.locator("[data-testid=matched-chart] svg .series").count() >= 1
    # The hostile title is shown as the text it is: no element was created from it, no script ran.
    assert page.get_by_text(f"Kulej {XSS}").first.is_visible()
    assert page.locator("img").count() == 0
    assert_links_relative(page)
    shot(page, "matching")
    assert browser_page.dialogs == []


def test_executions_export_keeps_the_filters(
    browser_page: BrowserPage, base: str, seeded_store: Seed
) -> None:
    page = browser_page.page
    page.goto(base + "executions?scraper=kino_krakow&state=failed")
    shot(page, "executions")
    with page.expect_download() as download:
        page.get_by_test_id("export-link").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    expected = store_value(
        seeded_store.dsn,
        "SELECT count(*) FROM task_executions WHERE scraper = 'kino_krakow' AND state = 'failed'",
    )
    assert len(rows) == expected
    assert {r["scraper"] for r in rows} == {"kino_krakow"}
    assert any(r["error_message"] == "'" + '=HYPERLINK("http://evil.example","click")' for r in rows)


def test_navigation_shows_a_loading_state(browser_page: BrowserPage, base: str) -> None:
    page = browser_page.page
    page.goto(base)
    # Record the body's state as the page unloads, i.e. while the next panel is being fetched.
    page.evaluate("""() => window.addEventListener('beforeunload', () =>
        sessionStorage.setItem('loading', document.body.classList.contains('is-loading')))""")
    page.get_by_role("link", name="Trends", exact=True).click()
    page.wait_for_url(re.compile(r"/trends$"))
    assert page.evaluate("sessionStorage.getItem('loading')") == "true"
    assert page.evaluate("document.body.classList.contains('is-loading')") is False


def test_panels_work_inside_a_sandboxed_iframe(browser_page: BrowserPage, origin: str) -> None:
    page = browser_page.page
    page.goto(f"{origin}/plugin/scraper-monitor")
    frame = page.wait_for_selector("#plugin").content_frame()
    frame.wait_for_url(re.compile(r"/scraper-monitor/$"))
    frame.get_by_role("link", name="Errors", exact=True).click()
    frame.wait_for_url(re.compile(r"/scraper-monitor/errors$"))
    frame.get_by_test_id("category-filter").select_option("network_error")
    frame.wait_for_url(re.compile(r"/scraper-monitor/errors\?.*category=network_error"))
    categories = frame.eval_on_selector_all(
        "[data-testid=executions-table] tbody tr", "rows => rows.map(r => r.dataset.category)"
    )
    assert categories and set(categories) == {"network_error"}
    shot(page, "inside-airflow-iframe")


def test_empty_store_and_store_down(
    browser_page: BrowserPage, browser_context: Any, empty_store: str
) -> None:
    page = browser_page.page
    for name, dsn in (("empty-store", empty_store), ("store-down", DOWN_DSN)):
        with serve(host_app(dsn)) as url:
            browser_context.add_cookies([{"name": "_token", "value": SESSION, "url": url}])
            response = page.goto(f"{url}/scraper-monitor/")
            if name == "empty-store":
                assert response.status == 200
                assert "No executions recorded yet — trigger a DAG run" in text(page)
                page.goto(f"{url}/scraper-monitor/trends")
                assert "No executions recorded yet" in text(page)
                page.goto(f"{url}/scraper-monitor/")
            else:
                assert response.status == 503
                assert "The monitor store is unavailable" in text(page)
                assert "Traceback" not in page.content()
            assert page.locator("nav a").count() >= 5  # the panels stay reachable
            shot(page, name)
