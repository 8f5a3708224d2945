"""The chains on CeleryExecutor: a real Redis broker and two Celery workers that share nothing but the
network and the databases (local_stack.workers), and the drill of a worker that dies for good.

The first test runs a chain and checks what a fleet must keep true: the work spreads over both
workers, every try has exactly one summary, and each summary names the worker Airflow says ran it.
The drill then kills a worker with SIGKILL in the middle of a chain while the store is unreachable for
it, and deletes its spool (a machine that never comes back): Airflow runs the lost try again on the
other worker, the run finishes, and ``reconcile --repair`` writes a recovered summary for every try
whose own summary was lost, once.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import dict_row

from local_stack import processes, workers
from local_stack.paths import Paths
from local_stack.private import free_port
from local_stack.scenario_runs import add_sites
from scraper_monitor.reconcile import try_label
from scraper_monitor.recording import SITES_KEY
from sitesim import SiteSimulator
from sitesim.faults import FaultRule
from sitesim.scenario import load
from tests.airflow_env import ROOT
from tests.fixtures.stack import HEARTBEAT_TIMEOUT_S, Stack, wait_for

pytestmark = pytest.mark.e2e

DAG_ID = "cinema_city"
CINEMA_DAY = "cinema_day.cinema_dates"
WORKER_1, WORKER_2 = workers.WORKERS
FINAL = {"success", "failed"}
#: Three days instead of seven: still two dozen task instances to spread and a chain to kill a worker
#: in the middle of, at less than half the suite's time.
CONF = {"days_ahead": 3}


#: How long the drill's simulator takes to answer each Cinema City programme request.
SLOW_S = 2.0


def _run_chain(stack: Stack, day: datetime, conf: dict | None = None) -> str:
    api = stack.api()
    run_id = api.trigger(DAG_ID, day.isoformat(), conf=CONF | (conf or {}))
    api.unpause(DAG_ID)
    return run_id


@pytest.fixture
def slow_programmes(celery_stack: Stack) -> Iterator[str]:
    """The demo scenario on a simulator of its own whose programme answers take ``SLOW_S`` each (under
    the client's timeout), reached through a set of site connections; its name, for a run's conf. A
    cinema-day task then spends nearly all its time waiting for its one request, so one seen running
    on a worker is still running when the worker is killed an instant later: with answers in
    milliseconds, it could finish in between and leave the drill no lost try to check."""
    demo = load("demo")
    slow = FaultRule(
        name="slow programmes", site="cinema_city", kind="delay", path="*/film-events/*", seconds=SLOW_S
    )
    scenario = dataclasses.replace(demo, name="slow-programmes", faults=(*demo.faults, slow))
    with SiteSimulator(scenario, anchor_date=celery_stack.simulator_day()) as simulator:
        yield add_sites(celery_stack.api(), scenario, simulator.base_url)


def _wait_finished(stack: Stack, run_id: str, timeout_s: float) -> dict:
    api = stack.api()
    return wait_for(
        lambda: (run := api.dag_run(DAG_ID, run_id))["state"] in FINAL and run,
        timeout_s,
        f"{DAG_ID} run {run_id} to finish",
    )


def _rows(stack: Stack, run_id: str) -> list[dict]:
    with psycopg.connect(stack.monitor_dsn, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT task_id, map_index, try_number, state, hostname, recovered, error_type, city"
            " FROM task_executions WHERE dag_id = %s AND run_id = %s",
            (DAG_ID, run_id),
        ).fetchall()


@pytest.fixture(scope="module")
def clean_run(celery_stack: Stack) -> str:
    day = datetime.combine(celery_stack.simulator_day(), datetime.min.time(), UTC)
    run_id = _run_chain(celery_stack, day)
    _wait_finished(celery_stack, run_id, timeout_s=600)
    return run_id


def test_a_chain_spreads_over_both_workers_with_one_summary_per_try(celery_stack: Stack, clean_run) -> None:
    tis = celery_stack.api().task_instances(DAG_ID, clean_run)
    per_worker = Counter(ti["hostname"] for ti in tis if ti.get("hostname"))
    assert set(per_worker) == {WORKER_1.address, WORKER_2.address}, per_worker

    # Every try that ran has its row, and no row is for a try Airflow does not know.
    code, report = celery_stack.reconcile(DAG_ID, clean_run)
    assert (code, report["count"], report["pending"]) == (0, 0, []), report["differences"]
    rows = _rows(celery_stack, clean_run)
    # Each summary names the worker that ran its try, as Airflow recorded it.
    host_of = {(ti["task_id"], ti["map_index"], ti["try_number"]): ti["hostname"] for ti in tis}
    for row in rows:
        key = (row["task_id"], row["map_index"], row["try_number"])
        if key in host_of:
            assert row["hostname"] == host_of[key], row
    assert not any(row["recovered"] for row in rows)


def _label(entry: dict) -> str:
    """A try of a store row, a spool entry or a difference, as reconcile names it."""
    return try_label(entry["task_id"], entry["map_index"], entry["try_number"])


def _worker_2_paths(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(stack.state_dir))
    return Paths(ROOT)


def test_a_worker_lost_for_good_mid_chain_loses_no_summary_after_repair(
    celery_stack: Stack, clean_run, slow_programmes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _worker_2_paths(celery_stack, monkeypatch)
    api = celery_stack.api()
    # Worker 2 comes back unable to reach the store (a closed port): its summaries go to its spool.
    processes.stop(paths, WORKER_2.process(), say=lambda _: None)
    (paths.logs / f"{WORKER_2.process()}.log").unlink()
    unreachable = f"host=127.0.0.1 port={free_port()} dbname=scraper_monitor user=x connect_timeout=2"
    processes.start_worker(paths, WORKER_2, celery_stack.env | {"SCRAPER_MONITOR_DSN": unreachable})
    wait_for(lambda: workers.ready(paths, WORKER_2), 90, "worker 2 to restart")

    run_id = _run_chain(celery_stack, datetime.now(UTC).replace(microsecond=0), {SITES_KEY: slow_programmes})
    spool = WORKER_2.spool(paths)

    def spooled_of_the_run() -> set[str]:
        # The monitor's own DAGs run on the workers too; only this run's summaries are the drill's.
        entries = map(json.loads, spool.read_text().splitlines()) if spool.exists() else []
        return {_label(e) for e in entries if (e["dag_id"], e["run_id"]) == (DAG_ID, run_id)}

    def mid_chain() -> bool:
        # A cinema-day running there: one waiting for its slow programme, not one about to end.
        tis = api.task_instances(DAG_ID, run_id)
        running_there = [
            t
            for t in tis
            if t["hostname"] == WORKER_2.address and t["state"] == "running" and t["task_id"] == CINEMA_DAY
        ]
        return bool(running_there) and bool(spooled_of_the_run())

    wait_for(mid_chain, 300, "worker 2 to spool a summary and run another task")
    lost = [t for t in api.task_instances(DAG_ID, run_id) if t["hostname"] == WORKER_2.address]
    processes.kill(paths, WORKER_2.process())
    processes.kill(paths, WORKER_2.log_server())
    spooled = spooled_of_the_run()
    shutil.rmtree(spool.parent)
    assert spooled

    run = _wait_finished(celery_stack, run_id, timeout_s=int(HEARTBEAT_TIMEOUT_S) * 4 + 600)
    assert run["state"] in FINAL
    tis = api.task_instances(DAG_ID, run_id)
    # A try that was running on worker 2 when it died ran again on worker 1 (one listed as running
    # may have finished in the instant before the kill: those are not counted).
    final = {(t["task_id"], t["map_index"]): t for t in tis}
    killed = [
        t
        for t in lost
        if t["state"] == "running" and final[(t["task_id"], t["map_index"])]["try_number"] > t["try_number"]
    ]
    assert killed
    for t in killed:
        assert final[(t["task_id"], t["map_index"])]["hostname"] == WORKER_1.address

    # What is missing is exactly what died with worker 2's spool. The killed try is not missing:
    # Airflow runs the failure callback of a try whose heartbeat stopped in the dag-processor.
    code, before = celery_stack.reconcile(DAG_ID, run_id)
    assert code == 1 and {d["kind"] for d in before["differences"]} == {"missing_row"}, before
    assert {_label(d) for d in before["differences"]} == spooled

    code, repaired = celery_stack.reconcile(DAG_ID, run_id, "--repair")
    assert (code, repaired["count"]) == (0, 0), repaired["differences"]
    assert set(repaired["recovered"]) == spooled
    code, again_report = celery_stack.reconcile(DAG_ID, run_id, "--repair")
    assert (code, again_report["count"], again_report["recovered"]) == (0, 0, [])

    rows = {(r["task_id"], r["map_index"], r["try_number"]): r for r in _rows(celery_stack, run_id)}
    recovered = [r for r in rows.values() if r["recovered"]]
    assert {_label(r) for r in recovered} == spooled
    assert {r["hostname"] for r in recovered} == {WORKER_2.address}
    for t in killed:
        row = rows[(t["task_id"], t["map_index"], t["try_number"])]
        assert row["state"] == "retrying" and row["error_type"] == "task_killed", row


def test_the_maintenance_dag_repairs_the_runs_of_the_last_hours(celery_stack: Stack, clean_run) -> None:
    """The hourly repair, through the ``airflow_api`` connection, without anyone running the CLI."""
    lost = ("sync", -1, 1)
    with psycopg.connect(celery_stack.monitor_dsn) as conn:
        deleted = conn.execute(
            "DELETE FROM task_executions WHERE dag_id = %s AND run_id = %s"
            " AND (task_id, map_index, try_number) = (%s, %s, %s)",
            (DAG_ID, clean_run, *lost),
        ).rowcount
    assert deleted == 1
    assert celery_stack.reconcile(DAG_ID, clean_run)[1]["count"] == 1

    api = celery_stack.api()
    maintenance = "scraper_monitor_maintenance"
    run_id = api.trigger(maintenance, datetime.now(UTC).isoformat(), conf={"repair_hours": 2})
    api.unpause(maintenance)
    wait_for(lambda: api.dag_run(maintenance, run_id)["state"] in FINAL, 300, "the maintenance run")
    assert api.dag_run(maintenance, run_id)["state"] == "success"

    code, report = celery_stack.reconcile(DAG_ID, clean_run)
    assert (code, report["count"]) == (0, 0), report["differences"]
    [row] = [
        r for r in _rows(celery_stack, clean_run) if (r["task_id"], r["map_index"], r["try_number"]) == lost
    ]
    assert row["recovered"] and row["state"] == "success"
    # The repaired row has its run's city too (the DAG's default city_name, over the REST API).
    assert row["city"] == "krakow"
