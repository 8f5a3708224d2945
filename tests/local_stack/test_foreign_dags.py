"""The monitor on DAGs nobody here wrote, under the real scheduler: Airflow's own example DAGs (branching,
short-circuit, trigger rules, mapping and mapped groups, task groups, setup/teardown, bash, XComs, a
trigger controller) and small DAGs of the kind teams write (tests/data/foreign_dags: Airflow's own
failures, ids beyond ASCII, a mapped task that shrinks on a clear), all recorded by the cluster policy.

Every try Airflow ran has exactly one row (reconcile finds no difference), every panel and API route
answers them, Airflow's own failures get their categories and none is a network error, no foreign task is
flagged silent, no undeclared DAG gets the scrapers' SLO, and a shrunken mapped task shows its current
instances only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import requests

from local_stack.demo import wait_for_dags
from scraper_monitor.airflow.rest import AirflowApi
from tests.fixtures.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"success", "failed"}
SHRINKING = "turn2_łódź"
#: Triggered here; example_trigger_target_dag is triggered by example_trigger_controller_dag.
TRIGGERED = (
    "example_branch_labels",
    "example_complex",
    "example_dynamic_task_mapping",
    "example_task_mapping_second_order",
    "example_task_group_mapping",
    "example_failed_dag",
    "example_nested_branch_dag",
    "example_setup_teardown_taskflow",
    "example_skip_dag",
    "example_task_group",
    "example_xcom",
    "example_bash_operator",
    "example_branch_operator",
    "example_short_circuit_operator",
    "example_trigger_controller_dag",
    "airflow_failures",
    SHRINKING,
)
FOREIGN = (*TRIGGERED, "example_trigger_target_dag")
AIRFLOW_FAILURES = {
    "bash_exit": ("unknown_error", "command_failed"),
    "sensor_times_out": ("unknown_error", "sensor_timeout"),
    "missing_connection": ("validation_error", "missing_config"),
    "missing_variable": ("validation_error", "missing_config"),
    "fails_on_purpose": ("unknown_error", "failed_on_purpose"),
    "consume": ("unknown_error", "upstream_xcom_missing"),
}


def _all_final(api: AirflowApi) -> dict[str, list[str]] | None:
    runs = {dag_id: api.dag_runs(dag_id) for dag_id in FOREIGN}
    if not runs["example_trigger_target_dag"] or any(
        r["state"] not in FINAL for v in runs.values() for r in v
    ):
        return None
    return {dag_id: [r["dag_run_id"] for r in found] for dag_id, found in runs.items()}


@pytest.fixture(scope="module")
def foreign_runs(stack: Stack) -> dict[str, list[str]]:
    api = stack.api()
    wait_for_dags(api, FOREIGN, timeout_s=240)
    for dag_id in FOREIGN:
        api.unpause(dag_id)
    moment = datetime.now(UTC) - timedelta(days=1)
    for i, dag_id in enumerate(TRIGGERED):
        api.trigger(dag_id, (moment + timedelta(minutes=i)).isoformat())
    wait_for(lambda: _all_final(api), 900, "every foreign run to finish")
    # The mapped input shrinks from 3 to 1, and the run is cleared: Airflow removes the extra instances.
    [run_id] = [r["dag_run_id"] for r in api.dag_runs(SHRINKING)]
    api.set_variable("turn2_n", "1")
    api.clear_run(SHRINKING, run_id)
    wait_for(lambda: api.dag_run(SHRINKING, run_id)["state"] in FINAL, 300, "the cleared run to finish")
    return wait_for(lambda: _all_final(api), 300, "every foreign run to finish")


def _rows(stack: Stack, where: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.monitor_dsn) as conn:
        return conn.execute(f"SELECT * FROM ({where}) AS q", params).fetchall()  # noqa: S608


def test_every_try_of_every_foreign_run_has_exactly_one_row(
    stack: Stack, foreign_runs: dict[str, list[str]]
) -> None:
    differences = {}
    for dag_id, run_ids in foreign_runs.items():
        for run_id in run_ids:
            code, report = stack.reconcile(dag_id, run_id)
            if code != 0 or report["count"] or report["pending"] or not report["store_rows"]:
                differences[(dag_id, run_id)] = report
    assert differences == {}


def test_airflows_own_failures_get_their_categories_and_none_is_a_network_error(
    stack: Stack, foreign_runs: dict[str, list[str]]
) -> None:
    filed = _rows(
        stack,
        "SELECT task_id, error_category, error_type FROM task_executions"
        " WHERE dag_id = 'airflow_failures' AND state = 'failed'",
        {},
    )
    assert {task: (category, error_type) for task, category, error_type in filed} == AIRFLOW_FAILURES
    network = _rows(
        stack,
        "SELECT dag_id, task_id, error_message FROM task_executions"
        " WHERE dag_id = ANY(%(dags)s) AND error_category = 'network_error'",
        {"dags": list(FOREIGN)},
    )
    assert network == []
    silent = _rows(
        stack,
        "SELECT dag_id, task_id FROM task_executions WHERE dag_id = ANY(%(dags)s) AND silent",
        {"dags": list(FOREIGN)},
    )
    assert silent == []


@pytest.fixture(scope="module")
def panel(stack: Stack) -> Callable[..., requests.Response]:
    session = requests.Session()
    session.headers["Authorization"] = stack.api().session.headers["Authorization"]

    def get(path: str, **params: Any) -> requests.Response:
        return session.get(f"{stack.api_url}/scraper-monitor/{path}", params=params, timeout=60)

    return get


def test_every_panel_and_api_route_answers_for_the_foreign_runs(
    panel: Callable[..., requests.Response], foreign_runs: dict[str, list[str]]
) -> None:
    paths: list[tuple[str, dict[str, str]]] = [
        (path, {})
        for path in ("", "api/overview", "errors", "api/errors", "silent", "api/silent-failures", "runs")
        + ("api/runs", "trends", "api/trends", "executions", "api/executions", "metrics", "api/export.csv")
        + ("matching", "api/matching")
    ]
    for dag_id, run_ids in foreign_runs.items():
        paths += [("api/executions", {"dag_id": dag_id}), ("executions", {"scraper": dag_id})]
        for run_id in run_ids:
            at = f"{quote(dag_id, safe='')}/{quote(run_id, safe='')}"
            paths += [(f"api/chains/{at}", {}), (f"chain/{at}", {})]
    answers = {(path, tuple(params.items())): panel(path, **params).status_code for path, params in paths}
    assert {key: status for key, status in answers.items() if status != 200} == {}


def test_undeclared_dags_get_no_slo_and_the_overview_says_so(
    panel: Callable[..., requests.Response], foreign_runs: dict[str, list[str]]
) -> None:
    scrapers = {s["scraper"]: s for s in panel("api/overview", hours="168").json()["scrapers"]}
    foreign = {name: s for name, s in scrapers.items() if name in FOREIGN}
    assert foreign and all(s["slo"] is None for s in foreign.values())
    assert 'data-testid="no-slo"' in panel("", hours="168").text


def test_a_mapped_task_that_shrank_on_a_clear_shows_its_current_instances_only(
    panel: Callable[..., requests.Response], foreign_runs: dict[str, list[str]]
) -> None:
    [run_id] = foreign_runs[SHRINKING]
    chain = panel(f"api/chains/{quote(SHRINKING, safe='')}/{quote(run_id, safe='')}").json()
    labels = [n["label"] for stage in chain["stages"] for n in stage["nodes"]]
    assert chain["source"] == "airflow"
    assert sorted(labels) == ["lista_zadań", "zadanie_ż[0]"]
    assert chain["summary"]["removed"] == 2 and chain["summary"]["text"] == "2/2 succeeded (100%)"
