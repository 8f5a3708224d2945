"""The panel-load section at CI size: concurrent clients against the web app in its own process, every
panel endpoint answered and its rate, latency and error rate reported; a store kept under BENCH_PG_DSN is
reused by the next run."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import panel_load, panels
from benchmarks.report import Report
from scraper_monitor.store.db import connect


def test_the_panel_load_section_drives_every_endpoint_with_concurrent_clients(
    small_panel_store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BENCH_LOAD_CLIENTS", "2")
    monkeypatch.setenv("BENCH_LOAD_SECONDS", "2")
    report = Report(tmp_path, command="python -m benchmarks panel_load", current="panel_load")

    with report.stack:
        panel_load.run(report)
        with connect(small_panel_store) as conn:
            targets = [e for e in panels.endpoints(conn, datetime.now(UTC)) if not e.bulk]

    text = report.sections["panel_load"]
    assert "Store: the panel section's, 2,000 task executions" in text
    assert "2 concurrent clients" in text
    for endpoint in targets:
        row = next(line for line in text.splitlines() if line.startswith(f"| {endpoint.label} |"))
        # Requested at least once, rate and p50/p95/p99 measured, no error.
        assert re.search(r"\| [1-9][\d,]* \| [\d.]+ \| \d+ \| \d+ \| \d+ \| 0\.0% \|$", row), row
    assert not any("export.csv" in line for line in text.splitlines())
    total = next(line for line in text.splitlines() if line.startswith("| **all** |"))
    assert total.endswith("| 0.0% |"), total

    # A later run on the kept store measures it as it is instead of generating it again.
    again = Report(tmp_path, command="python -m benchmarks panels", current="panels")
    with again.stack:
        reused = panels.panel_store(again).generated
    assert (reused.executions, reused.item_outcomes, reused.seconds) == (2_000, 4_000, {})
