"""The panel benchmark at CI size: the generator's store is what it claims, and every endpoint measured
by ``benchmarks.panels`` answers the numbers SQL gives on the raw rows (real PostgreSQL, real app)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import tuple_row

from benchmarks import panels
from benchmarks.__main__ import SECTIONS, parse_sections
from benchmarks.panels import endpoints, raw_trends, trend_mismatches
from benchmarks.report import Report
from benchmarks.store_generator import GeneratedStore, StoreShape, generate
from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.reports import executions
from scraper_monitor.reports.trends import daily_rows
from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING, SKIPPED, STATES, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store import migrate
from scraper_monitor.store.db import connect
from scraper_monitor.web import create_app

SHAPE = StoreShape(
    executions=3_000, item_outcomes=9_000, days=21, scrapers=3, units=6, films=5, retry_share=0.25
)


@pytest.fixture(scope="module")
def generated(pg_server: EmbeddedPostgres) -> Iterator[tuple[str, GeneratedStore]]:
    """One generated store for the module (generation is the slow part); tests only read it."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = pg_server.dsn(name)
    migrate.upgrade(dsn)
    yield dsn, generate(dsn, SHAPE, log=lambda _line: None)
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def dsn(generated: tuple[str, GeneratedStore]) -> str:
    return generated[0]


@pytest.fixture(scope="module")
def client(dsn: str) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: dsn, lambda: None)) as client:
        yield client


def scalar(dsn: str, query: str, *params: Any) -> Any:
    with connect(dsn) as conn, conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(query, params).fetchone()[0]


def settled(sql_value: Callable[[], Any], api_value: Callable[[], Any]) -> tuple[Any, Any]:
    """(SQL, API) for a window ending "now": both sides read the clock, so a row crossing the
    window's edge between the two reads would differ; retry until SQL gives the same answer
    before and after the API call."""
    for _ in range(5):
        before, api, after = sql_value(), api_value(), sql_value()
        if before == after:
            return before, api
    raise AssertionError("the store kept changing under the window")


# --- the generator ------------------------------------------------------------------------------


def test_generator_makes_the_requested_sizes(generated: tuple[str, GeneratedStore]) -> None:
    dsn, report = generated
    assert (report.executions, report.item_outcomes) == (SHAPE.executions, SHAPE.item_outcomes)
    assert scalar(dsn, "SELECT count(*) FROM task_executions") == SHAPE.executions
    assert scalar(dsn, "SELECT count(*) FROM item_outcomes") == SHAPE.item_outcomes
    assert scalar(dsn, "SELECT count(DISTINCT scraper) FROM task_executions") == SHAPE.scrapers
    assert scalar(dsn, "SELECT count(DISTINCT (dag_id, run_id)) FROM task_executions") == SHAPE.runs
    span = scalar(dsn, "SELECT max(started_at) - min(started_at) FROM task_executions")
    assert timedelta(days=SHAPE.days - 1) < span <= timedelta(days=SHAPE.days)
    assert scalar(dsn, "SELECT sum(executions) FROM execution_daily") == SHAPE.executions
    assert scalar(dsn, "SELECT sum(items) FROM item_daily") == SHAPE.item_outcomes
    # The sequence continues after the generated ids, so the real writer can add rows.
    assert scalar(dsn, "SELECT nextval(pg_get_serial_sequence('task_executions', 'id'))") > SHAPE.executions


