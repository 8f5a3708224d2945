"""Panel API latency on a generated store (a ``make bench`` section).

A dedicated PostgreSQL (embedded, in a temporary folder; or an empty database named by env
``BENCH_PG_DSN``) is migrated and filled by ``benchmarks.store_generator``: by default 90 days x 20
scrapers, 10,000,000 task executions and 30,000,000 item outcomes. The real web app
(``scraper_monitor.web.create_app``) is served in-process through Starlette's TestClient with an
auth dependency that lets everyone in (Airflow's login is not what is measured). Each endpoint is
warmed, then requested ``REPEATS`` times, round-robin over the endpoints so that noise from other
work on the machine falls on all of them alike; p50 and p95 are reported against the 150 ms target.

The trends question (by day, scraper and error category, 90 days) is also answered from the raw
rows with one GROUP BY over task_executions, in the same run: the two answers must be equal, and
the rollup-backed endpoint must be at least 20x faster.

Env overrides for a quicker local try: BENCH_PANEL_EXECUTIONS, BENCH_PANEL_ITEMS, BENCH_PANEL_DAYS,
BENCH_PANEL_SCRAPERS, BENCH_PANEL_REPEATS. A store kept under BENCH_PG_DSN is generated once and reused by
later runs (its shape is then what it holds).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row, tuple_row

from benchmarks.report import Report, median, percentile
from benchmarks.store_generator import GeneratedStore, StoreShape, existing, generate
from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor import precompute
from scraper_monitor.reports.base import success_rate
from scraper_monitor.reports.trends import TrendTally, daily_rows
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store import migrate, rollup
from scraper_monitor.store.db import connect
from scraper_monitor.store.rows import TrendRow
from scraper_monitor.web import create_app

TARGET_P95_MS = 150.0
TARGET_TRENDS_RATIO = 20.0
WARMUP = 3
RAW_REPEATS = 5  # the raw GROUP BY takes seconds; five runs give a stable median

# Same definitions as reports.trends.daily_rows, over raw rows: the day is the UTC date of started_at, else
# recorded_at; '' stands for "no category".
RAW_TRENDS_SQL = """
WITH per_category AS (
    SELECT (coalesce(started_at, recorded_at) AT TIME ZONE 'UTC')::date AS day, scraper,
           coalesce(error_category, '') AS error_category,
           count(*) AS executions,
           count(*) FILTER (WHERE state = %(success)s) AS success,
           count(*) FILTER (WHERE state = %(failed)s) AS failed,
           count(*) FILTER (WHERE state = %(retrying)s) AS retrying,
           count(*) FILTER (WHERE state = %(skipped)s) AS skipped,
           count(*) FILTER (WHERE state = %(upstream_failed)s) AS upstream_failed,
           count(*) FILTER (WHERE silent) AS silent,
           coalesce(sum(duration_ms), 0) AS duration_ms_sum
    FROM task_executions
    WHERE coalesce(started_at, recorded_at) >= %(start)s AND coalesce(started_at, recorded_at) < %(end)s
    GROUP BY 1, 2, 3
)
SELECT day, scraper,
       sum(executions)::int AS executions, sum(success)::int AS success, sum(failed)::int AS failed,
       sum(retrying)::int AS retrying, sum(skipped)::int AS skipped,
       sum(upstream_failed)::int AS upstream_failed, sum(silent)::int AS silent,
       sum(duration_ms_sum)::bigint AS duration_ms_sum,
       coalesce(jsonb_object_agg(error_category, failed + retrying)
                    FILTER (WHERE failed + retrying > 0), '{}') AS errors
