"""The panel-load section at CI size: concurrent logged-in clients against Airflow's real api-server and
its monitor plugin, every panel endpoint answered and its rate, latency and error rate reported; an
anonymous client is refused; a store kept under BENCH_PG_DSN is reused by the next run."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from benchmarks import panel_load, panels
from benchmarks.report import Report
from scraper_monitor.store.db import connect
from tests.fixtures.stack import Stack, second_api_server


def test_the_panel_load_section_drives_every_endpoint_with_concurrent_logged_in_clients(
    small_panel_store: str, stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report = Report(tmp_path, command="python -m benchmarks panel_load", current="panel_load")
    with report.stack:
        store = panels.panel_store(report)
        with connect(store.dsn) as conn:
            targets = [e for e in panels.endpoints(conn, datetime.now(UTC)) if not e.bulk]
        # make bench serves the store from a private stack of its own (panel_load.stack_for); here a
        # second api-server of the shared stack serves it, the same server, plugin and login.
        with second_api_server(stack, store.dsn, tmp_path) as server:
            anonymous = requests.get(server.api_url + panel_load.APP_PATH + "/api/overview", timeout=30)
            loads, wall = panel_load.drive(server, targets, clients=2, seconds=2)
        text = panel_load.render(store.generated.executions, "a test server", 2, 2, loads, wall)

    assert anonymous.status_code in (401, 403)
    assert "Store: the panel section's, 2,000 task executions" in text
    assert "2 concurrent clients" in text and "behind Airflow's login" in text
    for endpoint in targets:
        row = next(line for line in text.splitlines() if line.startswith(f"| {endpoint.label} |"))
        # Requested at least once, rate and p50/p95/p99 measured, no error (a refused login would be one).
        assert re.search(r"\| [1-9][\d,]* \| [\d.]+ \| \d+ \| \d+ \| \d+ \| 0\.0% \|$", row), row
    assert not any("export.csv" in line for line in text.splitlines())
    total = next(line for line in text.splitlines() if line.startswith("| **all** |"))
    assert total.endswith("| 0.0% |"), total

    # A later run on the kept store measures it as it is instead of generating it again.
    again = Report(tmp_path, command="python -m benchmarks panels", current="panels")
    with again.stack:
        reused = panels.panel_store(again).generated
    assert (reused.executions, reused.item_outcomes, reused.seconds) == (2_000, 4_000, {})
