"""The monitor store goes away for 60 s in the middle of both chains, then comes back.

In the local stack the store is one database of the PostgreSQL server that also holds Airflow's
metadata, so stopping the server would stop Airflow too: the drill makes the store's database refuse
every connection (``ALLOW_CONNECTIONS false``) and ends the sessions open on it, which is what a task's
writer and the panels meet when the store's server is down. Afterwards the spool is replayed as the
maintenance DAG's first task does, and every try Airflow ran must have exactly one row.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from drills.context import DrillContext
from drills.model import Drill, Outcome
from drills.stack import DrillStack
from local_stack.database import with_database
from scraper_monitor.store import spool

OUTAGE_S = 60


def _allow_connections(stack: DrillStack, allow: bool) -> int:
    """Open or close the store's database; when closing, end its open sessions (returns how many)."""
    name = conninfo_to_dict(stack.monitor_dsn)["dbname"]
    with psycopg.connect(with_database(stack.monitor_dsn, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.Literal(allow)
            )
        )
        if allow:
            return 0
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    return int(ended[0]) if ended else 0


def _outage(stack: DrillStack) -> str:
    ended = _allow_connections(stack, False)
    try:
        time.sleep(OUTAGE_S)
    finally:
        _allow_connections(stack, True)
    return (
        f"the store refused every connection for {OUTAGE_S} s ({ended} open sessions ended), "
        "then took them again"
    )


def run(ctx: DrillContext) -> Outcome:
    stack = ctx.stack()
    chains = stack.run_chains(_outage, after_finished=10, say=ctx.say)
    spooled = spool.pending(stack.spool)
    report = spool.replay(stack.monitor_dsn, stack.spool)
    ctx.say(f"  spool replayed: {report}")
    outcome = stack.count(chains)
    if spool.pending(stack.spool):
        outcome.problems.append("summaries still in the spool after the replay")
    outcome.user_saw = (
        f"{chains.fault}; runs ended {', '.join(f'{d} {s}' for d, s in chains.states.items())} in "
        f"{chains.seconds:.0f} s; "
        + (
            f"{report.replayed} summaries left in the spool after the runs were stored by the replay"
            if spooled
            else "the tasks' own later writes had already drained the spool"
        )
    )
    return outcome


DRILL = Drill(
    name="store_down",
    injects="the monitor store, for 60 s, in the middle of both chains",
    how="ALTER DATABASE ... ALLOW_CONNECTIONS false and its sessions ended; then allowed again",
    counts="tries Airflow ran vs rows (reconcile), after the spool's replay",
    needs_stack=True,
    run=run,
)