def test_generated_rows_are_consistent(dsn: str) -> None:
    states = scalar(dsn, "SELECT array_agg(DISTINCT state ORDER BY state) FROM task_executions")
    assert states == sorted(STATES)
    assert scalar(dsn, "SELECT count(*) FROM task_executions WHERE silent") > 0
    # A retrying try is always followed by a later try of the same task instance.
    orphans = """
        SELECT count(*) FROM task_executions r WHERE state = %s AND NOT EXISTS (
            SELECT 1 FROM task_executions n WHERE (n.dag_id, n.run_id, n.task_id, n.map_index)
                = (r.dag_id, r.run_id, r.task_id, r.map_index) AND n.try_number = r.try_number + 1)
    """
    last_run = scalar(dsn, "SELECT run_id FROM task_executions ORDER BY id DESC LIMIT 1")
    assert scalar(dsn, orphans + " AND r.run_id <> %s", RETRYING, last_run) == 0
    # Failures carry a category, type, message and fingerprint; nothing else does.
    assert (
        scalar(
            dsn,
            "SELECT count(*) FROM task_executions WHERE (state = ANY(%s))"
            " <> (error_category IS NOT NULL AND error_type IS NOT NULL AND error_message IS NOT NULL"
            " AND fingerprint IS NOT NULL)",
            sorted(ERROR_STATES),
        )
        == 0
    )
    # A batch never ran (upstream_failed, no started_at) exactly when its unit's last try failed.
    cascade = """
        WITH unit_final AS (
            SELECT DISTINCT ON (dag_id, run_id, task_id, map_index) dag_id, run_id, task_id, map_index, state
            FROM task_executions ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
        )
        SELECT count(*) FROM task_executions b
        JOIN (VALUES ('cinema_day.showtimes', 'cinema_day.cinema_dates'), ('day.showtimes', 'day.day_pages'))
            AS pair(batch, unit) ON pair.batch = b.task_id
        JOIN unit_final u
          ON (u.dag_id, u.run_id, u.task_id, u.map_index) = (b.dag_id, b.run_id, pair.unit, b.map_index)
        WHERE (u.state = %s) <> (b.state = %s AND b.started_at IS NULL)
    """
    assert scalar(dsn, cascade, FAILED, UPSTREAM_FAILED) == 0
    # Items: only of successful films and batches, a batch's items are its counts.
    assert (
        scalar(
            dsn,
            "SELECT count(*) FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id"
            " WHERE e.state <> %s",
            SUCCESS,
        )
        == 0
    )
    mismatched = """
        SELECT count(*) FROM task_executions e
        WHERE e.task_id LIKE '%%.showtimes' AND e.state = %s
          AND (e.counts ->> 'showtimes')::int
              <> (SELECT count(*) FROM item_outcomes i WHERE i.execution_id = e.id)
    """
    assert scalar(dsn, mismatched, SUCCESS) == 0
    assert scalar(dsn, "SELECT count(*) FROM task_executions WHERE state = %s", SKIPPED) > 0


# --- the endpoints the benchmark measures ----------------------------------------------------------


def test_every_benchmarked_endpoint_answers(dsn: str, client: TestClient) -> None:
    with connect(dsn) as conn:
        targets = endpoints(conn, datetime.now(UTC))
    for endpoint in targets:
        response = client.get(endpoint.request)
        assert response.status_code == 200, (endpoint.label, response.text[:300])


def test_trends_equal_the_raw_rows(dsn: str, client: TestClient) -> None:
    today = datetime.now(UTC).date()
    with connect(dsn) as conn:
        raw = raw_trends(conn, 90, today)
        assert raw and daily_rows(conn, days=90, today=today) == raw
    for days in (7, 30, 90):
        body = client.get("/api/trends", params={"days": days}).json()
        assert trend_mismatches(body, raw) == []
        assert sum(d["executions"] for d in body["by_day"]) > 0


def test_overview_counts_the_last_24_hours(dsn: str, client: TestClient) -> None:
    def sql() -> str:
        return scalar(
            dsn,
            "SELECT row(count(*), count(*) FILTER (WHERE state = %s), count(*) FILTER (WHERE state = %s))"
            "::text FROM task_executions WHERE started_at >= now() - interval '24 hours'",
            SUCCESS,
            FAILED,
        )

    def api() -> str:
        body = client.get("/api/overview").json()
        return f"({body['total']},{body['success']},{body['failed']})"

    expected, got = settled(sql, api)
    assert got == expected
    assert expected != "(0,0,0)"


def test_overview_recent_runs_are_the_newest(dsn: str, client: TestClient) -> None:
    newest = """
        SELECT array_agg(run_id ORDER BY last_at DESC) FROM (
            SELECT run_id, max(coalesce(started_at, recorded_at)) AS last_at
            FROM task_executions GROUP BY dag_id, run_id ORDER BY last_at DESC LIMIT 10) r
    """
    runs = client.get("/api/overview").json()["recent_runs"]
    assert [r["run_id"] for r in runs] == scalar(dsn, newest)
    first = runs[0]
    tis = scalar(
        dsn,
        "SELECT count(DISTINCT (task_id, map_index)) FROM task_executions WHERE dag_id = %s AND run_id = %s",
        first["dag_id"],
        first["run_id"],
    )
    assert first["task_instances"] == tis


def test_executions_totals_and_pages(dsn: str, client: TestClient) -> None:
    body = client.get("/api/executions").json()
    assert (body["total"], body["total_capped"]) == (SHAPE.executions, False)
    category = client.get("/api/executions", params={"category": "network_error", "limit": 500}).json()
    assert category["total"] == scalar(
        dsn, "SELECT count(*) FROM task_executions WHERE error_category = 'network_error'"
    )
    assert {e["error_category"] for e in category["items"]} == {"network_error"}
    deep = client.get("/api/executions", params={"offset": 2_000, "limit": 20}).json()
    expected_ids = scalar(
        dsn,
        "SELECT array_agg(id) FROM (SELECT id FROM task_executions"
        " ORDER BY started_at DESC NULLS LAST, id DESC OFFSET 2000 LIMIT 20) page",
    )
    assert [e["id"] for e in deep["items"]] == expected_ids


