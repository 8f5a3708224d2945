"""Helpers shared by the CLI tests (test_cli_*): a seeded monitor store and a way to run the CLI.

The store is seeded through the real writer (``SummaryWriter``), one summary per try, as the task
callbacks write them: a cinema_city run with retries, a failure, a silent success, a self-skipped
cinema-day, item outcomes and scraped text that looks like spreadsheet formulas; a kino_krakow run
with a layout change; older rows three and nine days back (the ``--hours`` window and last week).
Times are relative to now, because the commands read "the last N hours".
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS
from scraper_monitor.store import migrate, rollup
from scraper_monitor.store.writer import SummaryWriter
from scrapers.outcome import ItemOutcome

CLI = str(Path(sys.executable).with_name("scraper-monitor"))

CC_RUN = "scheduled__2025-11-24T06:00:00+00:00"
KK_RUN = "manual__2025-11-24T06:05:00+00:00"
HTTP_503 = (
    "HTTPError: 503 Server Error: Service Unavailable for url: http://127.0.0.1:8765/pl/data-api-service/v1"
)
# Scraped text reaches error messages and reasons unchanged; a spreadsheet would run these.
FORMULA_MESSAGE = '=HYPERLINK("http://evil.example/x","click") in film title'
FORMULA_SILENT_REASON = "+listed day answered with 0 showtimes"
FORMULA_SKIP_REASON = "@no screenings listed for this day"


def cli_env() -> dict[str, str]:
    """Nothing of the test process's own configuration: each test passes --dsn / --airflow-url."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("SCRAPER_MONITOR_", "AIRFLOW_", "NO_COLOR"))
    }


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (stdout is a pipe: no colours)."""
    return subprocess.run([CLI, *args], env=cli_env(), capture_output=True, text=True, timeout=60)


@dataclass(frozen=True)
class Seeded:
    dsn: str
    rows: int  # summaries written (one per try)


def _summary(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    state: str,
    started_at: datetime,
    *,
    try_number: int = 1,
    duration_ms: int = 1200,
    **fields: Any,
) -> ExecutionSummary:
    return ExecutionSummary(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
        state=state,
        scraper=dag_id,
        logical_date=started_at.replace(minute=0, second=0, microsecond=0),
        started_at=started_at,
        ended_at=started_at + timedelta(milliseconds=duration_ms),
        duration_ms=duration_ms,
        **fields,
    )


def _showtimes(n: int, outcome: str = "created") -> list[ItemOutcome]:
    return [ItemOutcome("showtime", f"cinema_city_showtime_1090_7592s3r_51234{i}", outcome) for i in range(n)]


def seed(dsn: str, spool_dir: Path) -> Seeded:
    now = datetime.now(UTC).replace(microsecond=0)
    t = now - timedelta(hours=2)
    cc, kk = "cinema_city", "kino_krakow"
    dates = "cinema_day.cinema_dates"
    network = {
        "error_category": "network_error",
        "error_type": "http_503",
        "fingerprint": "fp503",
        "error_message": HTTP_503,
    }
    summaries = [
        _summary(cc, CC_RUN, "sync", -1, SUCCESS, t, duration_ms=640, counts={"cinemas_found": 2}),
        _summary(cc, CC_RUN, dates, 0, SUCCESS, t + timedelta(seconds=1), counts={"showtimes_found": 48}),
        # cinema-day 1: a 503 survived by the second try
        _summary(cc, CC_RUN, dates, 1, RETRYING, t + timedelta(seconds=2), **network),
        _summary(cc, CC_RUN, dates, 1, SUCCESS, t + timedelta(seconds=30), try_number=2, duration_ms=2500),
        # cinema-day 2: three 503s, no tries left
        _summary(cc, CC_RUN, dates, 2, RETRYING, t + timedelta(seconds=3), **network),
        _summary(cc, CC_RUN, dates, 2, RETRYING, t + timedelta(seconds=33), try_number=2, **network),
        _summary(cc, CC_RUN, dates, 2, FAILED, t + timedelta(seconds=63), try_number=3, **network),
        # cinema-day 3: listed, yet empty (silent); cinema-day 4: not listed and empty (expected)
        _summary(
            cc,
            CC_RUN,
            dates,
            3,
            SUCCESS,
            t + timedelta(seconds=4),
            counts={"showtimes_found": 0},
            silent=True,
            silent_reason=FORMULA_SILENT_REASON,
        ),
        _summary(cc, CC_RUN, dates, 4, SKIPPED, t + timedelta(seconds=5), skip_reason=FORMULA_SKIP_REASON),
        _summary(cc, CC_RUN, "plan_films", -1, SUCCESS, t + timedelta(seconds=70), counts={"films": 2}),
        _summary(
            cc,
            CC_RUN,
            "movie_details",
            0,
            SUCCESS,
            t + timedelta(seconds=71),
            items=[ItemOutcome("film", "7592s3r", "created")],
        ),
        _summary(
            cc,
            CC_RUN,
            "movie_details",
            1,
            FAILED,
            t + timedelta(seconds=72),
            error_category="data_quality_error",
            error_type="unexpected_shape",
            error_message=FORMULA_MESSAGE,
            fingerprint="fpshape",
            items=[ItemOutcome("film", "8101a2b", "failed", "data_quality_error", "no title")],
        ),
        _summary(cc, CC_RUN, "collect_matches", -1, SUCCESS, t + timedelta(seconds=80), duration_ms=90),
        _summary(
            cc,
            CC_RUN,
            "cinema_day.showtimes",
            0,
            SUCCESS,
            t + timedelta(seconds=81),
            counts={"showtimes_created": 3},
            items=_showtimes(3) + _showtimes(1, "failed"),
        ),
        # kino_krakow: the program table is gone from one day page
        _summary(kk, KK_RUN, "sync", -1, SUCCESS, t + timedelta(minutes=5), duration_ms=300),
        _summary(kk, KK_RUN, "day.day_pages", 0, SUCCESS, t + timedelta(minutes=6), duration_ms=30_520),
        _summary(
            kk,
            KK_RUN,
            "day.day_pages",
            1,
            FAILED,
            t + timedelta(minutes=6),
            error_category="data_quality_error",
            error_type="selector_missing",
            error_message="SelectorMissing: table.repert not found on /cinema_program/by_movie",
            fingerprint="fpselector",
        ),
        # older runs: three days back (outside 24 h) and nine days back (last week)
        _summary(kk, "scheduled__old3", "day.day_pages", 0, SUCCESS, now - timedelta(days=3)),
        _summary(kk, "scheduled__old9", "day.day_pages", 0, FAILED, now - timedelta(days=9), **network),
        _summary(kk, "scheduled__old9b", "day.day_pages", 0, SUCCESS, now - timedelta(days=9, hours=1)),
    ]
    writer = SummaryWriter(dsn, spool_dir / "spool.jsonl")
    for summary in summaries:
        assert writer.write(summary) == "stored"
    rollup.rollup_recent(dsn, 14)  # what the maintenance DAG does; trends read the rollups
    return Seeded(dsn=dsn, rows=len(summaries))


_seeded: dict[str, Seeded] = {}


def seeded_store(server: EmbeddedPostgres, spool_dir: Path) -> Seeded:
    """One seeded database per test session, shared by the CLI test modules: the commands under
    test only read it. It goes with the session's server, so it is never dropped."""
    if server.pgdata.as_posix() not in _seeded:
        name = f"cli_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        dsn = server.dsn(name)
        migrate.upgrade(dsn)
        _seeded[server.pgdata.as_posix()] = seed(dsn, spool_dir)
    return _seeded[server.pgdata.as_posix()]
