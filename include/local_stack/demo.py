"""`make demo` / `make e2e`: start the stack, run both chains on a scenario, show progress, judge."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import quote

from local_stack import processes
from local_stack.airflow_setup import slack_destination
from local_stack.database import with_database
from local_stack.paths import Paths
from local_stack.run_report import read_chain, report_lines
from local_stack.settings import api_url
from local_stack.verdict import CHAINS, Verdict, judge, observe
from scraper_monitor.airflow.rest import AirflowApi, AirflowHttpError, AirflowUnreachable
from sitesim.predict import CannotPredict
from sitesim.scenario import Scenario, load

FINAL_RUN_STATES = {"success", "failed"}
DEMO_CLIENT_ATTEMPTS = 2
DEMO_TASK_TRIES = 3  # retries=2 (chain_dag.default_args)


def _progress_line(dag_id: str, tis: list[dict]) -> str:
    states = Counter(ti["state"] or "pending" for ti in tis)
    done = sum(states[s] for s in ("success", "failed", "skipped", "upstream_failed"))
    detail = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    return f"  {dag_id}: {done}/{len(tis)} task instances finished ({detail})"


def wait_for_dags(api: AirflowApi, dag_ids: Iterable[str] = CHAINS, timeout_s: float = 180) -> None:
    """Wait until the dag-processor has parsed ``dag_ids``; a DAG file that fails to load ends the wait
    at once, naming the file and its error."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(api.dag_exists(d) for d in dag_ids):
            return
        if errors := api.import_errors():
            raise SystemExit(
                "DAG files failed to load:\n" + "\n".join(f"  {f}: {e}" for f, e in errors.items())
            )
        print("  waiting for the dag-processor to parse the DAGs ...", flush=True)
        time.sleep(3)
    raise SystemExit(
        "the DAGs were not parsed in time; see .local/logs/dag-processor.log and import errors in the UI"
    )


def trigger_for(api: AirflowApi, dag_id: str, day: date) -> str:
    """Trigger the chain for the simulator's day 0 as logical date, before unpausing it.

    Unpausing a @daily DAG makes the scheduler create today's scheduled run, which would run first
    (max_active_runs=1) and take the scenario's first-N faults. Claiming the date with the demo run
    prevents that. When that date already ran (a second demo), the run is keyed by the same day at the
    current time of day.

    The day is the simulator's, not the clock's: the simulator fixed its day 0 when it started, and a
    stack started at 23:59 UTC triggers its runs after midnight. A logical date read from the clock
    then would scrape a day the simulator's data does not start on.
    """
    midnight = datetime.combine(day, clock_time(), UTC)
    try:
        return api.trigger(dag_id, midnight.isoformat())
    except AirflowHttpError as exc:
        if exc.status != 409:
            raise
        return api.trigger(dag_id, datetime.combine(day, datetime.now(UTC).time(), UTC).isoformat())


def run_chains(api: AirflowApi, day: date, timeout_s: float = 900, poll_s: float = 5) -> dict[str, str]:
    """Run both chains for logical date ``day`` (the simulator's day 0) and wait for them to finish."""
    runs = {}
    for dag_id in CHAINS:
        runs[dag_id] = trigger_for(api, dag_id, day)
        api.unpause(dag_id)
        print(f"triggered {dag_id} run {runs[dag_id]}", flush=True)
    deadline = time.monotonic() + timeout_s
    finished: set[str] = set()
    while len(finished) < len(runs):
        if time.monotonic() > deadline:
            raise SystemExit(f"chains still running after {timeout_s:.0f}s")
        time.sleep(poll_s)
        for dag_id, run_id in runs.items():
            if dag_id in finished:
                continue
            try:
                state = api.dag_run(dag_id, run_id)["state"]
                tis = api.task_instances(dag_id, run_id)
            except AirflowUnreachable as exc:
                # A busy machine (the api-server shares it with the tasks) answers late now and then:
                # the runs go on without us, so a late answer is a line and another look, not the end.
                print(f"  {dag_id}: {exc}; asking again", flush=True)
                continue
            print(_progress_line(dag_id, tis), flush=True)
            if state in FINAL_RUN_STATES:
                finished.add(dag_id)
                print(f"  {dag_id} finished: run {state}", flush=True)
    return runs


