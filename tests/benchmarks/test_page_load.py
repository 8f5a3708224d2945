"""The page-load section at CI size: every HTML panel, served over HTTP, loads in headless Chromium
and gets its figure against seed 000's 2 s target."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import page_load, panels
from benchmarks.report import Report
from scraper_monitor.store.db import connect


def test_the_page_load_section_loads_every_panel_in_chromium(
    small_panel_store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BENCH_PAGE_REPEATS", "1")
    report = Report(tmp_path, command="python -m benchmarks page_load", current="page_load")

    with report.stack:
        page_load.run(report)
        # The store is generated once per benchmark run and shared with the panels section.
        assert panels.panel_store(report) is panels.panel_store(report)
        with connect(small_panel_store) as conn:
            targets = page_load.panels(conn, datetime.now(UTC))

    text = report.sections["page_load"]
    assert "Store: the panel section's, 2,000 task executions" in text
    for panel in targets:
        row = next(line for line in text.splitlines() if line.startswith(f"| {panel.label} |"))
        # load p50, load p95 and HTML p50 measured; no HTTP or browser error.
        assert re.search(r"\| \d+ \| \d+ \| \d+ \| (yes|\*\*no\*\*) \|$", row), row
    assert "**Target.** Page load p95 < 2 s (seed 000):" in text
