"""Runs drills in order, with progress lines; a drill that crashes is a failed drill, not a crash."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from drills import api_server_kill, burst, scheduler_kill, slack_faults, spool_full, store_down
from drills.context import DrillContext, say_now, store_name
from drills.model import Drill, Outcome
from drills.stack import open_stack
from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.store.migrate import upgrade

#: The fast drills first: they need no Airflow stack, and say within a minute whether the writer and
#: the evaluator keep their promises.
DRILLS: dict[str, Drill] = {
    d.name: d
    for d in (
        slack_faults.DRILL,
        spool_full.DRILL,
        burst.DRILL,
        store_down.DRILL,
        scheduler_kill.DRILL,
        api_server_kill.DRILL,
    )
}


@dataclass
class Ran:
    drill: Drill
    outcome: Outcome
    seconds: float


def run_one(drill: Drill, ctx: DrillContext) -> Ran:
    ctx.say(f"== {drill.name}: {drill.injects}")
    started = time.monotonic()
    try:
        outcome = drill.run(ctx)
    except Exception as exc:  # reported as the drill's failure; the other drills still run
        outcome = Outcome(problems=[f"the drill did not finish: {type(exc).__name__}: {exc}"])
    ran = Ran(drill, outcome, time.monotonic() - started)
    ctx.say(f"   {'OK' if outcome.ok else 'FAILED'} in {ran.seconds:.0f} s: {line(outcome)}")
    for problem in outcome.problems:
        ctx.say(f"   problem: {problem}")
    return ran


def line(outcome: Outcome) -> str:
    alerts = (
        ""
        if outcome.alerts_sent is None
        else f", alerts sent {outcome.alerts_sent}, lost {outcome.alerts_lost}, "
        f"duplicated {outcome.alerts_duplicated}"
    )
    return (
        f"tries {outcome.tries}, stored {outcome.stored if outcome.stored is not None else '-'}, "
        f"rebuilt by the repair {outcome.recovered}, lost {outcome.lost}, duplicated {outcome.duplicated}, "
        f"task failures caused by monitoring {outcome.monitoring_failures}{alerts}"
    )


def run_drills(names: list[str], say: Callable[[str], None] = say_now) -> list[Ran]:
    """The named drills, in DRILLS' order, on one embedded PostgreSQL (the stores of the fast drills)
    and, when one needs it, one private Airflow stack; both are removed at the end."""
    with ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="drills-")))
        server = EmbeddedPostgres(folder / "pg")
        server.start()
        cleanup.callback(server.stop)

        def new_store() -> str:
            name = store_name()
            server.ensure_database(name)
            upgrade(server.dsn(name))
            return server.dsn(name)

        ctx = DrillContext(
            new_store=new_store,
            say=say,
            start_stack=lambda: cleanup.enter_context(open_stack(folder / "stack", say)),
        )
        return [run_one(DRILLS[name], ctx) for name in DRILLS if name in names]
