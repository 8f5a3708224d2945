"""The scraper monitor as Airflow serves it: Airflow's own API app (``create_app``), SimpleAuthManager,
the SQLite metadata DB of tests/airflow_env.py and the plugin loaded from plugins/, in-process.

Anonymous requests are refused on every route of the plugin app; with a JWT from ``POST /auth/token``
every filter, the 422s, the CSV export, the empty store and a store that is down are checked against
a real PostgreSQL store. The chain endpoint reads a real DAG run from Airflow's ORM.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.fixtures.airflow import postgres_connection
from tests.fixtures.monitor_store import DOWN_DSN, FORMULA, XSS, Seed, drop_store, new_store

pytestmark = pytest.mark.airflow

PREFIX = "/scraper-monitor"
PATH_VALUES = {"dag_id": "cinema_city", "run_id": "manual__x", "execution_id": "1", "name": "monitor.css"}
Get = Callable[..., httpx.Response]


@pytest.fixture(scope="module")
def airflow_app(airflow_db: None) -> Iterator[FastAPI]:
    from airflow.api_fastapi.app import create_app

    with pytest.MonkeyPatch.context() as patch:
        # `airflow api-server` requires a signing key too; the tests mint and check JWTs in-process.
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "scraper-monitor-web-tests-" + "k" * 64)
        yield create_app()


@pytest.fixture(scope="module")
def client(airflow_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(airflow_app) as client:  # runs the lifespan, as the api-server does
        yield client


@pytest.fixture(scope="module")
def token(client: TestClient) -> str:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    password = SimpleAuthManager.get_passwords()["admin"]
    response = client.post("/auth/token", json={"username": "admin", "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


@pytest.fixture
def use_store(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def point_at(dsn: str) -> None:
        monkeypatch.setenv("SCRAPER_MONITOR_DSN", dsn)

    return point_at


@pytest.fixture
def get(client: TestClient, token: str) -> Get:
    def call(path: str, html: bool = False, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if html:
            headers["Accept"] = "text/html"
        return client.get(f"{PREFIX}/{path}", params=params, headers=headers)

    return call


@pytest.fixture
def seeded(seeded_store: Seed, use_store: Callable[[str], None]) -> Seed:
    use_store(seeded_store.dsn)
    return seeded_store


def count(dsn: str, where: str = "TRUE", params: dict[str, Any] | None = None) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM task_executions WHERE {where}", params or {}).fetchone()[0]  # noqa: S608


def plugin_routes(app: FastAPI, method: str = "GET") -> list[str]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == PREFIX)
    paths = []
    for route in mount.app.routes:
        assert route.methods <= {"GET", "HEAD", "POST"}, route.path
        if method in route.methods:
            paths.append(re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_VALUES[m.group(1)], route.path))
    return paths


# --- the plugin in Airflow ------------------------------------------------------------------


def test_plugin_registers_the_app_and_both_views(client: TestClient, token: str) -> None:
    response = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"})
    plugin = next(p for p in response.json()["plugins"] if p["name"] == "scraper_monitor")
    assert [(a["url_prefix"], a["name"]) for a in plugin["fastapi_apps"]] == [(PREFIX, "Scraper monitor")]
    views = {v["name"]: v for v in plugin["external_views"]}
    assert (views["Scraper monitor"]["href"], views["Scraper monitor"]["destination"]) == (
        "scraper-monitor/",
        "nav",
    )
    assert views["Scraper monitor"]["nav_top_level"] is True
    assert (views["Chain"]["href"], views["Chain"]["url_route"], views["Chain"]["destination"]) == (
        "scraper-monitor/chain/{DAG_ID}/{RUN_ID}",
        "chain",
        "dag_run",
    )


def test_every_route_refuses_anonymous_requests(
    airflow_app: FastAPI, client: TestClient, seeded: Seed
) -> None:
    paths = plugin_routes(airflow_app)
    # Pages, API, assets, the OpenAPI document and the metrics: the whole app.
    assert {
        "/",
        "/errors",
        "/api/executions",
        "/api/export.csv",
        "/static/monitor.css",
        "/openapi.json",
    } <= set(paths)
    assert "/metrics" in paths
    for path in paths:
        anonymous = client.get(PREFIX + path)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        forged = client.get(PREFIX + path, headers={"Authorization": "Bearer not-a-jwt"})
        assert forged.status_code in (401, 403), (path, forged.status_code)
        assert "Traceback" not in anonymous.text
    # The writes: the Errors panel's accept form and the Discovery panel's controls.
    assert sorted(plugin_routes(airflow_app, "POST")) == ["/discovery", "/errors"]
    anonymous = client.post(PREFIX + "/errors", data={"fingerprint": "0123456789abcdef"})
    assert anonymous.status_code == 401
    anonymous = client.post(PREFIX + "/discovery", data={"action": "disable", "city": "krakow"})
    assert anonymous.status_code == 401


def test_an_anonymous_browser_gets_a_readable_login_page(client: TestClient, seeded: Seed) -> None:
    response = client.get(f"{PREFIX}/", headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert "Log in to Airflow first" in response.text


def test_the_ui_cookie_is_accepted(client: TestClient, token: str, seeded: Seed) -> None:
    # The Airflow UI's iframe sends the _token cookie, not a header.
    client.cookies.set("_token", token)
    try:
        assert client.get(f"{PREFIX}/api/overview").status_code == 200
    finally:
        client.cookies.clear()


def test_openapi_document_describes_the_api(get: Get, seeded: Seed) -> None:
    schema = get("openapi.json").json()
    assert schema["servers"] == [{"url": PREFIX}]
    assert {
        "/api/overview",
        "/api/executions",
        "/api/errors",
        "/api/silent-failures",
        "/api/chains/{dag_id}/{run_id}",
        "/api/trends",
        "/api/matching",
        "/api/export.csv",
        "/api/runs",
        "/api/executions/{execution_id}",
    } <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/executions"]["get"]["parameters"]}
    assert params == {
        "scraper",
        "city",
        "dag_id",
        "task_id",
        "state",
        "category",
        "error_type",
        "since",
        "until",
        "silent",
        "limit",
        "offset",
    }
    row = schema["components"]["schemas"]["ExecutionOut"]["properties"]
    assert {"error_category", "error_type", "error_message", "silent", "city"} <= set(row)


def test_metrics_are_mounted(get: Get, seeded: Seed) -> None:
    response = get("metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "cinema_city" in response.text


# --- filters ----------------------------------------------------------------------------------

FILTERS: list[tuple[dict[str, str], str]] = [
    ({"scraper": "kino_krakow"}, "scraper = 'kino_krakow'"),
    ({"dag_id": "cinema_city"}, "dag_id = 'cinema_city'"),
    ({"task_id": "movie_details"}, "task_id = 'movie_details'"),
    ({"state": "retrying"}, "state = 'retrying'"),
    ({"state": "skipped"}, "state = 'skipped'"),
    ({"category": "network_error"}, "error_category = 'network_error'"),
    ({"error_type": "selector_missing"}, "error_type = 'selector_missing'"),
    ({"silent": "true"}, "silent"),
    ({"silent": "false"}, "NOT silent"),
    (
        {"category": "validation_error", "scraper": "kino_krakow", "state": "failed"},
        "error_category = 'validation_error' AND scraper = 'kino_krakow' AND state = 'failed'",
    ),
]


@pytest.mark.parametrize(("params", "where"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_each_filter_matches_the_store(get: Get, seeded: Seed, params: dict[str, str], where: str) -> None:
    page = get("api/executions", limit=500, **params).json()
    assert page["total"] == count(seeded.dsn, where) > 0
    assert len(page["items"]) == page["total"]
    for row in page["items"]:
        for key, value in params.items():
            field = {"category": "error_category"}.get(key, key)
            assert str(row[field]).lower() == value.lower()


def test_since_and_until_and_paging(get: Get, seeded: Seed) -> None:
    since = (seeded.now - timedelta(days=5)).date().isoformat()
    until = (seeded.now - timedelta(days=2)).isoformat()
    where = "started_at >= %(since)s AND started_at < %(until)s"
    expected = count(seeded.dsn, where, {"since": since, "until": until})
    first = get("api/executions", since=since, until=until, limit=7).json()
    assert first["total"] == expected > 7
    rest = get("api/executions", since=since, until=until, limit=500, offset=7).json()
    ids = [r["id"] for r in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == expected
    started = [r["started_at"] for r in first["items"] + rest["items"]]
    assert started == sorted(started, reverse=True)


def test_rows_carry_the_error_columns(get: Get, seeded: Seed) -> None:
    row = get("api/executions", category="validation_error", scraper="kino_krakow", limit=1).json()["items"][
        0
    ]
    assert row["error_category"] == "validation_error"
    assert row["error_type"] == "tmdb_no_match"
    assert row["error_message"] == f"No TMDB match for title {XSS}"  # JSON carries the raw text
    assert row["silent"] is False


@pytest.mark.parametrize(
    ("path", "params", "mentions"),
    [
        ("api/executions", {"state": "failure"}, "state"),
        ("api/executions", {"category": "http_error"}, "category"),
        ("api/executions", {"since": "yesterday"}, "since"),
        ("api/executions", {"since": "2026-02-01", "until": "2026-01-01"}, "since"),
        ("api/executions", {"silent": "maybe"}, "silent"),
        ("api/executions", {"scraper": "cinema city; drop"}, "scraper"),
        ("api/executions", {"limit": "0"}, "limit"),
        ("api/executions", {"limit": "501"}, "limit"),
        ("api/executions", {"offset": "-1"}, "offset"),
        ("api/export.csv", {"state": "done"}, "state"),
        ("api/trends", {"days": "14"}, "days"),
        ("api/matching", {"days": "91"}, "days"),
        ("api/errors", {"hours": "0"}, "hours"),
        ("api/silent-failures", {"hours": "many"}, "hours"),
        ("errors", {"state": "success"}, "state"),
    ],
)
def test_bad_parameters_are_a_clear_422(
    get: Get, seeded: Seed, path: str, params: dict, mentions: str
) -> None:
    response = get(path, **params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("invalid parameters:") and mentions in detail


@pytest.mark.parametrize("path", ["api/executions", "api/runs", "api/errors", "api/trends", "executions"])
def test_an_empty_filter_field_means_not_set(get: Get, seeded: Seed, path: str) -> None:
    """Bug (found by fuzzing the API): HTML filter forms send unselected fields as "", and an empty
    name or city filter was a 500 (the length bound met the None an empty field becomes)."""
    everything = get(path)
    blank = get(path, scraper="", city="", dag_id="", task_id="")
    assert blank.status_code == everything.status_code == 200
    if path.startswith("api/"):
        assert blank.json() == everything.json()


# --- panels' data ---------------------------------------------------------------------------


def test_overview(get: Get, seeded: Seed) -> None:
    data = get("api/overview").json()
    last_day = "started_at >= now() - interval '24 hours'"
    assert data["empty"] is False
    assert data["total"] == count(seeded.dsn, last_day)
    success, failed = (
        count(seeded.dsn, f"{last_day} AND state = 'success'"),
        count(seeded.dsn, f"{last_day} AND state = 'failed'"),
    )
    assert data["success_rate"] == pytest.approx(success / (success + failed))
    assert data["silent_24h"] == 2
    scrapers = {s["scraper"]: s for s in data["scrapers"]}
    assert set(scrapers) == {"cinema_city", "kino_krakow"}
    assert scrapers["cinema_city"]["slo"]["status"] in (
        "met",
        "below_target",
        "critical",
        "insufficient_data",
    )
    assert data["recent_runs"][0]["run_id"] == seeded.cinema_run


def test_errors_breakdown_and_top_fingerprints(get: Get, seeded: Seed) -> None:
    data = get("api/errors", hours=24 * 7).json()
    week = "state IN ('failed', 'retrying') AND started_at >= now() - interval '7 days'"
    assert data["total"] == count(seeded.dsn, week)
    breakdown = {c["category"]: c["count"] for c in data["categories"]}
    assert breakdown["network_error"] == count(seeded.dsn, f"{week} AND error_category = 'network_error'")
    assert sum(c["share"] for c in data["categories"]) == pytest.approx(1)
    top = data["top"][0]
    assert top["count"] >= data["top"][-1]["count"]
    assert top["example_message"] and top["fingerprint"]
    only = get("api/errors", hours=24 * 7, category="data_quality_error").json()["top"]
    assert {g["error_category"] for g in only} == {"data_quality_error"}


def test_silent_failures(get: Get, seeded: Seed) -> None:
    data = get("api/silent-failures").json()
    assert data["count"] == len(data["items"]) == 2
    assert all(r["silent"] and r["silent_reason"] for r in data["items"])
    week = get("api/silent-failures", hours=24 * 7, scraper="kino_krakow").json()
    assert week["count"] == count(
        seeded.dsn, "silent AND scraper = 'kino_krakow' AND started_at >= now() - interval '7 days'"
    )


def test_trends_read_the_rollups(get: Get, seeded: Seed) -> None:
    data = get("api/trends", days=7).json()
    assert len(data["by_day"]) == 7
    cinema = next(s for s in data["scrapers"] if s["scraper"] == "cinema_city")
    assert cinema["change"] < 0  # three network errors a day this week against one
    with psycopg.connect(seeded.dsn) as conn:
        rollup = conn.execute(
            "SELECT sum(executions) FROM execution_daily WHERE scraper = 'cinema_city'"
            " AND day > current_date - 7"
        ).fetchone()[0]
    assert cinema["executions"] == cinema["this_week"]["executions"] == rollup
    assert data["categories"][0] == "network_error"
    # The 90 days end today, UTC, at the moment of the request (a run may cross midnight here).
    before = datetime.now(UTC).date()
    first_day = date.fromisoformat(get("api/trends", days=90).json()["first_day"])
    assert first_day + timedelta(days=89) in {before, datetime.now(UTC).date()}


def test_chain_of_a_run_known_only_to_the_store(get: Get, seeded: Seed) -> None:
    # Airflow never saw the seeded runs: the chain falls back to the store's states.
    data = get(f"api/chains/cinema_city/{quote(seeded.cinema_run, safe='')}").json()
    assert data["source"] == "store"
    assert [s["key"] for s in data["stages"]] == ["sync", "units", "films", "showtimes"]
    assert data["summary"]["failed"] == 3
    assert get("api/chains/cinema_city/no_such_run").status_code == 404


def test_runs_and_the_execution_drill_down(get: Get, seeded: Seed) -> None:
    runs = get("api/runs", scraper="cinema_city", limit=3).json()
    assert [r["run_id"] for r in runs][0] == seeded.cinema_run and len(runs) == 3
    assert {r["scraper"] for r in runs} == {"cinema_city"}
    retried = get(
        "api/executions", task_id="cinema_day.cinema_dates", state="failed", since=seeded.started.isoformat()
    ).json()
    (last_try,) = [r for r in retried["items"] if r["map_index"] == 4]
    detail = get(f"api/executions/{last_try['id']}").json()
    assert detail["execution"]["try_number"] == 3
    assert [t["state"] for t in detail["tries"]] == ["retrying", "retrying", "failed"]
    batch = get("api/executions", task_id="cinema_day.showtimes", state="success", limit=1).json()["items"][0]
    items = get(f"api/executions/{batch['id']}").json()
    assert items["item_totals"] == {"created": 40, "updated": 5}
    assert len(items["items"]) == 45
    assert get("api/executions/999999").status_code == 404


# --- CSV export -------------------------------------------------------------------------------


def test_csv_export_uses_the_filters_and_defuses_formulas(get: Get, seeded: Seed) -> None:
    response = get("api/export.csv", scraper="kino_krakow", state="failed")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="scraper-executions-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == count(seeded.dsn, "scraper = 'kino_krakow' AND state = 'failed'")
    assert {r["state"] for r in rows} == {"failed"}
    messages = {r["error_message"] for r in rows}
    assert "'" + FORMULA in messages and FORMULA not in messages
    assert f"No TMDB match for title {XSS}" in messages
    everything = list(csv.DictReader(io.StringIO(get("api/export.csv").text)))
    assert len(everything) == count(seeded.dsn)
    assert {r["map_index"] for r in everything} >= {"-1", "0"}  # numbers are not "defused"


# --- empty store, store down ----------------------------------------------------------------


def test_empty_store_is_an_empty_state_not_an_error(get: Get, empty_store: str, use_store: Callable) -> None:
    use_store(empty_store)
    overview = get("api/overview").json()
    assert overview["empty"] is True and overview["scrapers"] == [] and overview["success_rate"] is None
    assert get("api/executions").json() == {
        "total": 0,
        "total_capped": False,
        "limit": 50,
        "offset": 0,
        "items": [],
    }
    assert get("api/errors").json()["categories"] == []
    assert get("api/trends").json()["scrapers"] == []
    assert get("api/matching").json()["scrapers"] == []
    assert get("api/silent-failures").json()["count"] == 0
    assert get("api/runs").json() == []
    assert get("api/export.csv").text.splitlines()[0].startswith("id,started_at")
    for page in ("", "executions", "errors", "silent", "runs", "trends", "matching"):
        response = get(page, html=True)
        assert response.status_code == 200, page
    assert "No executions recorded yet — trigger a DAG run" in get("", html=True).text


@pytest.mark.parametrize(
    "path",
    [
        "api/overview",
        "api/executions",
        "api/errors",
        "api/silent-failures",
        "api/trends",
        "api/matching",
        "api/export.csv",
        "api/chains/cinema_city/x",
        "api/runs",
        "api/executions/1",
        "api/errors/unknown",
    ],
)
def test_store_down_is_a_503_with_a_message(get: Get, use_store: Callable, path: str) -> None:
    use_store(DOWN_DSN)
    response = get(path)
    assert response.status_code == 503
    assert response.json() == {"detail": "cannot connect to the monitor store (OperationalError)"}


def test_store_down_panel_shows_an_error_state(get: Get, use_store: Callable) -> None:
    use_store(DOWN_DSN)
    response = get("errors", html=True)
    assert response.status_code == 503
    assert "The monitor store is unavailable" in response.text
    assert "Traceback" not in response.text


def test_unconfigured_store_says_how_to_configure_it(get: Get, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRAPER_MONITOR_DSN", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SCRAPER_MONITOR_DB", raising=False)
    response = get("api/overview")
    assert response.status_code == 503
    assert "scraper_monitor_db" in response.json()["detail"]


def test_dsn_from_the_airflow_connection(
    get: Get, seeded_store: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCRAPER_MONITOR_DSN", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SCRAPER_MONITOR_DB", postgres_connection(seeded_store.dsn))
    response = get("api/overview")
    assert response.status_code == 200
    assert response.json()["empty"] is False


# --- a real DAG run read from Airflow's ORM -------------------------------------------------


PROBE_DAG = """
from datetime import UTC, datetime

