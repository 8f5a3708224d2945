"""`scraper-monitor jobs | silent | errors top | trends` against a real store seeded by the writer."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
from dataclasses import fields
from typing import Any

import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.store.rows import Execution
from tests.fixtures.cli import CLI, cli_env, run_cli
from tests.fixtures.cli_store import FORMULA_MESSAGE, HTTP_503, Seeded, seeded_store


@pytest.fixture
def store(pg_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_store(pg_server, tmp_path_factory.getbasetemp())


def cli_json(store: Seeded, *args: str) -> Any:
    result = run_cli(*args, "--dsn", store.dsn, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cli_text(store: Seeded, *args: str) -> str:
    result = run_cli(*args, "--dsn", store.dsn)
    assert result.returncode == 0, result.stderr
    assert "\033[" not in result.stdout  # no colour codes when stdout is not a terminal
    return result.stdout


DATES = "cinema_day.cinema_dates"


def labels(executions: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(e["task_id"], e["map_index"], e["try_number"]) for e in executions]


def test_jobs_list_table_and_json(store: Seeded) -> None:
    text = cli_text(store, "jobs", "list")
    header, first, *_ = text.splitlines()
    assert header.split() == "STARTED (UTC) SCRAPER TASK TRY STATE DURATION CATEGORY NOTE".split()
    # Aligned: every column starts where its header does.
    assert first.index("kino_krakow") == header.index("SCRAPER")
    assert "day.day_pages[1]" in first and "failed" in first
    assert "30.52 s" in text and "640 ms" in text and "90 ms" in text
    assert "silent: +listed day answered with 0 showtimes" in text
    summary = text.rstrip().splitlines()[-1]
    assert summary.startswith("20 shown: 12 success, 4 failed, 3 retrying, 1 skipped, 0 upstream_failed, ")
    assert "1 silent; success rate 75.0% (final tries)" in summary

    data = cli_json(store, "jobs", "list")
    assert data["count"] == len(data["executions"]) == store.rows
    assert data["summary"] == {
        "success": 12,
        "failed": 4,
        "retrying": 3,
        "skipped": 1,
        "upstream_failed": 0,
        "silent": 1,
        "success_rate": 0.75,
        "avg_duration_ms": pytest.approx(sum(e["duration_ms"] for e in data["executions"]) / store.rows),
    }
    newest = data["executions"][0]
    assert set(newest) == {f.name for f in fields(Execution)}  # every column, under its own name
    assert newest["started_at"].endswith("+00:00")  # ISO 8601, UTC


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--scraper", "kino_krakow", "--hours", "24"],
            {("sync", -1, 1), ("day.day_pages", 0, 1), ("day.day_pages", 1, 1)},
        ),
        (
            ["--task", "cinema_day.cinema_dates", "--state", "retrying"],
            {(DATES, 1, 1), (DATES, 2, 1), (DATES, 2, 2)},
        ),
        (["--category", "data_quality_error"], {("day.day_pages", 1, 1), ("movie_details", 1, 1)}),
        (["--state", "skipped"], {("cinema_day.cinema_dates", 4, 1)}),
    ],
)
def test_jobs_list_filters(store: Seeded, flags: list[str], expected: set[tuple[str, int, int]]) -> None:
    assert set(labels(cli_json(store, "jobs", "list", *flags)["executions"])) == expected


def test_states_are_coloured_on_a_terminal_only(store: Seeded) -> None:
    primary, replica = pty.openpty()
    process = subprocess.Popen(
        [CLI, "jobs", "list", "--task", "day.day_pages", "--dsn", store.dsn], stdout=replica, env=cli_env()
    )
    os.close(replica)
    output = b""
    with contextlib.suppress(OSError):  # EIO once the CLI has exited and closed the terminal
        while chunk := os.read(primary, 4096):
            output += chunk
    os.close(primary)
    assert process.wait(timeout=60) == 0
    text = output.decode()
    assert "\033[31mfailed\033[0m" in text and "\033[32msuccess\033[0m" in text
    # Colour is added after padding, so without the escape codes the columns still line up.
    header, *rows = [re.sub(r"\033\[[0-9;]*m", "", line) for line in text.splitlines()]
    failed = next(row for row in rows if "day.day_pages[1]" in row)
    assert failed.index("failed") == header.index("STATE")
    assert failed.index("1.20 s") + len("1.20 s") == header.index("DURATION") + len("DURATION")


def test_jobs_list_hours_and_limit(store: Seeded) -> None:
    every = cli_json(store, "jobs", "list", "--scraper", "kino_krakow")["executions"]
    assert {e["run_id"] for e in every} >= {"scheduled__old3", "scheduled__old9"}
    last_four_days = cli_json(store, "jobs", "list", "--scraper", "kino_krakow", "--hours", "96")[
        "executions"
    ]
    assert "scheduled__old3" in {e["run_id"] for e in last_four_days}
    assert "scheduled__old9" not in {e["run_id"] for e in last_four_days}
    newest_two = cli_json(store, "jobs", "list", "--limit", "2")["executions"]
    assert labels(newest_two) == labels(every[:2])


def test_jobs_failures(store: Seeded) -> None:
    text = cli_text(store, "jobs", "failures", "--scraper", "cinema_city")
    assert "MESSAGE" in text.splitlines()[0]
    assert FORMULA_MESSAGE in text  # shown as stored; only the CSV export neutralises formulas
    assert HTTP_503[:79] + "…" in text  # first 80 characters of a long message

    data = cli_json(store, "jobs", "failures", "--scraper", "cinema_city")
    assert {e["state"] for e in data["executions"]} == {"failed", "retrying"}
    assert data["count"] == 5  # 3 retrying + 2 failed
    failed_only = cli_json(store, "jobs", "failures", "--state", "failed", "--category", "network_error")
    assert labels(failed_only["executions"]) == [("cinema_day.cinema_dates", 2, 3), ("day.day_pages", 0, 1)]


def test_jobs_stats(store: Seeded) -> None:
    text = cli_text(store, "jobs", "stats")
    assert "SUCCESS RATE" in text and "80.0%" in text and "66.7%" in text
    stats = {s["scraper"]: s for s in cli_json(store, "jobs", "stats")["stats"]}
    # Final tries only: 8 successes and 2 failures; retries, skips and silent are counted apart.
    assert stats["cinema_city"] | {"avg_duration_ms": None, "p95_duration_ms": None} == {
        "scraper": "cinema_city",
        "total": 14,
        "success": 8,
        "failed": 2,
        "retrying": 3,
        "skipped": 1,
        "upstream_failed": 0,
        "silent": 1,
        "recovered": 0,  # no row here was rebuilt by the repair
        "success_rate": 0.8,
        "avg_duration_ms": None,
        "p95_duration_ms": None,
    }
    assert stats["kino_krakow"]["total"] == 3  # the last 24 h only
    week = {s["scraper"]: s for s in cli_json(store, "jobs", "stats", "--hours", "240")["stats"]}
    assert week["kino_krakow"]["total"] == 6
    one_task = cli_json(store, "jobs", "stats", "--task", "day.day_pages")["stats"]
    assert [(s["scraper"], s["total"], s["failed"]) for s in one_task] == [("kino_krakow", 2, 1)]


@pytest.mark.parametrize(
    "command", [("jobs", "stats"), ("jobs", "list"), ("silent",), ("errors", "top"), ("trends",)]
)
def test_source_is_the_origins_name_for_scraper(store: Seeded, command: tuple[str, ...]) -> None:
    """Seed 001's `mix monitor.jobs stats --source cinema_city`, as written."""
    by_source = cli_json(store, *command, "--source", "kino_krakow")
    assert by_source == cli_json(store, *command, "--scraper", "kino_krakow")
    assert by_source != cli_json(store, *command)  # the filter applied


