"""A scenario's chain runs on a running stack, judged against what the scenario predicts.

`make e2e` runs both chains on the stack's own simulator (started with the scenario) through the
usual connections. The test suite runs every shipped incident scenario at once on the shared stack:
each on its own simulator, reached through its own set of site connections (the run conf's
``sites``, scraper_airflow.connections), shortened to the days its incident is about
(``Scenario.window_days``). Both trigger, wait, judge and report here, so a verdict means the same.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time

from local_stack.database import with_database
from local_stack.run_report import read_chain, report_lines
from local_stack.verdict import CHAINS, Verdict, judge, observe
from scraper_monitor.airflow.rest import AirflowApi, AirflowHttpError, AirflowUnreachable
from scraper_monitor.recording import SITES_KEY
from scrapers.text import slug
from sitesim.predict import CannotPredict
from sitesim.scenario import Scenario

FINAL_RUN_STATES = {"success", "failed"}
DEMO_CLIENT_ATTEMPTS = 2
DEMO_TASK_TRIES = 3  # retries=2 (chain_dag.default_args)
#: The chain DAGs' own ``days_ahead`` (dags/cinema_city.py, dags/kino_krakow.py): a run without conf.
DAG_DAYS_AHEAD = 7


@dataclass(frozen=True)
class ScenarioRuns:
    """One scenario's chain runs (DAG id -> run id) on a stack, for the simulator's day 0."""

    scenario: Scenario
    day: date
    runs: dict[str, str]
    days_ahead: int = DAG_DAYS_AHEAD
    sites: str = ""  # the set of site connections the runs scrape through ('': the usual ones)


def sites_name(scenario: Scenario) -> str:
    """The name of a scenario's own set of site connections (``cinema_city_api.<name>``, ...)."""
    return slug(scenario.name)[:60] or "scenario"


def add_sites(api: AirflowApi, scenario: Scenario, sim_url: str) -> str:
    """The scenario's set of site connections, pointing at its simulator on ``sim_url``; its name."""
    from local_stack.airflow_setup import site_connections

    sites = sites_name(scenario)
    for spec in site_connections(sim_url, scenario.tmdb_api_key, sites):
        api.put_connection(**spec)
    return sites


def _claim_day(api: AirflowApi, dag_id: str, day: date, conf: dict) -> str:
    """A run with the simulator's day 0 as logical date, triggered before the DAG is unpaused.

    Unpausing a @daily DAG makes the scheduler create today's scheduled run, which would run beside
    the demo's and take the scenario's first-N faults. Claiming the date with the demo run prevents
    that. When that date already ran (a second demo), the run is keyed by the same day at the
    current time of day.

    The day is the simulator's, not the clock's: the simulator fixed its day 0 when it started, and a
    stack started at 23:59 UTC triggers its runs after midnight. A logical date read from the clock
    then would scrape a day the simulator's data does not start on.
    """
    midnight = datetime.combine(day, clock_time(), UTC)
    try:
        return api.trigger(dag_id, midnight.isoformat(), conf)
    except AirflowHttpError as exc:
        if exc.status != 409:
            raise
        return api.trigger(dag_id, datetime.combine(day, datetime.now(UTC).time(), UTC).isoformat(), conf)


def trigger(
    api: AirflowApi,
    scenario: Scenario,
    day: date,
    *,
    sites: str = "",
    days_ahead: int | None = None,
    chains: Iterable[str] = CHAINS,
) -> ScenarioRuns:
    """Trigger the chains on ``scenario`` for ``day``. With ``sites`` the runs carry their own ids
    (``scenario__<sites>__<time>``) and no logical date: several scenarios share the day."""
    conf: dict[str, object] = {}
    if days_ahead is not None:
        conf["days_ahead"] = days_ahead
    runs = {}
    for dag_id in chains:
        if sites:
            run_id = f"scenario__{sites}__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"
            midnight = datetime.combine(day, clock_time(), UTC).isoformat()
            runs[dag_id] = api.trigger_run(dag_id, run_id, midnight, conf | {SITES_KEY: sites})
        else:
            runs[dag_id] = _claim_day(api, dag_id, day, conf)
        api.unpause(dag_id)
    return ScenarioRuns(scenario, day, runs, days_ahead or DAG_DAYS_AHEAD, sites)