from airflow.sdk import dag, task, task_group


@dag(dag_id="web_chain_probe", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def web_chain_probe():
    @task
    def sync():
        return [0, 1, 2]

    @task_group
    def cinema_day(i):
        @task
        def cinema_dates(i):
            if i == 1:
                raise RuntimeError("HTTP 503 Service Unavailable")
            return i

        @task
        def showtimes(i):
            return i

        showtimes(cinema_dates(i))

    cinema_day.expand(i=sync())


web_chain_probe()
"""


@dataclass(frozen=True)
class ProbeRun:
    run_id: str
    store: str  # where the tasks' callbacks wrote their summaries


@pytest.fixture(scope="module")
def probe_run(
    airflow_db: None, pg_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProbeRun]:
    """A real run (dag.test) of a mapped cinema-day group where index 1 fails: Airflow marks only its
    own showtime batch upstream_failed. dag.test() runs DAGs from a bundle, so the DAG file sits in a
    bundle of its own beside the dags folder; the cluster policy's callbacks write to a fresh store."""
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path_factory.mktemp("probe_dags")
    (folder / "web_chain_probe.py").write_text(PROBE_DAG)
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "web-tests",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(folder)},
        },
    ]
    store = new_store(pg_server)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
        patch.setenv("SCRAPER_MONITOR_DSN", store)
        dag_run = DagBag(dag_folder=str(folder)).get_dag("web_chain_probe").test()
    yield ProbeRun(run_id=dag_run.run_id, store=store)
    drop_store(pg_server, store)


