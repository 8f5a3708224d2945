"""One answer per question: ``scraper-monitor ... --json`` prints exactly what the JSON API returns
for the same question, because both render the same report (``scraper_monitor.reports``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.state import FAILED
from scraper_monitor.store import migrate, rollup
from scraper_monitor.web import create_app
from tests.factories import make_summary, save_all
from tests.fixtures.cli import run_cli
from tests.fixtures.cli_store import CC_RUN, Seeded, seeded_store


@pytest.fixture(scope="module")
def store(pg_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_store(pg_server, tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="module")
def api(store: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: store.dsn, lambda: None)) as client:
        yield client


def cli_json(store: Seeded, *args: str) -> Any:
    result = run_cli(*args, "--json", "--dsn", store.dsn)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("days", [7, 30, 90])
def test_trends_json_is_the_apis(store: Seeded, api: TestClient, days: int) -> None:
    cli = cli_json(store, "trends", "--days", str(days))
    assert cli == api.get("/api/trends", params={"days": days}).json()
    assert sum(d["executions"] for d in cli["by_day"]) > 0  # a real answer, not two empty ones
    one = cli_json(store, "trends", "--days", str(days), "--scraper", "kino_krakow")
    assert one == api.get("/api/trends", params={"days": days, "scraper": "kino_krakow"}).json()
    assert [s["scraper"] for s in one["scrapers"]] == ["kino_krakow"]


def test_chain_json_is_the_apis(store: Seeded, api: TestClient) -> None:
    with socket.socket() as s:  # a port nobody listens on: the CLI reads the store's view, as the API
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    cli = cli_json(store, "chain", "cinema_city", CC_RUN, "--airflow-url", closed)
    web = api.get(f"/api/chains/cinema_city/{quote(CC_RUN, safe='')}").json()
    # Only where Airflow was asked differs: the CLI's REST URL, the app's missing task-instance source.
    cli_airflow, web_airflow = cli.pop("airflow"), web.pop("airflow")
    assert cli_airflow["url"] == closed and "unreachable" in cli_airflow["error"]
    assert web_airflow["url"] is None and web_airflow["error"]
    assert cli == web
    assert cli["source"] == "store" and cli["summary"]["text"] == "8/10 succeeded (80%)"


def test_errors_and_silent_json_are_the_apis(store: Seeded, api: TestClient) -> None:
    errors = cli_json(store, "errors", "top", "--hours", "240", "--scraper", "cinema_city")
    assert errors == api.get("/api/errors", params={"hours": 240, "scraper": "cinema_city"}).json()
    assert errors["total"] > 0 and errors["top"]
    silent = cli_json(store, "silent", "--hours", "48", "--limit", "5")
    assert silent == api.get("/api/silent-failures", params={"hours": 48, "limit": 5}).json()
    assert silent["count"] == 1


@pytest.fixture(scope="module")
def city_store(pg_server: EmbeddedPostgres) -> str:
    """cinema_city runs of two cities (Cinema City's ``city_name`` "Kraków", Kino Krakow's ``city``
    "krakow": one key) failing differently, and a run without a city, in the last hours."""
    pg_server.ensure_database("faces_cities")
    dsn = pg_server.dsn("faces_cities")
    migrate.upgrade(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE task_executions, execution_daily, scraper_daily RESTART IDENTITY CASCADE")
    now = datetime.now(UTC)
    summaries = [
        make_summary(run_id=f"krk-{n}", map_index=n, started_at=now - timedelta(hours=n + 1), city="Kraków")
        for n in range(3)
    ]
    summaries += [
        make_summary(
            dag_id="kino_krakow",
            run_id="kk-krk",
            started_at=now - timedelta(hours=2),
            city="krakow",
            state=FAILED,
            error_category="data_quality_error",
            error_message="table.repert is gone",
            fingerprint="table.repert is gone",
        ),
        make_summary(
            run_id="wro",
            started_at=now - timedelta(hours=3),
            city="Wrocław",
            state=FAILED,
            error_category="network_error",
            error_message="HTTP 503 from /wro",
            fingerprint="HTTP <n> from /wro",
        ),
        make_summary(
            run_id="wro-silent",
            map_index=1,
            started_at=now - timedelta(hours=4),
            city="wroclaw",
            silent=True,
            silent_reason="listed day answered with 0 showtimes",
        ),
        make_summary(
            dag_id="failing_pair", task_id="works", run_id="no-city", started_at=now - timedelta(hours=1)
        ),
    ]
    save_all(dsn, summaries)
    rollup.rollup_recent(dsn, 14)
    return dsn


@pytest.fixture(scope="module")
def city_api(city_store: str) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: city_store, lambda: None)) as client:
        yield client


def test_one_citys_answers_are_the_same_in_the_cli_and_the_api(city_store: str, city_api: TestClient) -> None:
    store = Seeded(dsn=city_store, rows=0)
    # The CLI spells the city as Cinema City does, the API as Kino Krakow does: one city.
    for cli_args, path, params in [
        (("trends", "--days", "7", "--city", "Kraków"), "/api/trends", {"days": 7, "city": "krakow"}),
        (
            ("errors", "top", "--hours", "24", "--city", "Wrocław"),
            "/api/errors",
            {"hours": 24, "city": "wroclaw"},
        ),
        (
            ("silent", "--hours", "24", "--city", "Wrocław"),
            "/api/silent-failures",
            {"hours": 24, "city": "wroclaw"},
        ),
    ]:
        assert cli_json(store, *cli_args) == city_api.get(path, params=params).json(), path

    krakow = city_api.get("/api/trends", params={"days": 7, "city": "krakow"}).json()
    assert krakow["city"] == "krakow"
    assert {(s["scraper"], s["executions"], s["errors"]) for s in krakow["scrapers"]} == {
        ("cinema_city", 3, 0),
        ("kino_krakow", 1, 1),
    }
    errors = city_api.get("/api/errors", params={"hours": 24, "city": "wroclaw"}).json()
    assert [(c["category"], c["count"]) for c in errors["categories"]] == [("network_error", 1)]
    for city, silent in (("krakow", 0), ("wroclaw", 1)):
        assert (
            city_api.get("/api/silent-failures", params={"hours": 24, "city": city}).json()["count"] == silent
        )
    listed = city_api.get("/api/executions", params={"city": "Kraków"}).json()
    assert {(e["run_id"], e["city"]) for e in listed["items"]} == {
        ("krk-0", "krakow"),
        ("krk-1", "krakow"),
        ("krk-2", "krakow"),
        ("kk-krk", "krakow"),
    }
    # Without the filter, the run without a city is there too.
    everything = city_api.get("/api/executions").json()
    assert ("no-city", None) in {(e["run_id"], e["city"]) for e in everything["items"]}
    assert everything["total"] == 7
    overview = city_api.get("/api/overview", params={"city": "wroclaw"}).json()
    assert (overview["city"], overview["total"], overview["failed"], overview["silent"]) == (
        "wroclaw",
        2,
        1,
        1,
    )
    assert {r["city"] for r in overview["recent_runs"]} == {"wroclaw"}


def test_what_is_not_a_city_is_refused_by_both_faces(city_store: str, city_api: TestClient) -> None:
    for path in ("/api/executions", "/api/trends", "/api/errors", "/api/silent-failures", "/api/overview"):
        answer = city_api.get(path, params={"city": "<b>x</b>"})
        assert answer.status_code == 422, path
        assert "city" in answer.text
    result = run_cli("jobs", "list", "--city", "<b>x</b>", "--dsn", city_store)
    assert result.returncode == 2 and "city must be" in result.stderr
