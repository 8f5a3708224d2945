"""The scheduler is killed with SIGKILL in the middle of both chains, and restarted.

On LocalExecutor the scheduler's process group holds the task processes it runs: they die with it, as
on a machine that loses power. Airflow fails those tries once their heartbeat is missing (30 s here)
and retries them; every try it ran, killed ones included, must have exactly one row, and no task may
fail beyond what the scenario fails by design.
"""

from __future__ import annotations

import time

from drills.context import DrillContext
from drills.model import Drill, Outcome
from drills.stack import DrillStack

DOWN_S = 5


def _kill_scheduler(stack: DrillStack) -> str:
    stack.kill("scheduler")
    time.sleep(DOWN_S)
    stack.restart("scheduler")
    return f"scheduler SIGKILLed with its task processes, restarted {DOWN_S} s later"


def run(ctx: DrillContext) -> Outcome:
    stack = ctx.stack()
    chains = stack.run_chains(_kill_scheduler, after_finished=15, say=ctx.say)
    outcome = stack.count(chains)
    outcome.user_saw = (
        f"{chains.fault}; runs ended {', '.join(f'{d} {s}' for d, s in chains.states.items())} in "
        f"{chains.seconds:.0f} s"
    )
    return outcome


DRILL = Drill(
    name="scheduler_kill",
    injects="the scheduler (and the task processes it runs), in the middle of both chains",
    how="SIGKILL to its process group; started again 5 s later",
    counts="tries Airflow ran vs rows (reconcile); failed tasks beyond the scenario's",
    needs_stack=True,
    run=run,
)
