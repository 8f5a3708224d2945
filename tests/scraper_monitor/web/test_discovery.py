"""The Discovery panel and ``/api/discovery`` over a real store: the API's answer and its 422s, who may
change what (a reader gets 403 and no controls, a cross-site post is refused), a bad frequency shown
next to its field with nothing saved, hostile city names and error messages shown as text, and the
page when Airflow's API is not configured or down (the store's data, no trigger).

The app is built without Airflow, with a stand-in for Airflow's login and for "may trigger DAG runs"
(``create_app(may_trigger=...)``). The browser tests drive the panel in headless Chromium against the
shared real stack's Airflow (its REST API is the panel's Airflow client; the source is the paused
``discovery_probe`` DAG, so a triggered run stays queued and nothing is scraped).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.airflow.rest import AirflowApi, AirflowUnreachable
from scraper_monitor.airflow.web import may_trigger
from scraper_monitor.city import CITY_MAX_CHARS
from scraper_monitor.discovery import SeedCity, SeedSource
from scraper_monitor.store import discovery as store
from scraper_monitor.web import create_app
from tests.factories import add_execution
from tests.fixtures.browser import BrowserPage, serve
from tests.fixtures.monitor_store import DOWN_DSN, XSS, drop_store, new_store
from tests.fixtures.stack import Stack

PROBE = "discovery_probe"
SAME_SITE = {"origin": "http://testserver"}
HOSTILE_ERROR = "HTTP 503 from <script>alert('scraped')</script>"


def seed_discovery(dsn: str) -> None:
    """Two cities of the probe source: one with a hostile display name and a failed run."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        store.seed(
            conn,
            "seed",
            [
                SeedCity("hostile", XSS, True, (SeedSource(PROBE, True, 24, {"days_ahead": 2}),)),
                SeedCity("warszawa", "Warszawa", True, (SeedSource(PROBE, True, 48, {}),)),
            ],
        )
        started = datetime.now(UTC) - timedelta(hours=2)
        for task, state in (("first", "success"), ("second", "failed")):
            add_execution(
                conn,
                scraper=PROBE,
                task_id=task,
                run_id="discovery__hostile__2031-01-01",
                city="hostile",
                state=state,
                started_at=started,
                error_category="network_error" if state == "failed" else None,
                error_message=HOSTILE_ERROR if state == "failed" else None,
            )


def header_login(request: Request) -> None:
    if request.headers.get("x-test-user") not in ("erin", "viewer"):
        raise HTTPException(401, "Not authenticated")


def header_triggerer(request: Request) -> str | None:
    """The stand-in for Airflow's "may trigger DAG runs": erin may, the viewer may not."""
    user = request.headers.get("x-test-user")
    return user if user == "erin" else None


def unreachable() -> AirflowApi:
    raise AirflowUnreachable("cannot reach Airflow at http://127.0.0.1:9 (ConnectionError)")