FROM per_category
GROUP BY day, scraper
ORDER BY day, scraper
"""


def raw_trends(conn: psycopg.Connection, days: int, today: date) -> list[TrendRow]:
    """``daily_rows(conn, days, today=today)`` answered from task_executions instead of the rollup."""
    first = today - timedelta(days=days - 1)
    params = {
        "success": SUCCESS,
        "failed": FAILED,
        "retrying": RETRYING,
        "skipped": SKIPPED,
        "upstream_failed": UPSTREAM_FAILED,
        "start": datetime.combine(first, datetime.min.time(), UTC),
        "end": datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(RAW_TRENDS_SQL, params).fetchall()
    return [TrendRow(**r, success_rate=success_rate(r["success"], r["failed"])) for r in rows]


def trend_mismatches(body: dict[str, Any], raw: list[TrendRow]) -> list[str]:
    """Where the trends endpoint's per-scraper days differ from the raw rows (empty: equal).

    Executions, success rate and errors per category of every scraper and day of the endpoint's
    window, tallied from the raw rows with the panel's own definition (``TrendTally``).
    """
    expected: dict[tuple[str, str], TrendTally] = defaultdict(TrendTally)
    for row in raw:
        expected[(row.scraper, row.day.isoformat())].add(row)
    problems, seen = [], set()
    for scraper in body["scrapers"]:
        for day in scraper["days"]:
            key = (scraper["scraper"], day["day"])
            seen.add(key)
            tally = expected.get(key, TrendTally())
            wanted = (tally.executions, tally.success_rate, dict(tally.errors))
            got = (day["executions"], day["success_rate"], day["errors"])
            if got != wanted:
                problems.append(f"{key}: endpoint {got}, raw rows {wanted}")
    first = body["first_day"]
    problems += [f"{key}: only in the raw rows" for key in expected.keys() - seen if key[1] >= first]
    return problems


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    bulk: bool = False  # a CSV download: its time grows with its rows, so it is not held to the target

    @property
    def request(self) -> str:
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in self.params.items())
        return f"/{self.path}" + (f"?{query}" if query else "")


@dataclass
class Timing:
    endpoint: Endpoint
    ms: list[float] = field(default_factory=list)
    error: str | None = None
    bytes: int = 0
    lines: int = 0

    @property
    def p50(self) -> float:
        return median(self.ms)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)


@dataclass(frozen=True)
class Sample:
    """A real scraper, and a failed try of a finished run, of the generated store."""

    scraper: str
    dag_id: str
    run_id: str
    execution_id: int

    @property
    def run_path(self) -> str:
        return f"{quote(self.dag_id, safe='')}/{quote(self.run_id, safe='')}"


def sample(conn: psycopg.Connection, now: datetime) -> Sample:
    with conn.cursor(row_factory=tuple_row) as cur:
        scraper = cur.execute("SELECT min(scraper) FROM execution_daily").fetchone()[0]
        # A finished run from a day ago that had a failure: the chain view has incidents to build.
        # Ordered like the failures index, so it is read from there instead of the whole table.
        execution_id, dag_id, run_id = cur.execute(
            "SELECT id, dag_id, run_id FROM task_executions WHERE state = %s AND started_at < %s"
            " ORDER BY started_at DESC NULLS LAST, id DESC LIMIT 1",
            (FAILED, now - timedelta(days=1)),
        ).fetchone()
    return Sample(scraper, dag_id, run_id, execution_id)


def endpoints(conn: psycopg.Connection, now: datetime) -> list[Endpoint]:
    """The panels' API calls, with a real scraper, category and DAG run of the generated store."""
    found = sample(conn, now)
    scraper = found.scraper
    since = (now - timedelta(hours=24)).replace(microsecond=0).isoformat()
    run = f"api/chains/{found.run_path}"
    return [
        Endpoint("overview", "api/overview"),
        Endpoint("executions", "api/executions"),
        Endpoint("executions, one scraper", "api/executions", {"scraper": scraper}),
        Endpoint("executions, category", "api/executions", {"category": "network_error"}),
        Endpoint(
            "executions, scraper + state + 24 h",
            "api/executions",
            {"scraper": scraper, "state": FAILED, "since": since},
        ),
        Endpoint("executions, offset 10,000", "api/executions", {"offset": 10_000}),
        Endpoint("executions, offset 100,000", "api/executions", {"offset": 100_000}),
        Endpoint("errors (7 days)", "api/errors"),
        Endpoint("errors, category", "api/errors", {"category": "data_quality_error"}),
        Endpoint("silent-failures (24 h)", "api/silent-failures"),
        Endpoint("chain of one run", run),
        Endpoint("trends 7 days", "api/trends", {"days": 7}),
        Endpoint("trends 30 days", "api/trends", {"days": 30}),
        Endpoint("trends 90 days", "api/trends", {"days": 90}),
        Endpoint(
            "export.csv, one scraper, 24 h", "api/export.csv", {"scraper": scraper, "since": since}, bulk=True
        ),
        Endpoint("export.csv, no filter (100,000-row cap)", "api/export.csv", bulk=True),
        Endpoint("metrics", "metrics"),
    ]