def test_chain_joins_airflow_task_instances_and_the_store(
    get: Get, use_store: Callable, probe_run: ProbeRun
) -> None:
    use_store(probe_run.store)
    run = quote(probe_run.run_id, safe="")
    response = get(f"api/chains/web_chain_probe/{run}")
    assert response.status_code == 200, response.text
    chain = response.json()
    assert chain["source"] == "airflow"
    assert [s["key"] for s in chain["stages"]] == ["sync", "units", "showtimes"]
    nodes = {n["label"]: n for s in chain["stages"] for n in s["nodes"]}
    assert {label: n["state"] for label, n in nodes.items()} == {
        "sync": "success",
        "cinema_dates[0]": "success",
        "cinema_dates[1]": "failed",
        "cinema_dates[2]": "success",
        "showtimes[0]": "success",
        "showtimes[1]": "upstream_failed",
        "showtimes[2]": "success",
    }
    # The batch that never ran has no summary, yet it is in the chain (from Airflow).
    assert nodes["showtimes[1]"]["has_summary"] is False
    assert nodes["showtimes[1]"]["blocked_by"] == "cinema_dates[1]"
    # The failure's summary was written by the cluster policy's callback into the store: its message
    # joins Airflow's states in one incident.
    assert nodes["cinema_dates[1]"]["has_summary"] is True
    (incident,) = chain["incidents"]
    assert incident["text"].startswith("cinema_dates[1] failed (")
    assert "HTTP 503 Service Unavailable): showtimes[1] never ran" in incident["text"]
    assert chain["summary"]["text"] == "5/7 succeeded (71%)"
    page = get(f"chain/web_chain_probe/{run}", html=True)
    assert "5/7 succeeded (71%)" in page.text


