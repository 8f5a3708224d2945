"""The fast reliability drills (no Airflow stack), as `make drills` runs them: the same code path, on the
session's embedded PostgreSQL, the real writer, evaluator and Slack provider over HTTP."""

from __future__ import annotations

import pytest

from drills import burst, slack_faults, spool_full
from drills.context import DrillContext
from drills.model import Drill, Outcome
from drills.report import render
from drills.runner import DRILLS, Ran, run_one
from local_stack.pgserver import EmbeddedPostgres
from tests.fixtures.monitor_store import new_store


@pytest.fixture
def ctx(pg_server: EmbeddedPostgres) -> DrillContext:
    return DrillContext(new_store=lambda: new_store(pg_server), say=lambda line: None)


def test_slack_down_500_and_slow_every_alert_arrives_once_after_recovery(ctx: DrillContext) -> None:
    outcome = slack_faults.DRILL.run(ctx)
    assert outcome.ok, outcome
    assert outcome.monitoring_failures == 0 and outcome.tries == 7  # no evaluation failed
    assert (outcome.alerts_sent, outcome.alerts_lost, outcome.alerts_duplicated) == (4, 0, 0)


def test_a_full_spool_never_fails_the_task_and_every_loss_is_logged_in_full(ctx: DrillContext) -> None:
    outcome = spool_full.DRILL.run(ctx)
    assert outcome.ok, outcome
    assert (outcome.tries, outcome.stored, outcome.lost) == (15, 10, 0)
    assert "5 ERROR lines" in outcome.user_saw


def test_a_burst_of_eight_chains_stores_every_summary_without_long_lock_waits(ctx: DrillContext) -> None:
    outcome = burst.DRILL.run(ctx)
    assert outcome.ok, outcome
    assert outcome.tries == outcome.stored == 612 and outcome.lost == outcome.duplicated == 0


def test_a_drill_that_crashes_is_a_failed_drill_and_the_report_says_so(ctx: DrillContext, tmp_path) -> None:
    def crash(_: DrillContext) -> Outcome:
        raise ConnectionError("the store is gone")

    drill = Drill("crash", "nothing", "a drill that raises", "nothing", needs_stack=False, run=crash)
    ran = run_one(drill, ctx)
    assert not ran.outcome.ok
    assert ran.outcome.problems == ["the drill did not finish: ConnectionError: the store is gone"]
    page = render(
        "python -m drills crash", [ran, Ran(DRILLS["burst"], Outcome(tries=3, stored=3), 1.0)], tmp_path
    )
    assert "Result: **FAILED: crash**" in page
    assert "| `crash` |" in page and "**FAILED** |" in page and "| ok |" in page


def test_a_stack_drill_without_a_stack_says_to_run_make_drills(ctx: DrillContext) -> None:
    with pytest.raises(RuntimeError, match="make drills"):
        ctx.stack()