def test_slo_takes_source_too(store: Seeded) -> None:
    # slo answers with the window's end (now): compare whom it is about.
    assert {s["scraper"] for s in cli_json(store, "slo", "--source", "kino_krakow")} == {"kino_krakow"}


def test_jobs_worker(store: Seeded) -> None:
    text = cli_text(store, "jobs", "worker", "cinema_day.cinema_dates")
    assert text.startswith("cinema_day.cinema_dates: last 24 h")
    assert "75.0%" in text and "cinema_day.cinema_dates[2]" in text

    data = cli_json(store, "jobs", "worker", "cinema_day.cinema_dates", "--limit", "3")
    assert [s["total"] for s in data["stats"]] == [8]
    assert len(data["executions"]) == 3
    assert {e["task_id"] for e in data["executions"]} == {"cinema_day.cinema_dates"}
    failed = cli_json(store, "jobs", "worker", "cinema_day.cinema_dates", "--state", "failed")["executions"]
    assert labels(failed) == [("cinema_day.cinema_dates", 2, 3)]


def test_silent(store: Seeded) -> None:
    text = cli_text(store, "silent")
    assert "cinema_day.cinema_dates[3]" in text and "showtimes_found=0" in text
    data = cli_json(store, "silent", "--scraper", "cinema_city")
    assert data["count"] == 1 and data["items"][0]["silent_reason"].startswith("+listed day")
    assert cli_json(store, "silent", "--scraper", "kino_krakow")["count"] == 0
    assert "no silent failures in the last 24 h" in cli_text(store, "silent", "--scraper", "kino_krakow")


