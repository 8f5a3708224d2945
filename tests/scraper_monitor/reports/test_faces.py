"""One answer per question: ``scraper-monitor ... --json`` prints exactly what the JSON API returns
for the same question, because both render the same report (``scraper_monitor.reports``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.web import create_app
from tests.fixtures.cli_store import CC_RUN, Seeded, run_cli, seeded_store


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
