"""End to end on the real stack: embedded PostgreSQL, Airflow 3.3 (api-server, scheduler,
dag-processor, triggerer; LocalExecutor), the simulator on the demo scenario, a local Slack receiver.

One stack per session; the demo runs of both chains are shared by the tests that read them."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
import requests

from local_stack.scenario_runs import ScenarioRuns, judge_runs
from local_stack.verdict import CHAINS
from scraper_monitor.reports.background import BACKGROUND_DAGS, SNAPSHOTS
from sitesim.scenario import load
from tests.fixtures.stack import Stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("dag_id", CHAINS)
def test_chains_under_the_real_scheduler_run_as_the_scenario_predicts(stack, demo_runs, dag_id) -> None:
    api = stack.api()
    batch = ScenarioRuns(load("demo"), stack.simulator_day(), demo_runs)
    (verdict,) = [v for v in judge_runs(api, stack.monitor_dsn, batch) if v.dag_id == dag_id]
    assert verdict.ok and verdict.unpredicted is None, verdict.line()
    assert (
        api.dag_run(dag_id, demo_runs[dag_id])["state"] == "failed"
    )  # one unit per chain exhausts its retries


@pytest.mark.parametrize("dag_id", CHAINS)
def test_reconcile_finds_no_difference_between_airflow_and_the_store(stack, demo_runs, dag_id) -> None:
    code, report = stack.reconcile(dag_id, demo_runs[dag_id])
    assert code == 0, report
    assert report["count"] == 0 and report["differences"] == []
    assert report["store_rows"] > 0 and report["pending"] == []


def test_deadline_miss_reaches_slack_through_the_triggerer(stack, demo_runs) -> None:
    def deadline_messages() -> list[dict]:
        return [m for m in stack.slack.messages if "deadline" in json.dumps(m).lower()]

    messages = wait_for(lambda: len(deadline_messages()) >= len(CHAINS) and deadline_messages(), 180, "Slack")
    for dag_id, run_id in demo_runs.items():
        text = next(json.dumps(m) for m in messages if dag_id in json.dumps(m))
        assert run_id in text
        assert f"/dags/{dag_id}/runs/" in text and "/plugin/chain" in text  # link to the run's Chain tab


def test_backfill_over_two_dates_produces_two_complete_runs(stack, demo_runs) -> None:
    api = stack.api()
    day0 = stack.simulator_day()  # not the clock's date: the suite may have crossed midnight
    first, last = day0 - timedelta(days=2), day0 - timedelta(days=1)
    stack.run(
        "airflow", "backfill", "create", "--dag-id", "cinema_city",
        "--from-date", first.isoformat(), "--to-date", last.isoformat(),
        "--dag-run-conf", json.dumps({"days_ahead": 1}),
    )  # fmt: skip

    def finished_backfill_runs() -> list[dict]:
        runs = api._call("GET", "/dags/cinema_city/dagRuns", params={"run_type": "backfill", "limit": 10})
        done = [r for r in runs["dag_runs"] if r["state"] in ("success", "failed")]
        return done if len(done) == 2 else []

    runs = wait_for(finished_backfill_runs, 420, "two backfill runs")
    assert sorted(r["logical_date"][:10] for r in runs) == [first.isoformat(), last.isoformat()]
    assert all(r["state"] == "success" for r in runs)
    with psycopg.connect(stack.monitor_dsn) as conn:
        for run in runs:
            created = conn.execute(
                "SELECT count(*) FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id "
                "WHERE e.dag_id = 'cinema_city' AND e.run_id = %s AND i.entity_type = 'showtime' "
                "AND i.outcome IN ('created', 'updated')",
                (run["dag_run_id"],),
            ).fetchone()[0]
            assert created > 0, f"backfill run {run['dag_run_id']} stored no showtimes"


def test_the_monitors_own_dags_run_unasked_and_the_overview_says_when_one_stops(stack: Stack) -> None:
    """Nobody unpauses them: they are on from their first parse, run, and the overview has no health
    line; pausing one makes the line name it and what the user loses, in the API and on the page."""
    api = stack.api()
    assert {dag_id: api.dag_details(dag_id)["is_paused"] for dag_id in BACKGROUND_DAGS} == dict.fromkeys(
        BACKGROUND_DAGS, False
    )
    session = requests.Session()
    session.headers["Authorization"] = api.session.headers["Authorization"]

    def background() -> list[dict]:
        answer = session.get(f"{stack.api_url}/scraper-monitor/api/overview", timeout=60)
        answer.raise_for_status()
        return answer.json()["background"]

    wait_for(lambda: background() == [], 420, f"a successful run of each of {BACKGROUND_DAGS}")
    api._call("PATCH", f"/dags/{SNAPSHOTS}", json={"is_paused": True})
    try:
        [issue] = background()
        assert (issue["dag_id"], issue["problem"]) == (SNAPSHOTS, "is paused")
        assert "no SLO and metrics snapshots" in issue["loses"] and issue["since"] is not None
        page = session.get(f"{stack.api_url}/scraper-monitor/", headers={"accept": "text/html"}, timeout=60)
        assert f'data-dag="{SNAPSHOTS}"' in page.text and "is paused" in page.text
    finally:
        api.unpause(SNAPSHOTS)