def test_errors_top(store: Seeded) -> None:
    text = cli_text(store, "errors", "top")
    first = text.splitlines()[1].split()
    assert first[:4] == ["4", "network_error", "http_503", "cinema_city"]
    groups = cli_json(store, "errors", "top", "--hours", "240")["top"]
    top = groups[0]
    assert (top["fingerprint"], top["count"], top["error_category"], top["error_type"]) == (
        "fp503",
        5,  # two retries and a failure of cinema-day 2, a retry of cinema-day 1, last week's failure
        "network_error",
        "http_503",
    )
    assert top["example_message"] == HTTP_503 and top["scrapers"] == ["cinema_city", "kino_krakow"]
    assert {g["fingerprint"] for g in groups[1:]} == {"fpshape", "fpselector"}
    only_kk = cli_json(store, "errors", "top", "--scraper", "kino_krakow", "--limit", "1")["top"]
    assert [(g["fingerprint"], g["count"]) for g in only_kk] == [("fpselector", 1)]


def test_trends(store: Seeded) -> None:
    data = cli_json(store, "trends", "--days", "30")
    assert len(data["by_day"]) == 30 and data["by_day"][-1]["day"] == data["last_day"]
    # The seeded runs: 17 rows two hours ago, 1 three days ago, 2 nine days ago (last week).
    assert sum(d["executions"] for d in data["by_day"]) == store.rows
    this, last = data["this_week"], data["last_week"]
    assert (this["executions"], last["executions"]) == (18, 2)
    assert (this["errors"], last["errors"]) == (6, 1)
    assert this["errors_by_category"] == {"data_quality_error": 2, "network_error": 4}
    assert last["errors_by_category"] == {"network_error": 1}
    assert (this["success_rate"], last["success_rate"]) == (pytest.approx(11 / 14), 0.5)
    assert data["change"] == pytest.approx(11 / 14 - 0.5)
    assert data["categories"] == ["network_error", "data_quality_error"]

    text = cli_text(store, "trends")
    lines = text.splitlines()
    assert lines[2].split() == (
        "DAY EXECUTIONS SUCCESS RATE FAILED RETRYING SILENT network_error data_quality_error".split()
    )
    assert len([line for line in lines if line[:4].isdigit()]) == 7
    week = {
        line.split()[0]: line.split()[1:]
        for line in lines
        if line.split()[:1] in (["executions"], ["errors"])
    }
    assert week["executions"] == ["18", "2", "+800.0%"] and week["errors"] == ["6", "1", "+500.0%"]
    assert "+28.6 pp" in text
    categories = {line.split()[0]: line.split()[1:] for line in lines if line.endswith(("%", "n/a"))}
    assert categories["network_error"] == ["4", "1", "+300.0%"]
    assert categories["data_quality_error"] == ["2", "0", "n/a"]

    kino = cli_json(store, "trends", "--days", "7", "--scraper", "kino_krakow")
    assert kino["this_week"]["executions"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["jobs", "list", "--state", "bogus"],
            "unknown state 'bogus'; expected one of success, failed, retrying, skipped, upstream_failed",
        ),
        (["jobs", "list", "--hours", "0"], "--hours must be a whole number from 1 to 9600, got 0"),
        (["jobs", "stats", "--hours", "-5"], "--hours must be a whole number from 1 to 9600, got -5"),
        (["jobs", "list", "--limit", "0"], "--limit must be a whole number from 1 to 1000, got 0"),
        (
            ["jobs", "failures", "--state", "success"],
            "failures are failed or retrying tries; got --state success",
        ),
        (["jobs", "list", "--category", "network"], "unknown category 'network'; expected one of"),
        (["jobs", "worker", "bad task!"], "task_id must be 1-250 letters, digits"),
        (["silent", "--scraper", "x;drop"], "scraper must be 1-250 letters, digits"),
        (["errors", "top", "--limit", "5000"], "--limit must be a whole number from 1 to 1000, got 5000"),
        (["trends", "--days", "14"], "--days must be one of 7, 30, 90, got 14"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], message: str) -> None:
    # Checked before connecting: the DSN is never used.
    result = run_cli(*args, "--dsn", "postgresql://nobody@/nowhere?host=/nonexistent")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"scraper-monitor: {message}") and result.stderr.count("\n") == 1