def _progress_line(dag_id: str, tis: list[dict]) -> str:
    states = Counter(ti["state"] or "pending" for ti in tis)
    done = sum(states[s] for s in ("success", "failed", "skipped", "upstream_failed"))
    detail = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    return f"  {dag_id}: {done}/{len(tis)} task instances finished ({detail})"


class RunsStillRunning(RuntimeError):
    """Chain runs that had not finished when the wait ran out."""


def wait(
    api: AirflowApi,
    batches: Sequence[ScenarioRuns],
    timeout_s: float = 900,
    say: Callable[[str], None] = print,
    poll_s: float = 5,
) -> dict[tuple[str, str], str]:
    """Wait until every run of ``batches`` has finished, saying how far each got (a line when it
    changes); each run's final state by (DAG id, run id)."""
    pending = {(dag_id, run_id) for b in batches for dag_id, run_id in b.runs.items()}
    finished: dict[tuple[str, str], str] = {}
    said: dict[str, str] = {}
    started = time.monotonic()
    while pending:
        if time.monotonic() - started > timeout_s:
            raise RunsStillRunning(
                f"{len(pending)} chain runs still running after {timeout_s:.0f}s: {sorted(pending)}"
            )
        time.sleep(poll_s)
        for dag_id, run_id in sorted(pending):
            try:
                state = api.dag_run(dag_id, run_id)["state"]
                tis = api.task_instances(dag_id, run_id)
            except (AirflowUnreachable, AirflowHttpError) as exc:
                if isinstance(exc, AirflowHttpError) and exc.status < 500:
                    raise
                # A busy machine (the api-server shares it with the tasks) answers late now and then,
                # and a restarting one not at all: the runs go on without us, so this is a line and
                # another look, not the end.
                say(f"  {dag_id}: {exc}; asking again")
                continue
            if (line := _progress_line(dag_id, tis)) != said.get(dag_id):
                say(line)
                said[dag_id] = line
            if state in FINAL_RUN_STATES:
                pending.discard((dag_id, run_id))
                finished[dag_id, run_id] = state
                say(f"  {dag_id} finished: run {state} ({time.monotonic() - started:.0f} s)")
    return finished


def predict(
    scenario: Scenario, dag_id: str, day: date, days_ahead: int = DAG_DAYS_AHEAD
) -> tuple[dict[str, int] | None, str | None]:
    """The scenario's prediction for the chain, or None and why the predictor cannot make one."""
    try:
        predicted = scenario.predict(
            dag_id,
            days_ahead=days_ahead,
            client_attempts=DEMO_CLIENT_ATTEMPTS,
            task_tries=DEMO_TASK_TRIES,
            anchor_date=day,
        )
    except CannotPredict as exc:
        return None, str(exc)
    return predicted, None


def judge_runs(api: AirflowApi, monitor_dsn: str, batch: ScenarioRuns) -> list[Verdict]:
    """Each finished run against the scenario's prediction (or its invariants, when it has none)."""
    events_dsn = with_database(monitor_dsn, "scraped_events")
    verdicts = []
    for dag_id, run_id in batch.runs.items():
        observed = observe(api.task_instances(dag_id, run_id), monitor_dsn, dag_id, run_id, events_dsn)
        prediction = predict(batch.scenario, dag_id, batch.day, batch.days_ahead)
        verdicts.append(judge(dag_id, observed, *prediction))
    return verdicts


def report(api: AirflowApi, monitor_dsn: str, batch: ScenarioRuns, verdicts: Sequence[Verdict]) -> list[str]:
    """Each verdict's line, then its run's failures by category and incidents, as the chain view tells."""
    lines = []
    for verdict in verdicts:
        lines.append(verdict.line())
        lines += report_lines(read_chain(api, monitor_dsn, verdict.dag_id, batch.runs[verdict.dag_id]))
    return lines
