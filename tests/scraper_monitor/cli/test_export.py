"""`scraper-monitor export`: CSV and JSON content, filters, --output, and CSV injection safety."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from pathlib import Path

import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.cli.export import COLUMNS
from scraper_monitor.store.rows import Execution
from tests.fixtures.cli import run_cli
from tests.fixtures.cli_store import (
    FORMULA_MESSAGE,
    FORMULA_SILENT_REASON,
    FORMULA_SKIP_REASON,
    Seeded,
    seeded_store,
)


@pytest.fixture
def store(pg_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_store(pg_server, tmp_path_factory.getbasetemp())


def export(store: Seeded, *args: str) -> str:
    result = run_cli("export", *args, "--dsn", store.dsn)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_csv_has_every_column_and_every_row(store: Seeded) -> None:
    assert set(COLUMNS) == {f.name for f in fields(Execution)}
    rows = list(csv.DictReader(io.StringIO(export(store))))
    assert len(rows) == store.rows
    assert tuple(rows[0]) == COLUMNS
    sync = next(r for r in rows if r["task_id"] == "sync" and r["scraper"] == "cinema_city")
    assert sync["map_index"] == "-1"  # numbers are data: never quoted
    assert sync["counts"] == "cinemas_found=2"
    assert sync["state"] == "success" and sync["duration_ms"] == "640"
    assert sync["started_at"].endswith("+00:00")


def test_csv_cells_that_start_like_formulas_are_quoted(store: Seeded) -> None:
    rows = list(csv.DictReader(io.StringIO(export(store, "--scraper", "cinema_city"))))
    by_key = {(r["task_id"], r["map_index"], r["try_number"]): r for r in rows}
    assert by_key[("movie_details", "1", "1")]["error_message"] == "'" + FORMULA_MESSAGE
    assert by_key[("cinema_day.cinema_dates", "3", "1")]["silent_reason"] == "'" + FORMULA_SILENT_REASON
    assert by_key[("cinema_day.cinema_dates", "4", "1")]["skip_reason"] == "'" + FORMULA_SKIP_REASON
    # No cell of the file, whatever its column, can start a formula.
    assert not [c for r in rows for c in r.values() if c[:1] in ("=", "+", "@", "\t", "\r")]


def test_json_export_keeps_the_data_as_stored(store: Seeded) -> None:
    data = json.loads(export(store, "--format", "json", "--task", "movie_details"))
    assert [(r["map_index"], r["state"]) for r in data] == [(1, "failed"), (0, "success")]
    assert list(data[0]) == list(COLUMNS)
    assert data[0]["error_message"] == FORMULA_MESSAGE  # JSON consumers get the text unchanged
    assert data[0]["silent"] is False and data[0]["counts"] == {}
    assert json.loads(export(store, "--json", "--task", "movie_details")) == data
    assert (
        json.loads(export(store, "--format", "json", "--scraper", "kino_krakow", "--state", "skipped")) == []
    )


def test_filters_limit_and_output_file(store: Seeded, tmp_path: Path) -> None:
    target = tmp_path / "retries.csv"
    flags = "--state retrying --category network_error --hours 24 --limit 2".split()
    result = run_cli("export", *flags, "--output", str(target), "--dsn", store.dsn)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == f"wrote 2 executions to {target} (csv)\n"
    rows = list(csv.DictReader(target.open(newline="")))
    assert [(r["task_id"], r["map_index"], r["try_number"], r["state"]) for r in rows] == [
        ("cinema_day.cinema_dates", "2", "2", "retrying"),
        ("cinema_day.cinema_dates", "2", "1", "retrying"),
    ]
    assert list(tmp_path.iterdir()) == [target]  # the .partial file is gone


def test_export_errors(store: Seeded, tmp_path: Path) -> None:
    unwritable = run_cli("export", "--output", str(tmp_path / "missing" / "x.csv"), "--dsn", store.dsn)
    assert unwritable.returncode == 2
    assert (
        unwritable.stderr.startswith("scraper-monitor: cannot write ") and unwritable.stderr.count("\n") == 1
    )
    bogus = run_cli("export", "--state", "bogus", "--dsn", store.dsn)
    assert bogus.returncode == 2 and "unknown state 'bogus'" in bogus.stderr
    assert run_cli("export", "--format", "xml", "--dsn", store.dsn).returncode == 2
