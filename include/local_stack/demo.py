"""`make demo` / `make e2e`: start the stack, run both chains on a scenario, show progress, judge."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from local_stack import processes, scenario_runs
from local_stack.airflow_setup import slack_destination
from local_stack.paths import Paths
from local_stack.scenario_runs import ScenarioRuns
from local_stack.settings import api_url
from local_stack.verdict import CHAINS
from scraper_monitor.airflow.rest import AirflowApi
from sitesim.scenario import Scenario, load


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


def run_chains(api: AirflowApi, scenario: Scenario, day: date, timeout_s: float = 900) -> ScenarioRuns:
    """Both chains on the stack's own simulator (serving ``scenario``) for its day 0, ``day``,
    run to the end."""
    batch = scenario_runs.trigger(api, scenario, day)
    for dag_id, run_id in batch.runs.items():
        print(f"triggered {dag_id} run {run_id}", flush=True)
    scenario_runs.wait(api, [batch], timeout_s, say=lambda line: print(line, flush=True))
    return batch


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
    batch = run_chains(api, scenario, day)
    runs = batch.runs
    elapsed = time.monotonic() - started
    verdicts = scenario_runs.judge_runs(api, env["SCRAPER_MONITOR_DSN"], batch)

    url = api_url()
    print(f"\nboth chains finished in {elapsed:.0f}s")
    print("\n".join(scenario_runs.report(api, env["SCRAPER_MONITOR_DSN"], batch, verdicts)))
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
