"""The discovery section at CI size: it fills a store, measures the one statistics query and writes its
table, with every configured city-source counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import discovery
from benchmarks.report import Report


def test_the_discovery_section_measures_the_stats_query_over_every_city_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {"CITIES": 3, "DAYS": 5, "REPEATS": 3}.items():
        monkeypatch.setattr(discovery, name, value)
    report = Report(tmp_path, command="python -m benchmarks discovery", current="discovery")
    discovery.run(report)
    text = report.sections["discovery"]
    assert "3 cities x 2 sources x 5 days of daily runs, 990 task executions" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    # Every window counts all 6 city-sources; 5 daily runs each fit in the 7-day window.
    assert [row.split(" | ")[1] for row in rows] == ["6", "6", "6"]
    assert rows[0].split(" | ")[2] == "30"