def test_ids_airflow_accepts_can_be_queried_and_linked(get: Get, use_store: Callable, pg_server: Any) -> None:
    """Airflow allows any word character in DAG and task ids ("turn2_łódź"); so does every filter, path
    and link of the monitor, still bounded in length."""
    from tests.factories import add_execution

    store = new_store(pg_server)
    try:
        with psycopg.connect(store, autocommit=True) as conn:
            add_execution(conn, scraper="turn2_łódź", task_id="zadanie_ż", run_id="manual__1", state="failed")
        use_store(store)
        rows = get("api/executions", dag_id="turn2_łódź", task_id="zadanie_ż").json()["items"]
        assert [(r["dag_id"], r["task_id"]) for r in rows] == [("turn2_łódź", "zadanie_ż")]
        assert get("api/chains/turn2_łódź/manual__1").json()["summary"]["failed"] == 1
        page = get("runs", html=True, scraper="turn2_łódź").text
        assert f"chain/{quote('turn2_łódź', safe='')}/manual__1" in page  # the link is URL-encoded
        for bad in ("turn2 łódź", "a;b", "x" * 251):
            assert get("api/executions", dag_id=bad).status_code == 422
    finally:
        drop_store(pg_server, store)


def test_unknown_errors_read_as_a_suggestion_in_the_api_and_the_errors_panel(
    get: Get, use_store: Callable, empty_store: str
) -> None:
    from scraper_monitor.category import categorize
    from scraper_monitor.store.persist import save
    from tests.factories import make_summary

    now = datetime.now(UTC)
    script = "<b onmouseover=alert(1)>qwzx</b>"  # scraped markup in a message nothing reads
    messages = ["Unable to determine which venue hosts event 8821"] * 2 + [f"Job failed: {script}"]
    with psycopg.connect(empty_store, autocommit=True) as conn:
        for index, message in enumerate(messages):
            filed = categorize(message)
            assert filed.category == "unknown_error"
            save(
                conn,
                make_summary(
                    map_index=index,
                    started_at=now - timedelta(hours=1),
                    state="failed",
                    error_category=filed.category,
                    error_type=filed.error_type,
                    error_message=message,
                    fingerprint=filed.fingerprint,
                ),
            )
    use_store(empty_store)
    groups = get("api/errors/unknown").json()["groups"]
    assert [(g["count"], g["suggestion"] and g["suggestion"]["category"]) for g in groups] == [
        (2, "venue_error"),
        (1, None),
    ]
    assert groups[0]["suggestion"]["decided"] is False and "venue" in groups[0]["suggestion"]["cues"]
    html = get("errors", html=True).text
    section = html[html.index('data-testid="unknown-errors"') :]
    assert "venue_error" in section and groups[0]["fingerprint"][:12] in section
    assert "scraper-monitor errors accept FINGERPRINT" in section
    assert script not in html and "&lt;b onmouseover=alert(1)&gt;qwzx&lt;/b&gt;" in section  # escaped
    assert 'data-testid="unknown-errors"' not in get("errors", html=True, category="network_error").text


