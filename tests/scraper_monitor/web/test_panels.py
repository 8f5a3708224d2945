"""The HTML panels and chart helpers without Airflow: the web app with a stand-in login, a seeded store.

Every page renders (templates use StrictUndefined, so a missing variable fails here), scraped text is
escaped on every page, links keep their filters, and the SVG charts escape labels and scale sanely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import yaml
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from scraper_monitor import settings
from scraper_monitor.export import csv_cell
from scraper_monitor.state import FAILED, SUCCESS
from scraper_monitor.web import create_app
from scraper_monitor.web.charts import Bar, Series, _nice_ceiling, bar_chart, css_class, line_chart
from tests.factories import add_execution
from tests.fixtures.monitor_store import XSS, Seed

ESCAPED_XSS = "&lt;img src=x onerror=alert(1)&gt;"


def header_auth(request: Request) -> None:
    if request.headers.get("x-test-user") != "admin":
        raise HTTPException(401, "Not authenticated")


@pytest.fixture(scope="module")
def client(seeded_store: Seed) -> Iterator[TestClient]:
    app = create_app(lambda: seeded_store.dsn, header_auth, seeded_store.ti_source())
    with TestClient(app, headers={"x-test-user": "admin", "accept": "text/html"}) as client:
        yield client


def pages(seed: Seed) -> list[str]:
    cinema, kino = quote(seed.cinema_run, safe=""), quote(seed.kino_run, safe="")
    return [
        "/",
        "/?hours=720",
        "/executions",
        "/executions?scraper=kino_krakow&category=validation_error&state=&silent=&since=",
        "/executions/1",
        "/errors",
        "/errors?hours=24&category=network_error&state=retrying",
        "/silent?hours=168",
        "/runs",
        f"/chain/cinema_city/{cinema}",
        f"/chain/kino_krakow/{kino}",
        "/trends",
        "/trends?days=7",
        "/trends?days=90&scraper=cinema_city",
        "/matching",
        "/matching?days=30&scraper=cinema_city",
    ]


def test_every_panel_renders_and_escapes_scraped_text(client: TestClient, seeded_store: Seed) -> None:
    shows_probe = 0
    for path in pages(seeded_store):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert XSS not in response.text, path  # never as markup
        shows_probe += ESCAPED_XSS in response.text
        # Inside Airflow the app sits under a prefix in an iframe: every link must be relative.
        assert not re.search(r'(?:href|src|action)="(?:/|https?:)', response.text), path
    assert shows_probe >= 4  # executions, errors, kino chain, ... show the probe as text


def test_filters_survive_paging_and_the_export_link(client: TestClient) -> None:
    html = client.get("/executions?scraper=cinema_city&state=success").text
    assert 'href="?scraper=cinema_city&amp;state=success&amp;offset=25"' in html
    assert 'href="api/export.csv?scraper=cinema_city&amp;state=success"' in html
    assert '<option value="success" selected>' in html


def test_chain_page_shows_the_summary_and_incidents(client: TestClient, seeded_store: Seed) -> None:
    html = client.get(f"/chain/cinema_city/{quote(seeded_store.cinema_run, safe='')}").text
    assert "20/25 succeeded (80%)" in html
    assert "never ran: cinema_dates[4] failed" in html
    assert "movie_details[7] failed (network_error: TMDB search timed out" in html
    assert 'href="../../executions?dag_id=cinema_city"' in html


def test_a_failing_airflow_source_degrades_the_chain_to_the_store(seeded_store: Seed) -> None:
    class Broken:
        def dag_structure(self, dag_id: str, run_id: str) -> None:
            raise RuntimeError("metadata DB went away")

        task_instances = dag_structure

    app = create_app(lambda: seeded_store.dsn, header_auth, Broken())
    client = TestClient(app, headers={"x-test-user": "admin"})
    chain = client.get(f"/api/chains/cinema_city/{quote(seeded_store.cinema_run, safe='')}").json()
    assert chain["source"] == "store"
    assert chain["summary"]["failed"] == 3


def test_unknown_things_are_readable_404s(client: TestClient) -> None:
    missing_run = client.get("/chain/cinema_city/manual__2030-01-01")
    assert missing_run.status_code == 200  # the Airflow tab of a run that has not started yet
    assert "Nothing to show for this run yet" in missing_run.text
    missing_execution = client.get("/executions/999999")
    assert missing_execution.status_code == 404
    assert "no execution with id 999999" in missing_execution.text
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/monitor.js").headers["content-type"].startswith("text/javascript")


def test_a_bad_filter_renders_an_error_state(client: TestClient) -> None:
    response = client.get("/executions?state=failure")
    assert response.status_code == 422
    assert "Invalid filter" in response.text and "state" in response.text
    assert '<nav aria-label="Panels">' in response.text


def test_panels_show_the_city_and_filter_by_it(client: TestClient, seeded_store: Seed) -> None:
    listing = client.get("/executions?city=Krak%C3%B3w")  # the name as typed: the same city
    assert listing.status_code == 200
    cells = re.findall(r'<td data-testid="city">([^<]*)</td>', listing.text)
    assert cells and set(cells) == {"krakow"}
    assert '<option value="krakow" selected>krakow</option>' in listing.text
    # Runs without a city (Kino Krakow's today, the history) still show, with a dash.
    everything = client.get("/executions").text
    assert {"krakow", "–"} <= set(re.findall(r'<td data-testid="city">([^<]*)</td>', everything))
    runs = client.get("/runs").text
    assert {"krakow", "–"} <= set(re.findall(r'<td data-testid="city">([^<]*)</td>', runs))
    for path in ("/", "/errors", "/silent", "/trends", "/runs"):
        page = client.get(f"{path}{'&' if '?' in path else '?'}city=krakow")
        assert page.status_code == 200, path
        assert 'data-testid="city-filter"' in page.text, path
    # One city's overview leads to that city's rows.
    overview = client.get("/?city=krakow").text
    assert 'href="executions?scraper=cinema_city&amp;city=krakow"' in overview
    # What is not a city is an error page that shows the value escaped, never a query.
    refused = client.get(f"/executions?city={quote(XSS)}")
    assert refused.status_code == 422 and XSS not in refused.text


def test_anonymous_html_gets_a_login_hint(seeded_store: Seed) -> None:
    app = create_app(lambda: seeded_store.dsn, header_auth)
    response = TestClient(app).get("/errors", headers={"accept": "text/html"})
    assert response.status_code == 401
    assert "Log in to Airflow first" in response.text


# --- charts and CSV cells ---------------------------------------------------------------------


def test_chart_labels_are_escaped_and_classes_are_safe() -> None:
    svg = bar_chart([Bar(XSS, 3, css='x" onload="alert(1)', href="?category=a&b=1")], title="t")
    assert XSS not in svg and ESCAPED_XSS in svg
    assert 'class="bar s-x__onload__alert_1_"' in svg
    assert 'href="?category=a&amp;b=1"' in svg
    assert css_class("Network_Error") == "network_error"


def test_line_chart_leaves_gaps_for_days_without_data() -> None:
    svg = line_chart(["d1", "d2", "d3", "d4"], [Series("s", "s", [1, None, 2, 3])], title="t")
    assert svg.count("<polyline") == 2  # d1 alone, then d3-d4
    assert svg.count("<circle") == 3


@pytest.mark.parametrize(
    ("peak", "integer", "top"),
    [(0, True, 4), (3, True, 4), (5, True, 8), (17, True, 20), (45, True, 60), (0.37, False, 0.4)],
)
def test_y_axis_tops_are_round(peak: float, integer: bool, top: float) -> None:
    assert _nice_ceiling(peak, integer=integer) == pytest.approx(top)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+33 600", "'+33 600"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        (-1, -1),
        ({"films": 3, "a": 1}, "a=1;films=3"),
    ],
)
def test_csv_cells_cannot_become_formulas(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_a_recovered_execution_says_so_in_the_list_and_its_details(empty_store: str) -> None:
    from scraper_monitor.reconcile import AirflowTry
    from scraper_monitor.recovery import recovered_summary
    from scraper_monitor.store.db import connect
    from scraper_monitor.store.persist import save
    from tests.factories import T0

    attempt = AirflowTry("sync", -1, 1, "failed", 2, started_at=T0, ended_at=T0, hostname="worker-7.fleet")
    summary = recovered_summary(
        "cinema_city",
        "manual__1",
        attempt,
        "retrying",
        scraper="cinema_city",
        logical_date=T0,
        log_error=None,
    )
    with connect(empty_store) as conn:
        execution_id = save(conn, summary)
    app = create_app(lambda: empty_store, header_auth)
    with TestClient(app, headers={"x-test-user": "admin", "accept": "text/html"}) as client:
        listing = client.get("/executions?hours=")
        detail = client.get(f"/executions/{execution_id}")
        api = client.get(f"/api/executions/{execution_id}", headers={"accept": "application/json"}).json()
    assert listing.status_code == 200 and '<span class="badge recovered"' in listing.text
    assert detail.status_code == 200 and 'data-testid="recovered"' in detail.text
    assert "worker-7.fleet" in detail.text
    assert api["execution"]["recovered"] is True and api["execution"]["hostname"] == "worker-7.fleet"


def test_the_overview_shows_the_slo_status_of_each_task(
    empty_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per task: its status against its own target, escaped (a task id is text from the SLO file and
    the store)."""
    config = yaml.safe_load(settings.DEFAULT_SLO_CONFIG.read_text())
    config["scrapers"]["cinema_city"]["tasks"][XSS] = {"target_success_rate": 0.5, "alert_threshold": 0.4}
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv(settings.SLO_CONFIG_ENV, str(path))
    just_now = datetime.now(UTC) - timedelta(minutes=5)  # the overview reads the real clock
    with psycopg.connect(empty_store, autocommit=True) as db:
        for i in range(10):  # 6 of 10: below the cinema-days' 90 % alert threshold
            state = SUCCESS if i < 6 else FAILED
            add_execution(
                db, task_id="cinema_day.cinema_dates", map_index=i, state=state, started_at=just_now
            )
        for i in range(5):
            add_execution(db, task_id="movie_details", map_index=i, started_at=just_now, duration_ms=1500)
    app = create_app(lambda: empty_store, header_auth)
    with TestClient(app, headers={"x-test-user": "admin", "accept": "text/html"}) as client:
        html = client.get("/").text
        api = client.get("/api/overview", headers={"accept": "application/json"}).json()

    table = html.split('data-testid="task-slo-table"', 1)[1].split("</table>", 1)[0]
    rows = dict(
        re.findall(r'<tr data-scraper="cinema_city" data-task="([^"]*)">(.*?)</tr>', table, re.DOTALL)
    )
    status = {task: re.search(r'class="slo slo-(\w+)"', row)[1] for task, row in rows.items()}
    assert status["cinema_day.cinema_dates"] == "critical"
    assert status["movie_details"] == "met"
    assert status["sync"] == "insufficient_data"  # declared, never ran in the window
    cells = re.findall(r'<td class="num">([^<]*)</td>', rows["cinema_day.cinema_dates"])
    assert cells[:4] == ["60.0%", "95%", "90%", "10"]  # rate, target, alert below, final runs
    assert ESCAPED_XSS in table and XSS not in html
    tasks = {t["task_id"]: t for s in api["scrapers"] for t in s["slo_tasks"]}
    assert (tasks["movie_details"]["status"], tasks["movie_details"]["avg_duration_ms"]) == ("met", 1500.0)