def _get(client: TestClient, endpoint: Endpoint) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    response = client.get(endpoint.request)
    body = response.content  # the whole body, streamed ones included
    return (time.perf_counter() - started) * 1000, response.status_code, body


def measure(client: TestClient, targets: list[Endpoint], repeats: int) -> list[Timing]:
    """Warm every endpoint, then time ``repeats`` rounds of one request per endpoint: the panels'
    endpoints first, then the downloads, each group warmed and timed on its own. A 100,000-row CSV
    leaves enough garbage that Python's next full collection (tens of ms) would land on whichever
    panel request came after it."""
    timings = [Timing(e) for e in targets]
    for group in ([t for t in timings if not t.endpoint.bulk], [t for t in timings if t.endpoint.bulk]):
        for timing in group:
            for _ in range(WARMUP):
                _, status, body = _get(client, timing.endpoint)
                if status != 200:
                    timing.error = f"HTTP {status} {body[:120].decode(errors='replace')}"
                    break
                # Line count = CSV rows + header (generated messages are single-line).
                timing.bytes, timing.lines = len(body), body.count(b"\n")
        for _ in range(repeats):
            for timing in group:
                if timing.error is None:
                    ms, status, _ = _get(client, timing.endpoint)
                    timing.ms.append(ms)
                    if status != 200:
                        timing.error = f"HTTP {status} while measuring"
    return timings


@dataclass
class TrendsComparison:
    raw_ms: list[float]
    endpoint_ms: list[float]
    rollup_query_ms: list[float]
    mismatches: list[str]
    rows: int

    @property
    def ratio(self) -> float:
        return median(self.raw_ms) / median(self.endpoint_ms)

    @property
    def query_ratio(self) -> float:
        return median(self.raw_ms) / median(self.rollup_query_ms)


def compare_trends(dsn: str, client: TestClient, today: date, repeats: int) -> TrendsComparison:
    """The 90-day trends from raw rows vs the endpoint and its rollup query, alternating, and checked."""
    endpoint = Endpoint("trends 90 days", "api/trends", {"days": 90})
    raw_ms, endpoint_ms, rollup_ms = [], [], []
    raw: list[TrendRow] = []
    for _ in range(repeats):
        # A fresh connection each time, as the endpoint gets one per request.
        with connect(dsn, statement_timeout_ms=0) as conn:
            started = time.perf_counter()
            raw = raw_trends(conn, 90, today)
            raw_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            rolled = daily_rows(conn, days=90, today=today)
            rollup_ms.append((time.perf_counter() - started) * 1000)
        endpoint_ms.append(_get(client, endpoint)[0])
    mismatches = [] if rolled == raw else ["the rollup's trend rows differ from the raw rows"]
    response = client.get(endpoint.request)
    mismatches += trend_mismatches(response.json(), raw)
    return TrendsComparison(raw_ms, endpoint_ms, rollup_ms, mismatches, len(raw))


def shape_from_env() -> StoreShape:
    executions = int(os.environ.get("BENCH_PANEL_EXECUTIONS", 10_000_000))
    return StoreShape(
        executions=executions,
        item_outcomes=int(os.environ.get("BENCH_PANEL_ITEMS", 3 * executions)),
        days=int(os.environ.get("BENCH_PANEL_DAYS", 90)),
        scrapers=int(os.environ.get("BENCH_PANEL_SCRAPERS", 20)),
    )