@dataclass(frozen=True)
class Unknown:
    fingerprint: str
    rules: Any  # the team's rules file (a Path), named by SCRAPER_MONITOR_ERROR_RULES


@pytest.fixture
def unknown_failure(
    use_store: Callable, empty_store: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Unknown:
    """One failure the categorizer files as unknown_error (a guess: venue), and a team's rules file."""
    from scraper_monitor import settings
    from scraper_monitor.category import categorize
    from scraper_monitor.store.persist import save
    from tests.factories import make_summary

    message = "Unable to determine which venue hosts event 8821"
    filed = categorize(message)
    with psycopg.connect(empty_store, autocommit=True) as conn:
        save(
            conn,
            make_summary(
                state="failed",
                started_at=datetime.now(UTC) - timedelta(hours=1),
                error_category=filed.category,
                error_type=filed.error_type,
                error_message=message,
                fingerprint=filed.fingerprint,
            ),
        )
    use_store(empty_store)
    rules = tmp_path / "team_rules.yaml"
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(rules))
    return Unknown(filed.fingerprint, rules)


def _form_token(html: str) -> str | None:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else None


def test_an_admin_accepts_a_suggestion_through_airflows_login(
    client: TestClient, token: str, unknown_failure: Unknown, empty_store: str
) -> None:
    """The door as deployed: Airflow's auth manager says the admin may edit every DAG, the form's
    token is signed with the deployment's secret, the rule names Airflow's user."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    form_token = _form_token(client.get(f"{PREFIX}/errors", headers=headers).text)
    assert form_token, "the admin is offered the accept form"
    answer = client.post(
        f"{PREFIX}/errors",
        data={"fingerprint": unknown_failure.fingerprint, "csrf_token": form_token, "recategorize": "true"},
        headers={**headers, "Origin": "http://testserver"},
    )
    assert answer.status_code == 200, answer.text[-500:]
    assert "1 of 1 stored tries filed again" in answer.text
    assert "# accepted by admin at" in unknown_failure.rules.read_text(encoding="utf-8")
    assert count(empty_store, "error_category = 'venue_error'") == 1


def test_an_airflow_viewer_reads_the_suggestions_but_gets_403_on_accepting(
    airflow_app: FastAPI, client: TestClient, token: str, unknown_failure: Unknown
) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    viewer = airflow_app.state.auth_manager.generate_jwt(
        SimpleAuthManagerUser(username="vera", role="VIEWER")
    )
    headers = {"Authorization": f"Bearer {viewer}", "Accept": "text/html"}
    page = client.get(f"{PREFIX}/errors", headers=headers)
    assert page.status_code == 200 and 'data-testid="unknown-errors"' in page.text
    assert _form_token(page.text) is None and "needs an Airflow role that may edit DAGs" in page.text
    # Even with a token an editor's page carried, the viewer's post is refused.
    admin_page = client.get(
        f"{PREFIX}/errors", headers={"Authorization": f"Bearer {token}", "Accept": "text/html"}
    )
    answer = client.post(
        f"{PREFIX}/errors",
        data={"fingerprint": unknown_failure.fingerprint, "csrf_token": _form_token(admin_page.text) or ""},
        headers={**headers, "Origin": "http://testserver"},
    )
    assert answer.status_code == 403 and "may edit DAGs" in answer.text
    assert not unknown_failure.rules.exists()


def test_discovery_changes_need_an_airflow_role_that_may_trigger_runs(
    airflow_app: FastAPI, client: TestClient, token: str, use_store: Callable, empty_store: str
) -> None:
    """The door as deployed: the admin gets the controls (and, with no ``airflow_api`` connection in
    this Airflow, a page that says it cannot check settings or trigger); a viewer gets none, and 403."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    from scraper_monitor.discovery import SeedCity, SeedSource
    from scraper_monitor.store import discovery as store

    with psycopg.connect(empty_store, autocommit=True) as conn:
        store.seed(
            conn, "seed", [SeedCity("krakow", "Kraków", True, (SeedSource("kino_krakow", True, 24, {}),))]
        )
    use_store(empty_store)
    admin = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    page = client.get(f"{PREFIX}/discovery", headers=admin)
    assert page.status_code == 200 and "Kraków" in page.text
    assert (
        "triggers cannot be sent right now: cannot reach Airflow&#39;s REST API (the connection airflow_api"
        in (page.text)
    )
    form_token = _form_token(page.text)
    assert form_token, "the admin is offered the controls"
    viewer = airflow_app.state.auth_manager.generate_jwt(
        SimpleAuthManagerUser(username="vera", role="VIEWER")
    )
    headers = {"Authorization": f"Bearer {viewer}", "Accept": "text/html"}
    seen = client.get(f"{PREFIX}/discovery", headers=headers)
    assert seen.status_code == 200 and _form_token(seen.text) is None
    answer = client.post(
        f"{PREFIX}/discovery",
        data={"action": "disable", "city": "krakow", "csrf_token": form_token},
        headers={**headers, "Origin": "http://testserver"},
    )
    assert answer.status_code == 403 and "may trigger DAG runs" in answer.text
    switched = client.post(
        f"{PREFIX}/discovery",
        data={"action": "disable", "city": "krakow", "csrf_token": form_token},
        headers={**admin, "Origin": "http://testserver"},
    )
    assert switched.status_code == 200 and "discovery of krakow disabled." in switched.text
    with psycopg.connect(empty_store) as conn:
        assert conn.execute(
            "SELECT actor, change FROM discovery_changes ORDER BY id DESC LIMIT 1"
        ).fetchone() == (
            "admin",
            "disabled",
        )


def test_the_app_freezes_the_startup_heap_so_a_full_collection_skips_it() -> None:
    """The api-server's full garbage collections walked all of Airflow's startup objects on some
    request (docs/BENCHMARKS.md, panels): once the app is built they are frozen. In a new
    interpreter, as the api-server starts: here the test session built apps before."""
    code = (
        "import gc\n"
        "from scraper_monitor.web import create_app\n"
        "assert gc.get_freeze_count() == 0\n"
        "create_app(lambda: 'postgresql://nowhere/none', lambda: None)\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    frozen, tracked = map(int, out.stdout.split())
    # Everything imported and built is out of the collector's reach; what is left is this line's own.
    assert frozen > 50_000 and tracked < frozen / 100