@pytest.fixture(scope="module")
def dsn(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """One seeded store for the tests that change nothing (each checks that it did not)."""
    dsn = new_store(pg_server)
    seed_discovery(dsn)
    yield dsn
    drop_store(pg_server, dsn)


@pytest.fixture
def own_dsn(empty_store: str) -> str:
    """A seeded store of its own, for a test that changes it."""
    seed_discovery(empty_store)
    return empty_store


Client = Callable[..., TestClient]


def make_client(dsn: str, user: str = "erin", airflow: Callable[[], AirflowApi] | None = None) -> TestClient:
    app = create_app(lambda: dsn, header_login, may_trigger=header_triggerer, airflow_client=airflow)
    return TestClient(app, headers={"x-test-user": user, "accept": "text/html"})


@pytest.fixture
def client(dsn: str) -> Client:
    return lambda user="erin", airflow=None: make_client(dsn, user, airflow)


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page offers no form"
    return found.group(1)


def source_row(dsn: str, city: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT enabled, frequency_hours, settings FROM discovery_sources WHERE city = %s", (city,)
        ).fetchone()
    assert row is not None
    return tuple(row)


def changes(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return [tuple(r) for r in conn.execute("SELECT actor, change FROM discovery_changes ORDER BY id")]


def test_the_api_answers_every_city_with_its_stats_and_changes(client: Client) -> None:
    answer = client().get("/api/discovery").json()
    cities = {c["city"]: c for c in answer["cities"]}
    assert set(cities) == {"hostile", "warszawa"} and cities["hostile"]["name"] == XSS
    (probe,) = cities["hostile"]["sources"]
    assert (probe["source"], probe["enabled"], probe["due"], probe["settings"]) == (
        PROBE,
        True,
        True,
        {"days_ahead": 2},
    )
    stats = probe["stats"]
    assert (stats["runs"], stats["succeeded"], stats["failed"]) == (1, 0, 1)
    assert (stats["last_error_category"], stats["last_error_message"]) == ("network_error", HOSTILE_ERROR)
    assert cities["warszawa"]["sources"][0]["stats"]["runs"] == 0
    assert answer["days"] == 7 and len(answer["changes"]) == 4  # two cities and two sources added
    one = client().get("/api/discovery", params={"city": "warszawa", "days": 30}).json()
    assert [c["city"] for c in one["cities"]] == ["warszawa"] and one["days"] == 30


@pytest.mark.parametrize(
    ("params", "status", "mentions"),
    [
        ({"days": "0"}, 422, "days"),
        ({"days": "91"}, 422, "days"),
        ({"days": "week"}, 422, "days"),
        ({"city": "Warszawa!"}, 422, "city"),
        ({"city": "x" * (CITY_MAX_CHARS + 1)}, 422, "city"),
        ({"city": "gdansk"}, 404, "no city 'gdansk' in discovery"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(
    client: Client, params: dict[str, str], status: int, mentions: str
) -> None:
    response = client().get("/api/discovery", params=params, headers={"accept": "application/json"})
    assert response.status_code == status
    assert mentions in response.json()["detail"]


def test_anonymous_requests_are_refused(dsn: str) -> None:
    app = create_app(lambda: dsn, header_login, may_trigger=header_triggerer)
    with TestClient(app) as anonymous:
        assert anonymous.get("/api/discovery").status_code == 401
        assert anonymous.get("/discovery").status_code == 401
        assert anonymous.post("/discovery", data={"action": "disable", "city": "warszawa"}).status_code == 401
    assert source_row(dsn, "warszawa")[0] is True


def test_a_user_sees_and_changes_only_the_sources_of_dags_they_may_read(dsn: str) -> None:
    app = create_app(
        lambda: dsn, header_login, may_trigger=header_triggerer, dag_scope=lambda: frozenset({"kino_krakow"})
    )
    with TestClient(app, headers={"x-test-user": "erin", "accept": "text/html"}) as other_dags:
        answer = other_dags.get("/api/discovery").json()
        assert [(c["city"], c["sources"]) for c in answer["cities"]] == [("hostile", []), ("warszawa", [])]
        assert {c["source"] for c in answer["changes"]} == {None}  # the cities' own lines only
        page = other_dags.get("/discovery")
        refused = other_dags.post(
            "/discovery",
            data={"action": "disable", "city": "warszawa", "source": PROBE, "csrf_token": token(page.text)},
            headers=SAME_SITE,
        )
    assert refused.status_code == 403 and f"not allowed to read DAG &#39;{PROBE}&#39;" in refused.text
    assert source_row(dsn, "warszawa")[0] is True


def test_hostile_names_and_messages_are_shown_as_text(client: Client) -> None:
    html = client().get("/discovery").text
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;scraped&#39;)&lt;/script&gt;" in html


def test_a_reader_sees_no_controls_and_every_post_is_refused(client: Client, dsn: str) -> None:
    form = token(client("erin").get("/discovery").text)  # an editor's token does not help a reader
    viewer = client("viewer")
    page = viewer.get("/discovery")
    assert page.status_code == 200 and "warszawa" in page.text
    assert "csrf_token" not in page.text and "<button" not in page.text
    assert "needs an Airflow role that may trigger DAG runs" in page.text
    for fields in (
        {"action": "disable", "city": "warszawa", "source": PROBE},
        {"action": "disable", "city": "warszawa"},
        {"action": "edit", "city": "warszawa", "source": PROBE, "frequency_hours": "6"},
        {"action": "trigger", "city": "warszawa", "source": PROBE},
    ):
        answer = viewer.post("/discovery", data={**fields, "csrf_token": form}, headers=SAME_SITE)
        assert answer.status_code == 403 and "may trigger DAG runs" in answer.text
    assert source_row(dsn, "warszawa") == (True, 48, {})
    assert len(changes(dsn)) == 4


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param({"headers": {"origin": "https://evil.example"}}, id="another origin"),
        pytest.param({"headers": {"sec-fetch-site": "cross-site"}}, id="a cross-site fetch"),
        pytest.param({"headers": SAME_SITE, "token": "forged"}, id="a forged token"),
    ],
)
def test_a_cross_site_or_tokenless_post_changes_nothing(client: Client, dsn: str, attack: dict) -> None:
    editor = client()
    form = attack.get("token", token(editor.get("/discovery").text))
    answer = editor.post(
        "/discovery",
        data={"action": "disable", "city": "warszawa", "source": PROBE, "csrf_token": form},
        headers=attack["headers"],
    )
    assert answer.status_code == 403 and "was not sent from the scraper monitor" in answer.text
    assert source_row(dsn, "warszawa")[0] is True


def test_switches_and_frequency_change_the_store_and_the_log_without_airflow(own_dsn: str) -> None:
    editor = make_client(own_dsn)  # no Airflow client configured: switches and frequencies still work
    page = editor.get("/discovery")
    assert "Settings cannot be checked and triggers cannot be sent right now" in page.text
    assert re.search(r'data-testid="trigger" disabled', page.text)
    form = token(page.text)

    def post(**fields: str) -> Any:
        return editor.post("/discovery", data={**fields, "csrf_token": form}, headers=SAME_SITE)

    off = post(action="disable", city="warszawa", source=PROBE)
    assert off.status_code == 200 and f"warszawa/{PROBE} disabled." in off.text
    again = post(action="disable", city="warszawa", source=PROBE)
    assert f"warszawa/{PROBE} was already disabled." in again.text
    city_off = post(action="disable", city="hostile")
    assert "discovery of hostile disabled." in city_off.text and "discovery off" in city_off.text

    for bad, problem in (
        ("0", "frequency_hours must be from 1 to 8760, got 0"),
        ("daily", "frequency_hours must be a whole number of hours, got &#39;daily&#39;"),
    ):
        refused = post(action="edit", city="warszawa", source=PROBE, frequency_hours=bad)
        assert refused.status_code == 422
        assert re.search(
            r'<input name="frequency_hours"[^>]*value="' + bad + r'"[^>]*aria-invalid="true">\s*</label>\s*'
            r'<span class="field-error" data-testid="error-frequency_hours">' + re.escape(problem),
            refused.text,
        )
    saved = post(action="edit", city="warszawa", source=PROBE, frequency_hours="12")
    assert saved.status_code == 200 and f"warszawa/{PROBE}: frequency_hours 48 -&gt; 12." in saved.text
    assert source_row(own_dsn, "warszawa") == (False, 12, {})
    assert changes(own_dsn)[4:] == [
        ("erin", "disabled"),
        ("erin", "disabled"),
        ("erin", "frequency_hours 48 -> 12"),
    ]
    unknown = post(action="disable", city="gdansk", source=PROBE)
    assert unknown.status_code == 422 and "city &#39;gdansk&#39; has no source" in unknown.text


def test_with_airflow_down_the_page_shows_the_store_and_a_trigger_changes_nothing(
    client: Client, dsn: str
) -> None:
    editor = client(airflow=unreachable)
    page = editor.get("/discovery")
    assert page.status_code == 200 and "warszawa" in page.text and HOSTILE_ERROR[:8] in page.text
    assert "cannot reach Airflow&#39;s REST API (cannot reach Airflow at http://127.0.0.1:9" in page.text
    answer = editor.post(
        "/discovery",
        data={"action": "trigger", "city": "warszawa", "source": PROBE, "csrf_token": token(page.text)},
        headers=SAME_SITE,
    )
    assert answer.status_code == 503 and "Not done: triggers cannot be sent right now" in answer.text
    preview = editor.get("/discovery", params={"preview": "true"})
    assert preview.status_code == 200 and "the preview needs Airflow&#39;s REST API" in preview.text
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM discovery_sources WHERE last_run_id IS NOT NULL"
        ).fetchone() == (0,)
    assert len(changes(dsn)) == 4


class _AuthManager:
    """Answers is_authorized_dag as roles do: a viewer may GET, a user may trigger runs too."""

    def __init__(self, triggerers: set[str]) -> None:
        self.triggerers = triggerers
        self.asked: list[tuple[str, Any]] = []

    def is_authorized_dag(self, *, method: str, user: Any, access_entity: Any = None, **_: Any) -> bool:
        self.asked.append((method, access_entity))
        return method == "GET" or user in self.triggerers


def test_the_door_lets_only_users_who_may_trigger_runs_change_discovery() -> None:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    manager = _AuthManager({"op"})
    assert may_trigger("op", manager) and not may_trigger("viewer", manager)
    assert manager.asked[-1] == ("POST", DagAccessEntity.RUN)


# --- in the browser, with the real stack's Airflow ---------------------------------------------

EDITOR_SESSION = "discovery-editor-session"
VIEWER_SESSION = "discovery-viewer-session"


def cookie_login(request: Request) -> None:
    """Stands in for Airflow's login: the `_token` cookie names a session."""
    if request.cookies.get("_token") not in (EDITOR_SESSION, VIEWER_SESSION):
        raise HTTPException(401, "Not authenticated")


def cookie_triggerer(request: Request) -> str | None:
    return "erin" if request.cookies.get("_token") == EDITOR_SESSION else None


@dataclass(frozen=True)
class Live:
    dsn: str
    url: str  # the app's base URL, ending in /

    def login(self, context: Any, session: str) -> None:
        context.add_cookies([{"name": "_token", "value": session, "url": self.url}])


@pytest.fixture(scope="module")
def live(pg_server: EmbeddedPostgres, stack: Stack) -> Iterator[Live]:
    dsn = new_store(pg_server)
    seed_discovery(dsn)
    app = create_app(lambda: dsn, cookie_login, may_trigger=cookie_triggerer, airflow_client=stack.api)
    with serve(app, "/scraper-monitor") as url:
        yield Live(dsn, f"{url}/")
    drop_store(pg_server, dsn)


def text(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def submit(page: Any, button: Any) -> int:
    """Click a form's button; the status of the page the post answered with."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        button.click()
    page.wait_for_load_state()
    return answer.value.status


def same_minute_ahead(seconds: float = 10) -> None:
    """Two triggers of one minute share a run id: start them early enough in a minute to stay in it."""
    if datetime.now(UTC).second >= 60 - seconds:
        time.sleep(61 - datetime.now(UTC).second)


@pytest.mark.browser
def test_an_editor_switches_edits_and_triggers_a_source(
    browser_page: BrowserPage, browser_context: Any, live: Live, stack: Stack
) -> None:
    page = browser_page.page
    live.login(browser_context, EDITOR_SESSION)
    page.goto(f"{live.url}discovery")
    assert text(page.get_by_test_id("city-hostile").locator("h2")).startswith(XSS)  # text, not markup
    assert HOSTILE_ERROR in text(page.get_by_test_id(f"source-hostile/{PROBE}").get_by_test_id("last-error"))
    row = page.get_by_test_id(f"source-warszawa/{PROBE}")

    assert submit(page, row.get_by_test_id("source-switch")) == 200
    assert text(page.get_by_test_id("outcome")) == f"warszawa/{PROBE} disabled."
    assert text(row.get_by_test_id("source-state")) == "off" and source_row(live.dsn, "warszawa")[0] is False
    assert submit(page, row.get_by_test_id("source-switch")) == 200
    assert text(row.get_by_test_id("source-state")) == "on" and source_row(live.dsn, "warszawa")[0] is True

    row.get_by_test_id("edit").click()
    row.get_by_test_id("setting-days_ahead").fill("99")
    assert submit(page, row.get_by_test_id("save")) == 422
    error = row.get_by_test_id("error-days_ahead")
    assert error.is_visible() and "99 is greater than the maximum of 7" in text(error)
    assert row.get_by_test_id("setting-days_ahead").get_attribute("aria-invalid") == "true"
    assert source_row(live.dsn, "warszawa") == (True, 48, {})  # nothing saved
    row.get_by_test_id("setting-days_ahead").fill("5")
    assert submit(page, row.get_by_test_id("save")) == 200
    assert 'settings {} -> {"days_ahead": 5}' in text(page.get_by_test_id("outcome"))
    assert source_row(live.dsn, "warszawa") == (True, 48, {"days_ahead": 5})
    assert text(row.get_by_test_id("source-settings")) == "days_ahead=5"

    same_minute_ahead()
    assert submit(page, row.get_by_test_id("trigger")) == 200
    queued = re.fullmatch(
        r"Run (discovery__warszawa__manual__\S+) queued\.", text(page.get_by_test_id("outcome"))
    )
    assert queued, text(page.get_by_test_id("outcome"))
    run_id = queued.group(1)
    assert text(row.get_by_test_id("last-queued")) == run_id  # the run appears on the panel
    assert stack.api().dag_run(PROBE, run_id)["conf"] == {"city": "warszawa", "days_ahead": 5}
    assert submit(page, row.get_by_test_id("trigger")) == 200  # a second click: the same run
    assert text(page.get_by_test_id("outcome")).startswith(f"Run {run_id} was queued already")
    assert [r["dag_run_id"] for r in stack.api().dag_runs(PROBE) if "warszawa" in r["dag_run_id"]] == [run_id]

    log = text(page.get_by_test_id("changes"))
    assert f"erin warszawa/{PROBE} triggered {run_id} (queued)" in log
    assert f'erin warszawa/{PROBE} settings {{}} -> {{"days_ahead": 5}}' in log

    page.get_by_test_id("preview-link").click()
    page.wait_for_load_state()
    planned = text(page.get_by_test_id("preview-table"))
    today = datetime.now(UTC).date().isoformat()
    assert f"hostile {PROBE} discovery__hostile__{today} city=hostile, days_ahead=2" in planned
    assert browser_page.dialogs == []


@pytest.mark.browser
def test_a_reader_sees_no_controls_and_a_post_is_refused(
    browser_page: BrowserPage, browser_context: Any, live: Live
) -> None:
    page = browser_page.page
    live.login(browser_context, VIEWER_SESSION)
    page.goto(f"{live.url}discovery")
    assert "warszawa" in text(page.locator("main"))
    assert page.locator("main button").count() == 0 and page.locator("form[method=post]").count() == 0
    answer = page.request.post(
        f"{live.url}discovery",
        form={"action": "disable", "city": "warszawa", "source": PROBE, "csrf_token": "x"},
        headers={"accept": "text/html"},
    )
    assert answer.status == 403 and "may trigger DAG runs" in answer.text()
    assert source_row(live.dsn, "warszawa")[0] is True


@pytest.mark.browser
def test_the_page_says_so_when_the_store_is_down(browser_page: BrowserPage, browser_context: Any) -> None:
    page = browser_page.page
    app = create_app(lambda: DOWN_DSN, cookie_login, may_trigger=cookie_triggerer, airflow_client=unreachable)
    with serve(app, "/scraper-monitor") as url:
        browser_context.add_cookies([{"name": "_token", "value": EDITOR_SESSION, "url": url}])
        response = page.goto(f"{url}/discovery")
        assert response.status == 503
        assert "The monitor store is unavailable" in text(page.locator("main"))
        assert page.locator("nav a").count() >= 6  # the other panels stay reachable