def worker_split(api: AirflowApi, runs: dict[str, str]) -> Counter[str]:
    """How many task instances of the runs each worker host ran (the hostname Airflow recorded)."""
    return Counter(
        ti["hostname"]
        for dag_id, run_id in runs.items()
        for ti in api.task_instances(dag_id, run_id)
        if ti.get("hostname")
    )


def start_stack(paths: Paths, env: dict[str, str], scenario_name: str) -> AirflowApi:
    """Start the simulator and Airflow; return an API client once the chain DAGs are parsed."""
    login = json.loads(paths.login_file.read_text())
    print(
        f"starting the site simulator (scenario {scenario_name}), a Slack receiver and Airflow ...",
        flush=True,
    )
    processes.start_simulator(paths, env, scenario_name, datetime.now(UTC).date().isoformat())
    processes.start_slack_receiver(paths, env)
    processes.wait_simulator()
    processes.wait_slack_receiver()
    processes.start_airflow(paths, env)
    processes.wait_healthy(paths)
    api = AirflowApi(login["username"], login["password"], base_url=api_url())
    wait_for_dags(api)
    return api


def predict(scenario: Scenario, dag_id: str, day: date) -> tuple[dict[str, int] | None, str | None]:
    """The scenario's prediction for the chain, or None and why the predictor cannot make one."""
    try:
        predicted = scenario.predict(
            dag_id,
            days_ahead=7,
            client_attempts=DEMO_CLIENT_ATTEMPTS,
            task_tries=DEMO_TASK_TRIES,
            anchor_date=day,
        )
    except CannotPredict as exc:
        return None, str(exc)
    return predicted, None


def seed_discovery(api: AirflowApi, monitor_dsn: str, path: Path | None = None) -> list[str]:
    """City discovery's cities (include/discovery.yaml) into the stack's store, checked against the
    chain DAGs' params; a second seed adds nothing and keeps what was edited on the panel."""
    from scraper_monitor import settings
    from scraper_monitor.airflow.discovery import seed_file
    from scraper_monitor.store.db import connect

    with connect(monitor_dsn) as conn:
        return seed_file(api, conn, path or settings.discovery_file(), "make demo")


def demo(paths: Paths, env: dict[str, str], scenario_name: str, *, serve: bool) -> int:
    scenario = load(scenario_name)
    login = json.loads(paths.login_file.read_text())
    api = start_stack(paths, env, scenario_name)
    day = processes.simulator_day()
    started = time.monotonic()
    runs = run_chains(api, day)
    elapsed = time.monotonic() - started

    verdicts: list[Verdict] = []
    for dag_id, run_id in runs.items():
        monitor_dsn = env["SCRAPER_MONITOR_DSN"]
        events_dsn = with_database(monitor_dsn, "scraped_events")
        observed = observe(api.task_instances(dag_id, run_id), monitor_dsn, dag_id, run_id, events_dsn)
        verdicts.append(judge(dag_id, observed, *predict(scenario, dag_id, day)))

    url = api_url()
    print(f"\nboth chains finished in {elapsed:.0f}s")
    for verdict in verdicts:
        print(verdict.line())
        chain = read_chain(api, env["SCRAPER_MONITOR_DSN"], verdict.dag_id, runs[verdict.dag_id])
        print("\n".join(report_lines(chain)))
    added = seed_discovery(api, env["SCRAPER_MONITOR_DSN"])
    cities = sorted({name.split("/")[0] for name in added})
    print(
        f"city discovery: {len(cities)} cities seeded ({', '.join(cities) or 'all there already'}); "
        "the city_discovery DAG queues them daily at 00:00 UTC, `scraper-monitor discovery trigger` now"
    )
    split = worker_split(api, runs)
    print("task instances per worker host: " + ", ".join(f"{host} {n}" for host, n in sorted(split.items())))
    print(f"\nAirflow UI:      {url}  (login {login['username']} / {login['password']})")
    print(f"Scraper monitor: {url}/plugin/scraper-monitor")
    print(f"City discovery:  {url}/scraper-monitor/discovery")
    for dag_id, run_id in runs.items():
        print(f"Chain of {dag_id}: {url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/plugin/chain")
    print(f"Slack messages:  {slack_destination(paths)}")
    ok = all(v.ok for v in verdicts)
    if serve:
        print("\nserving; press Ctrl-C to stop (or run `make stop` from another terminal)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print()
    return 0 if ok else 1