def test_store_down_is_one_line_exit_2(tmp_path: Any) -> None:
    result = run_cli("jobs", "list", "--dsn", f"postgresql://postgres@/db?host={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.startswith("scraper-monitor: cannot read the monitor store: OperationalError")
    assert result.stderr.count("\n") == 1


def test_cancelled_is_answered_with_what_was_left_out_on_purpose(pg_dsn: str) -> None:
    """Seed 001's `--state cancelled`: the origin cancelled a showtime job whose film was not matched;
    here the task succeeds and its items say so. The answer lists them, with one line of explanation."""
    from datetime import UTC, datetime, timedelta

    import psycopg

    from scraper_monitor.store import migrate
    from tests.factories import add_execution, add_items

    migrate.upgrade(pg_dsn)
    recent = datetime.now(UTC) - timedelta(hours=1)  # the CLI reads the real clock
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        batch = add_execution(conn, task_id="cinema_day.showtimes", map_index=0, started_at=recent)
        add_items(conn, batch, outcome="created", count=5)
        add_items(
            conn, batch, outcome="skipped_expected", count=3, reason="film_not_matched:tmdb_needs_review"
        )
        film = add_execution(conn, task_id="movie_details", map_index=1, started_at=recent)
        add_items(conn, film, outcome="failed", count=1, entity_type="film", reason="tmdb_needs_review")

    listed = run_cli("jobs", "list", "--state", "cancelled", "--dsn", pg_dsn, "--json")
    assert listed.returncode == 0, listed.stderr
    answer = json.loads(listed.stdout)
    assert answer["explanation"].startswith("nothing is cancelled here")
    assert [
        (r["task_id"], r["entity_type"], r["outcome"], r["reason"], r["items"]) for r in answer["left_out"]
    ] == [
        ("cinema_day.showtimes", "showtime", "skipped_expected", "film_not_matched:tmdb_needs_review", 3),
        ("movie_details", "film", "failed", "tmdb_needs_review", 1),
    ]
    # As seed 001 writes it, for one worker (task), and as a table for people.
    worker = run_cli("jobs", "worker", "movie_details", "--state", "cancelled", "--source", "cinema_city",
                     "--dsn", pg_dsn)  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.startswith("nothing is cancelled here") and "tmdb_needs_review" in worker.stdout
    assert "film_not_matched" not in worker.stdout  # the other task's items
    assert run_cli("jobs", "failures", "--state", "cancelled", "--dsn", pg_dsn).returncode == 2
