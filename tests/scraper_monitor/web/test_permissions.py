"""Per-DAG permissions: a user Airflow lets read only some DAGs sees only those, on every route
(lists, counts, charts, the CSV export, the chain, the drill-down, the dropdowns, the metrics)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient

from scraper_monitor.airflow.web import readable_dags
from scraper_monitor.web import create_app
from tests.fixtures.monitor_store import Seed

ONLY_KINO = frozenset({"kino_krakow"})


@pytest.fixture(scope="module")
def kino_reader(seeded_store: Seed) -> Iterator[TestClient]:
    """A user whose roles grant the kino_krakow DAG and nothing else."""
    app = create_app(
        lambda: seeded_store.dsn, lambda: None, seeded_store.ti_source(), dag_scope=lambda: ONLY_KINO
    )
    with TestClient(app) as client:
        yield client


def _cinema_execution_id(seed: Seed) -> int:
    with psycopg.connect(seed.dsn) as conn:
        row = conn.execute("SELECT id FROM task_executions WHERE dag_id = 'cinema_city' LIMIT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_the_json_api_shows_only_the_dags_the_user_may_read(
    kino_reader: TestClient, seeded_store: Seed
) -> None:
    overview = kino_reader.get("/api/overview", params={"hours": 24 * 30}).json()
    assert [s["scraper"] for s in overview["scrapers"]] == ["kino_krakow"]
    assert {r["dag_id"] for r in overview["recent_runs"]} == {"kino_krakow"}
    assert overview["total"] == sum(s["total"] for s in overview["scrapers"])

    page = kino_reader.get("/api/executions", params={"limit": 500}).json()
    assert page["total"] > 0 and {e["dag_id"] for e in page["items"]} == {"kino_krakow"}
    # Asking for the other DAG by name finds nothing rather than its rows.
    assert kino_reader.get("/api/executions", params={"dag_id": "cinema_city"}).json()["total"] == 0

    errors = kino_reader.get("/api/errors", params={"hours": 24 * 30}).json()
    assert errors["total"] > 0 and all(g["scrapers"] == ["kino_krakow"] for g in errors["top"])
    silent = kino_reader.get("/api/silent-failures", params={"hours": 24 * 30}).json()
    assert {e["dag_id"] for e in silent["items"]} == {"kino_krakow"}
    assert {r["dag_id"] for r in kino_reader.get("/api/runs").json()} == {"kino_krakow"}
    trends = kino_reader.get("/api/trends", params={"days": 30}).json()
    assert [s["scraper"] for s in trends["scrapers"]] == ["kino_krakow"]
    # cinema_city's films (one not matched, one weak match) are not shown to a kino_krakow reader.
    films = kino_reader.get("/api/matching", params={"days": 30}).json()
    assert {s["scraper"] for s in films["scrapers"]} <= {"kino_krakow"}
    assert (films["failing"], films["low_confidence"]) == ([], [])

    exported = list(csv.DictReader(io.StringIO(kino_reader.get("/api/export.csv").text)))
    assert exported and {row["dag_id"] for row in exported} == {"kino_krakow"}


def test_the_other_dags_run_and_tries_are_refused(kino_reader: TestClient, seeded_store: Seed) -> None:
    cinema = kino_reader.get(f"/api/chains/cinema_city/{quote(seeded_store.cinema_run, safe='')}")
    assert cinema.status_code == 403 and "not allowed to read DAG 'cinema_city'" in cinema.json()["detail"]
    assert (
        kino_reader.get(f"/api/chains/kino_krakow/{quote(seeded_store.kino_run, safe='')}").status_code == 200
    )
    execution_id = _cinema_execution_id(seeded_store)
    assert kino_reader.get(f"/api/executions/{execution_id}").status_code == 404  # as if it did not exist
    page = kino_reader.get(f"/executions/{execution_id}", headers={"accept": "text/html"})
    assert page.status_code == 404 and "cinema_city" not in page.text


def test_the_pages_dropdowns_and_metrics_show_only_the_readable_dags(kino_reader: TestClient) -> None:
    html = kino_reader.get("/executions", headers={"accept": "text/html"}).text
    assert 'value="kino_krakow"' in html and 'value="cinema_city"' not in html
    overview = kino_reader.get("/", params={"hours": 24 * 30}, headers={"accept": "text/html"}).text
    assert "kino_krakow" in overview and "cinema_city" not in overview
    metrics = kino_reader.get("/metrics").text
    assert 'scraper="kino_krakow"' in metrics and 'scraper="cinema_city"' not in metrics


class _AuthManager:
    """The two questions the door asks Airflow's auth manager, answered as per-DAG roles would."""

    def __init__(self, readable: set[str] | None) -> None:
        self.readable = readable

    def is_authorized_dag(self, *, method: str, user: Any, **details: Any) -> bool:
        return method == "GET" and self.readable is None  # "every DAG" only for a global read role

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET") -> set[str]:
        return set(self.readable or ())


def test_the_door_asks_airflow_for_the_readable_dags() -> None:
    assert readable_dags("admin", _AuthManager(None)) is None  # every DAG, deleted ones' rows included
    assert readable_dags("kino-team", _AuthManager({"kino_krakow"})) == ONLY_KINO
    assert readable_dags("nobody", _AuthManager(set())) == frozenset()