@contextmanager
def bench_database() -> Iterator[str]:
    """An empty, migrated store: ``BENCH_PG_DSN``, else a throwaway embedded server."""
    if dsn := os.environ.get("BENCH_PG_DSN"):
        migrate.upgrade(dsn)
        yield dsn
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-panels-"))
    server = EmbeddedPostgres(folder / "data")
    try:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            # Fewer checkpoints during the multi-GB load; reads (what is measured) are unaffected.
            conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            conn.execute("SELECT pg_reload_conf()")
        server.ensure_database("bench")
        migrate.upgrade(server.dsn("bench"))
        yield server.dsn("bench")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def server_facts(dsn: str) -> str:
    """Database size and the server settings that decide how much of it is cached."""
    query = (
        "SELECT pg_size_pretty(pg_database_size(current_database())), current_setting('server_version'),"
        " current_setting('shared_buffers'), current_setting('work_mem')"
    )
    with connect(dsn) as conn, conn.cursor(row_factory=tuple_row) as cur:
        size, version, shared_buffers, work_mem = cur.execute(query).fetchone()
    return f"database {size} on PostgreSQL {version} (shared_buffers {shared_buffers}, work_mem {work_mem})"


def render(
    generated: GeneratedStore,
    server: str,
    repeats: int,
    timings: list[Timing],
    trends: TrendsComparison,
    refreshed: precompute.RefreshReport,
) -> str:
    shape = generated.shape
    load = ", ".join(f"{phase} {s:.0f} s" for phase, s in generated.seconds.items())
    lines = [
        f"Store: {generated.executions:,} task executions and {generated.item_outcomes:,} item outcomes, "
        f"{shape.scrapers} scrapers x {shape.days} days ({generated.first_day} .. {generated.last_day}), "
        f"{shape.runs:,} DAG runs ({shape.runs_per_scraper / shape.days:.1f} per scraper per day, "
        f"{shape.task_instances} task instances each), rollups {generated.execution_daily:,} + "
        f"{generated.item_daily:,} rows; {server}. "
        + (
            f"Generated in {generated.total_seconds / 60:.1f} min ({load})."
            if generated.seconds
            else "Generated by an earlier run into the store kept under BENCH_PG_DSN, and reused."
        ),
        "",
        "In-process Starlette TestClient against `create_app` (the real routes, services, queries and a "
        "new store connection per request, as in production). The embedded server keeps PostgreSQL's "
        "defaults, as the compose stack does: the store is many times shared_buffers, so most pages "
        "come from the OS cache. The auth dependency lets everyone in: Airflow's login is not "
        f"measured. Warm: {WARMUP} requests per endpoint first, then {repeats} rounds of one request "
        "per endpoint, round-robin, so noise from other work on the machine falls on all alike. The "
        "CSV downloads are warmed and timed after the panel endpoints, on their own: the garbage of a "
        "100,000-row download would otherwise trigger Python's full collection (~65 ms here) during "
        "whichever panel request came next. Collections the panel requests cause themselves are "
        "included; like the api-server, the app freezes the objects its process holds when it is built "
        "(`gc.freeze`), so a full collection walks only what requests made.",
        "",
        "The overview's SLO column and `metrics` read the snapshots that the DAG "
        "`scraper_monitor_snapshots` refreshes every 5 minutes (a week of raw rows is too much to "
        f"aggregate per request); refreshing them took {refreshed.seconds:.1f} s here, once, before "
        "measuring.",
        "",
        "| Endpoint | Request | p50 ms | p95 ms | p95 < 150 ms |",
        "|---|---|---:|---:|---|",
    ]
    for t in timings:
        if t.error:
            lines.append(f"| {t.endpoint.label} | `{t.endpoint.request}` | - | - | no: {t.error} |")
            continue
        verdict = "yes" if t.p95 < TARGET_P95_MS else "**no**"
        if t.endpoint.bulk:
            rows = t.lines - 1  # the header line
            verdict = (
                f"n/a: download of {rows:,} rows, {t.bytes / 2**20:.1f} MiB "
                f"({rows / t.p50 * 1000:,.0f} rows/s)"
            )
        lines.append(
            f"| {t.endpoint.label} | `{t.endpoint.request}` | {t.p50:.1f} | {t.p95:.1f} | {verdict} |"
        )
    equal = "equal" if not trends.mismatches else f"DIFFERENT ({len(trends.mismatches)} mismatches)"
    lines += [
        "",
        f"Trends, 90 days, from raw rows (one GROUP BY over task_executions, {trends.rows:,} result rows): "
        f"median {median(trends.raw_ms):.0f} ms over {len(trends.raw_ms)} runs; the trends endpoint "
        f"(rollups, HTTP and shaping included) median {median(trends.endpoint_ms):.1f} ms, measured "
        f"alternately: **{trends.ratio:.0f}x** faster (target {TARGET_TRENDS_RATIO:.0f}x: "
        f"{'met' if trends.ratio >= TARGET_TRENDS_RATIO else 'NOT met'}). The rollup query alone: "
        f"{median(trends.rollup_query_ms):.1f} ms ({trends.query_ratio:.0f}x). Numbers: {equal}.",
    ]
    held = [t for t in timings if not t.endpoint.bulk]
    missed = [t.endpoint.label for t in held if t.error or t.p95 >= TARGET_P95_MS]
    verdict = "met by every endpoint" if not missed else f"**missed** by {', '.join(missed)}"
    lines += [
        "",
        f"**Targets.** p95 < {TARGET_P95_MS:.0f} ms: {verdict} ({len(held) - len(missed)} of {len(held)}; "
        "the CSV downloads are not held to it). "
        f"Trends at least {TARGET_TRENDS_RATIO:.0f}x faster than raw rows: "
        f"{'met' if trends.ratio >= TARGET_TRENDS_RATIO and not trends.mismatches else 'NOT met'}.",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class PanelStore:
    """The generated store the panel sections read, with its snapshots refreshed."""

    dsn: str
    generated: GeneratedStore
    refreshed: precompute.RefreshReport


def panel_store(report: Report) -> PanelStore:
    """The generated store of this benchmark run (its shape from the environment): made by the first
    section that asks, reused by the others, dropped when the run ends (``report.stack``). A store kept
    under ``BENCH_PG_DSN`` that already holds executions is measured as it is, not generated again."""
    shape = shape_from_env()
    key = ("panel_store", shape)
    if key not in report.shared:
        dsn = report.stack.enter_context(bench_database())
        generated = existing(dsn, shape) or generate(
            dsn, shape, log=lambda line: print(f"[{report.current}] {line}", flush=True)
        )
        # What the maintenance DAG does every 10 minutes in a deployment (its rollup_days, 2): a store
        # kept under BENCH_PG_DSN may have taken executions since (make bench's panel_load stack
        # records its own DAGs into it), and the trends check compares the rollups with raw rows.
        print(f"[{report.current}] refreshing the rollups of the last 2 days", flush=True)
        rollup.rollup_recent(dsn, 2)
        # What the DAG scraper_monitor_snapshots does every 5 minutes in a deployment.
        print(f"[{report.current}] refreshing the SLO and metrics snapshots", flush=True)
        report.shared[key] = PanelStore(dsn, generated, precompute.refresh(dsn))
    return report.shared[key]


def allow_everyone() -> None:
    """Auth dependency of the benchmark app: Airflow's login is not what is measured."""


def run(report: Report) -> None:
    repeats = int(os.environ.get("BENCH_PANEL_REPEATS", 30))
    store = panel_store(report)
    dsn = store.dsn
    now = datetime.now(UTC)
    with connect(dsn) as conn:
        targets = endpoints(conn, now)
    with TestClient(create_app(lambda: dsn, allow_everyone)) as client:
        print(f"[panels] measuring {len(targets)} endpoints x {repeats}", flush=True)
        timings = measure(client, targets, repeats)
        print("[panels] trends: raw rows vs rollups", flush=True)
        trends = compare_trends(dsn, client, datetime.now(UTC).date(), RAW_REPEATS)
    server = server_facts(dsn)
    report.add(
        "Panel API latency", render(store.generated, server, repeats, timings, trends, store.refreshed)
    )
