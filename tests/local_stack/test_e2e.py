"""End to end on the real stack: embedded PostgreSQL, Airflow 3.3 (api-server, scheduler,
dag-processor, triggerer; LocalExecutor), the simulator on the demo scenario, a local Slack receiver.

One stack per session; the demo runs of both chains are shared by the tests that read them."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
import requests

from local_stack.scenario_runs import ScenarioRuns, judge_runs, predict
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


# What the demo scenario injects into each chain's unit task, and the category each must get.
INJECTED_FAULTS = {
    "cinema_city": {
        ("network_error", "http_5xx"),  # a 503 that recovers, and one cinema-day that never does
        ("network_error", "rate_limited"),  # 429 with Retry-After
        ("data_quality_error", "invalid_json"),  # truncated JSON
    },
    "kino_krakow": {
        ("data_quality_error", "csrf_token_invalid"),  # set_day refuses the token (422)
        ("data_quality_error", "selector_missing"),  # the day page lost table.repert
    },
}
UNIT_TASK = {"cinema_city": "cinema_day.cinema_dates", "kino_krakow": "day.day_pages"}


@pytest.mark.parametrize("dag_id", CHAINS)
def test_each_demo_run_files_its_faults_skips_silences_and_film_matches_in_the_store(
    stack, demo_runs, dag_id
) -> None:
    run = {"dag_id": dag_id, "run_id": demo_runs[dag_id], "unit": UNIT_TASK[dag_id]}
    predicted, _ = predict(load("demo"), dag_id, stack.simulator_day())
    assert predicted is not None
    of_the_unit = (
        "FROM task_executions WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s AND task_id = %(unit)s"
    )
    with psycopg.connect(stack.monitor_dsn) as conn:
        errors = set(
            conn.execute(
                f"SELECT error_category, error_type {of_the_unit} AND state IN ('failed', 'retrying')", run
            ).fetchall()
        )
        skipped = conn.execute(
            f"SELECT skip_reason, silent {of_the_unit} AND state = 'skipped'", run
        ).fetchall()
        silent_reasons = [r for (r,) in conn.execute(f"SELECT silent_reason {of_the_unit} AND silent", run)]
        # Each stored showtime's item outcome says its version (Cinema City); Kino Krakow has none.
        versions = dict(
            conn.execute(
                "SELECT i.reason LIKE 'version:%%', count(*) FROM item_outcomes i "
                "JOIN task_executions e ON e.id = i.execution_id WHERE e.dag_id = %(dag_id)s "
                "AND e.run_id = %(run_id)s AND i.entity_type = 'showtime' AND i.outcome = 'created'"
                " GROUP BY 1",
                run,
            ).fetchall()
        )
        films = conn.execute(
            "SELECT i.outcome, i.reason, i.film_title, i.match_confidence, i.match_method, i.tmdb_id"
            " FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id"
            " WHERE e.dag_id = %(dag_id)s AND e.run_id = %(run_id)s AND i.entity_type = 'film'",
            run,
        ).fetchall()
        cities = {
            city
            for (city,) in conn.execute(
                "SELECT DISTINCT city FROM task_executions WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s",
                run,
            )
        }
    # Every summary carries the city of the run's params: Cinema City's default city_name "Kraków" and
    # Kino Krakow's default city "krakow" are one key.
    assert cities == {"krakow"}
    assert versions == {True if dag_id == "cinema_city" else None: predicted["showtimes_created"]}
    # Every film's match quality is in the store: matched at 0.70 and up with the candidate's id and how
    # it was found; not matched below, with the best candidate when TMDB had one.
    matched = [f for f in films if f[0] == "created"]
    assert (
        len(matched) == predicted["films_matched"]
        and len(films) - len(matched) == predicted["films_not_matched"]
    )
    assert all(f[2] and f[3] >= 0.70 and f[4] and f[5] for f in matched)
    assert all(
        f[1] and f[2] and f[3] < 0.70 and (f[4] is None) == (f[1] == "tmdb_no_results")
        for f in films
        if f[0] != "created"
    )
    methods = {f[2]: f[4] for f in matched}
    # Franz Kafka is on page 2 (its year-filtered search finds nothing); Cinema City's "Eternity.
    # Wybieram ciebie" is found by its split-off original title, Kino Krakow's by its own.
    assert methods["Franz Kafka"].endswith("_exact+any_year+page2")
    assert methods["Eternity. Wybieram ciebie" if dag_id == "cinema_city" else "Wybieram ciebie"] == (
        "split_exact" if dag_id == "cinema_city" else "original_exact"
    )
    assert errors == INJECTED_FAULTS[dag_id]
    # The legitimately empty day skipped itself, with its reason, and is not a silent failure.
    assert len(skipped) == 1 and skipped[0][0] and skipped[0][1] is False
    assert len(silent_reasons) == predicted["units_silent"]
    assert all("showtimes = 0" in reason for reason in silent_reasons)


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
