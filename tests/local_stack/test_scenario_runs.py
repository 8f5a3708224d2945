"""Every shipped incident scenario run end to end by the real scheduler on the shared stack, each
chain run judged against the scenario's prediction.

Each scenario is served by its own simulator (in this process, over HTTP on loopback) that the runs
reach through its own set of site connections (run conf ``sites``), shortened to the days its
incident is about; all the runs are in flight at once. `make e2e SCENARIO=incidents/<name>` takes
the same path (local_stack.scenario_runs) over the whole week, on the stack's own simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from local_stack.scenario_runs import ScenarioRuns, add_sites, judge_runs, report, trigger, wait
from local_stack.verdict import CHAINS, Verdict
from sitesim import SiteSimulator
from sitesim.scenario import incidents, load
from tests.fixtures.stack import Stack

pytestmark = pytest.mark.e2e

INCIDENTS = [name.removeprefix("incidents/") for name in incidents()]


@pytest.fixture(scope="module")
def incident_runs(stack: Stack) -> Iterator[dict[str, tuple[ScenarioRuns, SiteSimulator, list[Verdict]]]]:
    api = stack.api()
    day = stack.simulator_day()
    with ExitStack() as simulators:
        batches = []
        for name in incidents():
            scenario = load(name)
            simulator = simulators.enter_context(SiteSimulator(scenario, anchor_date=day))
            sites = add_sites(api, scenario, simulator.base_url)
            batches.append(
                (trigger(api, scenario, day, sites=sites, days_ahead=scenario.window_days()), simulator)
            )
        wait(api, [batch for batch, _ in batches], timeout_s=600, say=lambda line: None, poll_s=2)
        yield {
            batch.scenario.name: (batch, simulator, judge_runs(api, stack.monitor_dsn, batch))
            for batch, simulator in batches
        }


@pytest.mark.parametrize("name", INCIDENTS)
def test_each_incident_runs_on_the_real_stack_as_it_predicts(stack: Stack, incident_runs, name: str) -> None:
    batch, simulator, verdicts = incident_runs[name]
    assert [v.dag_id for v in verdicts] == list(CHAINS)
    for verdict in verdicts:
        assert verdict.unpredicted is None and verdict.ok, verdict.line()
    # The runs scraped the scenario's own simulator (its set of connections), not the stack's.
    assert {record.site for record in simulator.request_log} >= {"cinema_city", "kino_krakow"}
    lines = report(stack.api(), stack.monitor_dsn, batch, verdicts)
    assert [line for line in lines if line.startswith(("OK ", "FAIL "))] == [
        v.line().split("\n")[0] for v in verdicts
    ]


def test_the_report_names_each_incident_as_the_chain_view_does(stack: Stack, incident_runs) -> None:
    def lines(name: str) -> str:
        batch, _, verdicts = incident_runs[name]
        return "\n".join(report(stack.api(), stack.monitor_dsn, batch, verdicts))

    assert "sync returned 0 cinemas: nothing downstream ran" in lines("coordinator-empty")
    csrf = lines("csrf-gone")
    assert "kino_krakow: sync FAILED" in csrf and "failures by category: data_quality_error 1" in csrf
    assert "network_error" in lines("tmdb-outage")