def test_a_total_past_the_cap_reads_as_a_lower_bound(
    dsn: str, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executions, "TOTAL_CAP", 1_000)
    body = client.get("/api/executions", params={"limit": 50}).json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (1_000, True, 50)
    network = scalar(dsn, "SELECT count(*) FROM task_executions WHERE error_category = 'network_error'")
    below = client.get("/api/executions", params={"category": "network_error"}).json()
    assert 0 < network < 1_000
    assert (below["total"], below["total_capped"]) == (network, False)
    page = client.get("/executions", params={"offset": 1_975}).text
    assert "1000+ matching" in page
    # Past the cap the pager still offers older rows, and counts this page from its rows.
    assert "1976–2000 of 1000+" in page and "Older →" in page


def test_errors_and_silent_failures_count_the_window(dsn: str, client: TestClient) -> None:
    errors_sql = (
        "SELECT count(*) FROM task_executions WHERE state = ANY(%s)"
        " AND started_at >= now() - interval '7 days'"
    )
    expected, body = settled(
        lambda: scalar(dsn, errors_sql, sorted(ERROR_STATES)), lambda: client.get("/api/errors").json()
    )
    assert body["total"] == expected > 0
    assert sum(c["count"] for c in body["categories"]) == expected

    silent_sql = (
        "SELECT count(*) FROM task_executions WHERE silent AND started_at >= now() - interval '24 hours'"
    )
    expected, body = settled(
        lambda: scalar(dsn, silent_sql), lambda: client.get("/api/silent-failures").json()
    )
    assert body["count"] == expected
    assert all(item["silent"] for item in body["items"])


def test_chain_of_a_generated_run(dsn: str, client: TestClient) -> None:
    dag_id = "scraper_01"
    failed_run = "SELECT run_id FROM task_executions WHERE dag_id = %s AND state = %s LIMIT 1"
    run_id = scalar(dsn, failed_run, dag_id, FAILED)
    chain = client.get(f"/api/chains/{dag_id}/{run_id}").json()
    assert chain["source"] == "store"
    nodes = sum(len(stage["nodes"]) for stage in chain["stages"])
    task_instances = (
        "SELECT count(DISTINCT (task_id, map_index)) FROM task_executions WHERE dag_id = %s AND run_id = %s"
    )
    assert nodes == scalar(dsn, task_instances, dag_id, run_id)
    assert chain["summary"]["failed"] >= 1


def test_export_and_metrics_match_sql(dsn: str, client: TestClient) -> None:
    since = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    export = client.get("/api/export.csv", params={"scraper": "scraper_02", "since": since.isoformat()})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == scalar(
        dsn, "SELECT count(*) FROM task_executions WHERE scraper = 'scraper_02' AND started_at >= %s", since
    )
    assert {r["scraper"] for r in rows} == {"scraper_02"}

    metric = re.compile(r"^scraper_monitor_task_executions\{[^}]*\} (\d+(?:\.\d+)?)$", re.MULTILINE)
    metrics_sql = (
        "SELECT count(*) FROM task_executions WHERE started_at >= now() - interval '24 hours'"
        " OR (started_at IS NULL AND recorded_at >= now() - interval '24 hours')"
    )
    expected, text = settled(lambda: scalar(dsn, metrics_sql), lambda: client.get("/metrics").text)
    assert sum(float(v) for v in metric.findall(text)) == expected > 0


# --- the section as `make bench` runs it --------------------------------------------------------


def test_the_bench_section_reports_every_endpoint(
    small_panel_store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("BENCH_PANEL_REPEATS", "2")
    report = Report(tmp_path, command="python -m benchmarks panels", current="panels")

    with report.stack:
        panels.run(report)

    text = report.sections["panels"]
    with connect(small_panel_store) as conn:
        for endpoint in endpoints(conn, datetime.now(UTC)):
            row = next(line for line in text.splitlines() if line.startswith(f"| {endpoint.label} |"))
            assert re.search(r"\| \d+\.\d \| \d+\.\d \|", row), row  # p50 and p95 measured, no HTTP error
    assert "Numbers: equal." in text
    assert "refreshing them took" in text and "**Targets.** p95 < 150 ms:" in text


def test_make_bench_runs_every_section_and_a_name_picks_one() -> None:
    assert parse_sections([]) == SECTIONS
    assert parse_sections(["panels", "summary_writes"]) == ["summary_writes", "panels"]  # in order
    with pytest.raises(SystemExit):
        parse_sections(["panel"])
