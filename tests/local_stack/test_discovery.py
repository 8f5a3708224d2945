"""City discovery end to end on the real stack: the ``city_discovery`` DAG, run by the real scheduler
for the simulator's day, queues both chains for the three simulated cities (Kraków's two runs of the
day exist already: the demo runs count, nothing runs twice), every run finishes, and the monitor files
each run's executions under its city, as the Discovery API and ``--city`` show."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, time
from pathlib import Path

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from local_stack.verdict import CHAINS
from scraper_monitor import discovery
from scraper_monitor.airflow import discovery as door
from scraper_monitor.city import city_of
from tests.fixtures.stack import SCRAPER_MONITOR, Stack, wait_for

pytestmark = pytest.mark.e2e

CITIES = ("krakow", "warszawa", "wroclaw")
SOURCES = "{cinema_city: {settings: {days_ahead: 1}}, kino_krakow: {settings: {days_ahead: 1}}}"
SEED = f"""
cities:
  - {{city: krakow, name: Kraków, sources: {SOURCES}}}
  - {{city: warszawa, name: Warszawa, sources: {SOURCES}}}
  - {{city: wroclaw, name: Wrocław, sources: {SOURCES}}}
"""


def cli(stack: Stack, *argv: str) -> subprocess.CompletedProcess[str]:
    env = stack.env | {
        "AIRFLOW_USERNAME": stack.login["username"],
        "AIRFLOW_PASSWORD": stack.login["password"],
    }
    return subprocess.run(
        [SCRAPER_MONITOR, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def discovery_day(stack: Stack, demo_runs: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The orchestrator's run for the simulator's day and the source runs it left, all finished."""
    seed_file = Path(tmp_path_factory.mktemp("discovery")) / "discovery.yaml"
    seed_file.write_text(SEED, encoding="utf-8")
    seeded = cli(stack, "discovery", "seed", str(seed_file), "--airflow-url", stack.api_url)
    assert seeded.returncode == 0, seeded.stderr
    api = stack.api()
    day = stack.simulator_day()
    run_id = api.trigger("city_discovery", datetime.combine(day, time(), UTC).isoformat())
    api.unpause("city_discovery")
    wait_for(
        lambda: api.dag_run("city_discovery", run_id)["state"] in ("success", "failed"), 300, "city_discovery"
    )
    assert api.dag_run("city_discovery", run_id)["state"] == "success"
    runs = {}
    for source in CHAINS:
        for city in CITIES:
            expected = discovery.run_id(city, day)
            found = [r for r in api.dag_runs(source) if r["dag_run_id"] in (expected, demo_runs[source])]
            runs[(source, city)] = [r["dag_run_id"] for r in found if _city_of(r) == city]

    def all_finished() -> bool:
        return all(
            api.dag_run(source, run)["state"] in ("success", "failed")
            for (source, _), ids in runs.items()
            for run in ids
        )

    wait_for(all_finished, 900, "the six city runs")
    return {"day": day, "runs": runs, "orchestrator": run_id}


def _city_of(run: dict) -> str | None:
    # Kraków's demo runs have no conf: their city is the DAGs' default (krakow).
    return city_of(run.get("conf") or {}) or "krakow"


def test_the_orchestrator_leaves_exactly_one_run_per_city_and_source(
    stack: Stack, discovery_day: dict
) -> None:
    runs = discovery_day["runs"]
    assert all(len(ids) == 1 for ids in runs.values()), runs
    for source in CHAINS:
        assert runs[(source, "krakow")] != [
            discovery.run_id("krakow", discovery_day["day"])
        ]  # the demo's run
        for city in ("warszawa", "wroclaw"):
            assert runs[(source, city)] == [discovery.run_id(city, discovery_day["day"])]
    # The orchestrator again, later that day: nothing is due (next_run_at was written back).
    with psycopg.connect(stack.monitor_dsn, autocommit=True, row_factory=dict_row) as conn:
        later = datetime.combine(discovery_day["day"], time(12), UTC)
        assert door.queue_due(stack.api(), conn, later) == []


def test_each_city_runs_executions_are_filed_under_that_city(stack: Stack, discovery_day: dict) -> None:
    with psycopg.connect(stack.monitor_dsn) as conn:
        for (source, city), (run_id,) in discovery_day["runs"].items():
            cities = conn.execute(
                "SELECT DISTINCT city FROM task_executions WHERE dag_id = %s AND run_id = %s",
                (source, run_id),
            ).fetchall()
            assert cities == [(city,)], (source, run_id, cities)


def test_the_discovery_api_and_the_cli_show_each_citys_numbers(stack: Stack, discovery_day: dict) -> None:
    token = requests.post(f"{stack.api_url}/auth/token", json=stack.login, timeout=30).json()["access_token"]
    answer = requests.get(
        f"{stack.api_url}/scraper-monitor/api/discovery",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    stats = {(s["source"], c["city"]): s["stats"] for c in answer.json()["cities"] for s in c["sources"]}
    for key in discovery_day["runs"]:
        assert stats[key]["runs"] >= 1 and stats[key]["last_run_id"] is not None, (key, stats[key])
    listing = cli(stack, "jobs", "list", "--city", "wroclaw", "--json", "--limit", "500")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    rows = rows.get("executions", rows) if isinstance(rows, dict) else rows
    assert rows and {row["city"] for row in rows} == {"wroclaw"}
