"""The private Airflow stack the stack drills share (started once per `make drills`), how a drill
breaks one of its parts, and how both chains are run under a fault and counted afterwards.

The counts come from comparing Airflow's tries (REST API, as `scraper-monitor reconcile` reads them)
with the store's rows, after what the product does after an outage (the spool's replay, the repair of
`reconcile --repair` / the maintenance DAG): lost = a try Airflow ran without a row, recovered = a row
the repair rebuilt from Airflow's record (the task's own summary never came: no counts, no items; the
overview warns of each), duplicated = more than one row for one try. Task failures caused by
monitoring = failed task instances beyond what the scenario predicts (the demo scenario fails some
units by design; the simulator is reset before each drill's runs so they meet its faults afresh), less
those the drill itself killed out of retries.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from drills.model import Outcome
from local_stack import processes, scenario_runs
from local_stack.paths import Paths, project_root
from local_stack.private import PrivateStack, private_stack
from local_stack.scenario_runs import DEMO_CLIENT_ATTEMPTS, DEMO_TASK_TRIES
from local_stack.verdict import observe
from scraper_monitor.airflow.reconciliation import reconcile_run
from scraper_monitor.airflow.rest import AirflowApi, AirflowError, AirflowUnreachable
from scraper_monitor.airflow.task_instances import rest_tries
from scraper_monitor.reconcile import compare, latest_tries
from scraper_monitor.recording import FAILED_FROM_OUTSIDE
from scraper_monitor.reports import executions
from scraper_monitor.settings import MAINTENANCE_SCHEDULE_ENV
from scraper_monitor.store.db import connect
from scraper_monitor.store.rows import Execution
from sitesim.predict import CannotPredict
from sitesim.scenario import load

SCENARIO = "demo"
#: Once a year: the maintenance DAG's repair must not fill the gaps a drill counts before it counts them.
NEVER = "0 0 1 1 *"
#: Seconds without a heartbeat before the scheduler fails a try whose process vanished (default 300):
#: a try killed with the scheduler is failed and retried within a minute instead of five.
HEARTBEAT_TIMEOUT_S = "30"
FINISHED = {"success", "failed", "skipped", "upstream_failed"}
FAILURE_KEYS = ("sync_failed", "units_failed", "films_failed")
CHAINS_TIMEOUT_S = 900
API_TIMEOUT_S = 120.0
LOGIN_ATTEMPTS = 5

#: A fault: breaks something, waits, repairs it; returns what it did, in words.
Fault = Callable[["DrillStack"], str]


@dataclass
class ChainRuns:
    """Both chains run once under one fault."""

    runs: dict[str, str]
    states: dict[str, str]  # how each run ended
    injected_at: str
    load: str
    fault: str
    seconds: float


class DrillStack:
    def __init__(self, running: PrivateStack) -> None:
        self.running = running
        self.paths = Paths(project_root())

    @property
    def monitor_dsn(self) -> str:
        return self.running.monitor_dsn

    @property
    def spool(self) -> Path:
        return Path(self.running.env["SCRAPER_MONITOR_SPOOL"])

    def api(self) -> AirflowApi:
        """A logged-in client that waits longer than the CLI's: a loaded machine's api-server may take
        more than 30 s to answer, and a login that times out is tried again."""
        login = self.running.login

        def client() -> AirflowApi:
            return AirflowApi(
                login["username"], login["password"], base_url=self.running.api_url, timeout_s=API_TIMEOUT_S
            )

        for _ in range(LOGIN_ATTEMPTS - 1):
            try:
                return client()
            except AirflowUnreachable:
                time.sleep(5)
        return client()

    def kill(self, component: str) -> None:
        """SIGKILL an Airflow component and its children (tasks the scheduler's executor runs)."""
        processes.kill(self.paths, component)

    def restart(self, component: str) -> None:
        argv = [str(self.paths.venv_bin / "airflow"), *processes.airflow_components()[component]]
        processes.start(self.paths, component, argv, self.running.env)

    def wait_healthy(self, say: Callable[[str], None]) -> None:
        processes.wait_healthy(self.paths, say=say)

    def run_chains(self, fault: Fault, after_finished: int, say: Callable[[str], None]) -> ChainRuns:
        """Trigger both chains, inject ``fault`` once ``after_finished`` of their task instances have
        finished, and wait until both runs end. The wait rides out an api-server that is down."""
        api = self.api()
        day = self.running.simulator_day()
        # Each drill's runs meet the scenario's faults afresh, so the prediction they are judged by holds.
        sim = f"http://127.0.0.1:{self.running.env['SITESIM_PORT']}"
        requests.post(f"{sim}/_sitesim/reset", timeout=10).raise_for_status()
        batch = scenario_runs.trigger(api, load(SCENARIO), day)
        runs = batch.runs
        say(f"  triggered {', '.join(f'{d} {r}' for d, r in runs.items())}")
        started = time.monotonic()
        injected: dict[str, str] = {}

        def inject() -> None:
            watcher = self.api()
            while time.monotonic() - started < CHAINS_TIMEOUT_S:
                states = _states(watcher, runs)
                done = sum(n for s, n in states.items() if s in FINISHED)
                if done >= after_finished:
                    running = states.get("running", 0) + states.get("queued", 0)
                    injected["at"] = (
                        f"{time.monotonic() - started:.0f} s into the runs, {done} of "
                        f"{sum(states.values())} task instances finished"
                    )
                    injected["load"] = f"{running} task instances running or queued"
                    say(f"  injecting at {injected['at']} ({injected['load']})")
                    try:
                        injected["fault"] = fault(self)
                    except BaseException as exc:  # handed to the drill's thread below
                        injected["error"] = f"{type(exc).__name__}: {exc}"
                        return
                    say(f"  {injected['fault']}")
                    return
                time.sleep(0.5)

        injector = threading.Thread(target=inject, name="drill-fault", daemon=True)
        injector.start()
        finished = scenario_runs.wait(api, [batch], CHAINS_TIMEOUT_S, say)
        states = {dag_id: state for (dag_id, _), state in finished.items()}
        injector.join(180)
        if "error" in injected:
            raise RuntimeError(f"the fault could not be injected or repaired: {injected['error']}")
        if "fault" not in injected:
            raise RuntimeError("the chains ended before the fault was injected: the drill tested nothing")
        return ChainRuns(
            runs, states, injected["at"], injected["load"], injected["fault"], time.monotonic() - started
        )

    def count(self, chain_runs: ChainRuns) -> Outcome:
        """Airflow's tries against the store's rows, and failures beyond the scenario's prediction."""
        api = self.api()
        scenario = load(SCENARIO)
        day = self.running.simulator_day()
        outcome = Outcome(injected_at=chain_runs.injected_at, load=chain_runs.load)
        with connect(self.monitor_dsn) as conn:
            for dag_id, run_id in chain_runs.runs.items():
                tries = rest_tries(api, dag_id, run_id)
                before = executions.of_run(conn, dag_id, run_id)
                # A try the drill killed either failed from outside or was never heard of (no callback
                # runs when Airflow resets an orphaned try): a task whose retries it used up is the
                # drill's failure, not the monitor's.
                killed = {(r.task_id, r.map_index) for r in before if r.error_message == FAILED_FROM_OUTSIDE}
                killed |= {
                    (d.task_id, d.map_index) for d in compare(tries, before) if d.kind == "missing_row"
                }
                # The maintenance DAG's repair, as it runs after every outage: a try whose own summary
                # never came gets a row rebuilt from Airflow's record. Lost is what is missing after it.
                reconciled = reconcile_run(api, conn, dag_id, run_id, repair=True)
                rows = executions.of_run(conn, dag_id, run_id)
                per_try = Counter((r.task_id, r.map_index, r.try_number) for r in rows)
                listed = latest_tries(tries)
                outcome.tries += sum(1 for t in listed.values() if t.ran)
                # Tries Airflow failed before they started and keeps no history of (reconcile accepts
                # their rows): tries all the same, which only the monitor recorded.
                outcome.unlisted += sum(1 for key in per_try if key not in listed)
                outcome.stored += sum(1 for r in rows if not r.recovered)
                outcome.recovered += sum(1 for r in rows if r.recovered)
                outcome.lost += sum(1 for d in reconciled.differences if d.kind == "missing_row")
                outcome.duplicated += sum(n - 1 for n in per_try.values() if n > 1)
                by_key = {(r.task_id, r.map_index, r.try_number): r for r in rows}
                known = listed.values()
                outcome.problems += [
                    f"{dag_id}: {d.text}{_row_detail(by_key.get((d.task_id, d.map_index, d.try_number)))}; "
                    "Airflow's tries: "
                    + ", ".join(
                        f"{t.try_number} {t.state}"
                        for t in known
                        if (t.task_id, t.map_index) == (d.task_id, d.map_index)
                    )
                    for d in reconciled.differences
                    if d.kind != "missing_row"
                ]
                task_instances = api.task_instances(dag_id, run_id)
                observed = observe(task_instances, self.monitor_dsn, dag_id, run_id)
                failed_killed = sum(
                    1
                    for ti in task_instances
                    if ti["state"] == "failed" and (ti["task_id"], ti["map_index"]) in killed
                )
                outcome.killed_failures += failed_killed
                try:
                    predicted = scenario.predict(
                        dag_id,
                        days_ahead=7,
                        client_attempts=DEMO_CLIENT_ATTEMPTS,
                        task_tries=DEMO_TASK_TRIES,
                        anchor_date=day,
                    )
                except CannotPredict as exc:
                    outcome.problems.append(f"{dag_id}: no prediction to judge failures by ({exc})")
                    continue
                excess = sum(max(0, observed[k] - predicted.get(k, 0)) for k in FAILURE_KEYS)
                outcome.monitoring_failures += max(0, excess - failed_killed)
        return outcome


def _row_detail(row: Execution | None) -> str:
    """What the store row of a difference says, so the report shows why it disagrees."""
    if row is None:
        return ""
    ran = f"{row.started_at:%H:%M:%S}-{row.ended_at:%H:%M:%S}" if row.started_at and row.ended_at else "?"
    return f" (ran {ran} on {row.hostname or '?'}: {row.error_type or ''} {(row.error_message or '')[:160]})"


def _states(api: AirflowApi, runs: dict[str, str]) -> Counter[str]:
    states: Counter[str] = Counter()
    for dag_id, run_id in runs.items():
        try:
            states.update(ti["state"] or "none" for ti in api.task_instances(dag_id, run_id))
        except AirflowError:
            pass  # the api-server is down (a drill): asked again on the next poll
    return states


@contextmanager
def open_stack(state_dir: Path, say: Callable[[str], None]) -> Iterator[DrillStack]:
    """A private stack on the demo scenario, its own state folder and ports. While it runs, this
    process's environment points `local_stack.processes` at it (its pid files, its api-server port),
    so a drill can kill and restart its components as `make stop` / `make demo` would."""
    extra = {
        MAINTENANCE_SCHEDULE_ENV: NEVER,
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT_S,
    }
    say(f"starting a private stack in {state_dir} (embedded PostgreSQL, Airflow, the simulator) ...")
    with private_stack(state_dir, SCENARIO, extra) as running:
        saved = {k: os.environ.get(k) for k in ("SCRAPER_STACK_DIR", "AIRFLOW_PORT")}
        os.environ["SCRAPER_STACK_DIR"] = str(state_dir)
        os.environ["AIRFLOW_PORT"] = running.env["AIRFLOW_PORT"]
        try:
            say(f"  stack up at {running.api_url}")
            yield DrillStack(running)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def panel_paths(api: AirflowApi) -> list[str]:
    """Every GET route of the monitor's API without a path parameter: what the panels read."""
    spec: dict[str, Any] = api.session.get(f"{api.base_url}/scraper-monitor/openapi.json", timeout=30).json()
    paths = [path for path, ops in spec.get("paths", {}).items() if "get" in ops and "{" not in path]
    return sorted(p if p.startswith("/scraper-monitor") else f"/scraper-monitor{p}" for p in paths)
