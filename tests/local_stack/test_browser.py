"""The panels inside the real Airflow UI: log in through Airflow's own login page, open the
"Scraper monitor" nav page and the "Chain" tab of a demo run, and compare what is on screen with the
monitor store and with Airflow's task instances. Screenshots go to docs/screenshots/airflow-*.png."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.store.writer import SummaryWriter
from tests.fixtures.airflow import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SCREENSHOTS = ROOT / "docs" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"


def store_count(dsn: str, where: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM task_executions WHERE {where}").fetchone()[0]  # noqa: S608


@pytest.fixture(scope="module")
def ui(browser_context: Any, stack: Any, demo_runs: dict[str, str]) -> Iterator[tuple[Any, list[str]]]:
    """A page logged in through Airflow's login form; the list collects any JavaScript dialogs."""
    page = browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{stack.api_url}/")
    page.wait_for_selector('input[name="username"]', timeout=60_000)
    page.fill('input[name="username"]', stack.login["username"])
    page.fill('input[name="password"]', stack.login["password"])
    page.click('button[type="submit"]')
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=60_000)
    yield page, dialogs
    page.close()


def test_monitor_page_in_the_airflow_ui_matches_the_store(ui, stack) -> None:
    page, dialogs = ui
    last_24h = "started_at >= now() - interval '24 hours'"
    # The monitor's own DAGs run beside the tests (every 5 minutes at most) and are recorded like any
    # DAG: the page's count lies between the store's counts before and after it was read.
    before = store_count(stack.monitor_dsn, last_24h)
    page.goto(f"{stack.api_url}/plugin/scraper-monitor")
    frame = page.frame_locator("iframe")
    executions = frame.get_by_test_id("kpi-executions").locator(".kpi-value")
    executions.wait_for(timeout=60_000)
    assert before <= int(executions.inner_text()) <= store_count(stack.monitor_dsn, last_24h)
    assert before > 0
    silent = store_count(stack.monitor_dsn, "silent AND started_at >= now() - interval '24 hours'")
    assert frame.get_by_test_id("silent-banner").inner_text().startswith(f"⚠ {silent} silent failure")
    page.screenshot(path=str(SCREENSHOTS / "airflow-monitor-page.png"), full_page=True)
    assert dialogs == []


def test_chain_tab_of_a_demo_run_shows_the_cascade(ui, stack, demo_runs) -> None:
    page, _ = ui
    run_id = demo_runs["cinema_city"]
    states = Counter(ti["state"] for ti in stack.api().task_instances("cinema_city", run_id))
    finished = states["success"] + states["failed"] + states["upstream_failed"] + states["up_for_retry"]
    page.goto(f"{stack.api_url}/dags/cinema_city/runs/{quote(run_id, safe='')}/plugin/chain")
    frame = page.frame_locator("iframe")
    summary = frame.get_by_test_id("chain-summary")
    summary.wait_for(timeout=60_000)
    assert summary.inner_text() == (
        f"{states['success']}/{finished} succeeded ({states['success'] * 100 // finished}%)"
    )
    incidents = frame.get_by_test_id("incidents").inner_text()
    assert "cinema_dates[" in incidents and "never ran" in incidents
    page.screenshot(path=str(SCREENSHOTS / "airflow-chain-tab.png"), full_page=True)


def test_scraped_html_in_an_error_message_shows_as_text(ui, stack) -> None:
    page, dialogs = ui
    now = datetime.now(UTC)
    summary = ExecutionSummary(
        dag_id="kino_krakow", run_id="manual__hostile", task_id="movie_details", map_index=0, try_number=1,
        state="failed", scraper="kino_krakow", started_at=now, ended_at=now, duration_ms=5,
        error_category="data_quality_error", error_type="parse_error", error_message=f"ParseError: {HOSTILE}",
    )  # fmt: skip
    assert SummaryWriter(stack.monitor_dsn, Path(stack.state_dir) / "spool.jsonl").write(summary) == "stored"
    page.goto(f"{stack.api_url}/plugin/scraper-monitor")
    frame = page.frame_locator("iframe")
    frame.get_by_role("link", name="Errors").first.click()
    frame.get_by_test_id("top-errors").wait_for(timeout=60_000)
    assert HOSTILE in frame.get_by_test_id("top-errors").inner_text()
    assert frame.locator("img[src=x]").count() == 0
    assert dialogs == []
