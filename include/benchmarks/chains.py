"""Both chains on the demo scenario under the real stack, on LocalExecutor and on CeleryExecutor (two
workers), in one run: task instances per run, items processed, wall time, queued-to-started latency,
tries per worker, and Airflow's own per-task overhead."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.report import Report, median, percentile
from local_stack.demo import run_chains
from local_stack.private import private_stack
from local_stack.workers import CELERY, LOCAL, WORKER_CONCURRENCY
from sitesim.scenario import load

# Tasks whose own code is trivial (in-memory reshaping of XCom): their whole life from being queued
# to finishing is what Airflow itself costs per task instance.
NO_OP_TASKS = ("plan_films", "collect_matches")


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _seconds(later: str | None, earlier: str | None) -> float | None:
    a, b = _at(later), _at(earlier)
    return (a - b).total_seconds() if a and b else None


def _items(dsn: str, dag_id: str, run_id: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT i.entity_type, count(*) FROM item_outcomes i "
            "JOIN task_executions e ON e.id = i.execution_id "
            "WHERE e.dag_id = %s AND e.run_id = %s GROUP BY 1",
            (dag_id, run_id),
        ).fetchall()
    return dict(rows)


@dataclass
class ExecutorRun:
    """Both chains on one executor: what the section reports for it."""

    executor: str
    chain_lines: list[str] = field(default_factory=list)
    both_s: float = 0.0
    queue_waits: list[float] = field(default_factory=list)
    no_op_lives: list[float] = field(default_factory=list)
    per_worker: Counter[str] = field(default_factory=Counter)


def _measure(executor: str) -> ExecutorRun:
    measured = ExecutorRun(executor)
    with (
        tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp,
        private_stack(Path(tmp), "demo", executor=executor) as stack,
    ):
        api = stack.api()
        runs = run_chains(api, load("demo"), stack.simulator_day(), timeout_s=900).runs
        earliest, latest = None, None
        for dag_id, run_id in runs.items():
            dag_run: dict[str, Any] = api.dag_run(dag_id, run_id)
            tis = api.task_instances(dag_id, run_id)
            wall = _seconds(dag_run["end_date"], dag_run["start_date"]) or 0.0
            items = _items(stack.monitor_dsn, dag_id, run_id)
            measured.chain_lines.append(
                f"| {executor} | {dag_id} | {len(tis)} | {items.get('film', 0)} | "
                f"{items.get('showtime', 0)} | {dag_run['state']} | {wall:.0f} |"
            )
            earliest = min(filter(None, [earliest, _at(dag_run["start_date"])]))
            latest = max(filter(None, [latest, _at(dag_run["end_date"])]))
            for ti in tis:
                if ti["try_number"] < 1:
                    continue
                measured.per_worker[ti.get("hostname") or "?"] += 1
                if (wait := _seconds(ti["start_date"], ti.get("queued_when"))) is not None:
                    measured.queue_waits.append(wait)
                if ti["task_id"] in NO_OP_TASKS and (life := _seconds(ti["end_date"], ti.get("queued_when"))):
                    measured.no_op_lives.append(life)
    measured.both_s = (latest - earliest).total_seconds() if earliest and latest else 0.0
    return measured


_HEADER = (
    "| executor | both chains, first start to last end, s | queued to started p50 ms | p95 ms"
    " | no-op task life p50 ms | tries per worker host |"
)


def _executor_line(m: ExecutorRun) -> str:
    workers = ", ".join(f"{host}: {n}" for host, n in sorted(m.per_worker.items()))
    return (
        f"| {m.executor} | **{m.both_s:.0f}** | {median(m.queue_waits) * 1000:.0f} | "
        f"{percentile(m.queue_waits, 95) * 1000:.0f} | {median(m.no_op_lives) * 1000:.0f} | {workers} |"
    )


def run(report: Report) -> None:
    local, celery = _measure(LOCAL), _measure(CELERY)
    overhead_ms = median(local.no_op_lives) * 1000
    write_ms = report.figures.get("write_median_ms")
    ratio = f"{write_ms / overhead_ms:.2%}" if write_ms else "n/a (run the write section first)"
    report.add(
        "Scraper chains on the local stack (LocalExecutor and CeleryExecutor)",
        f"""
Both chains triggered together on the `demo` scenario (`make bench`, section `benchmarks.chains`), once on
the stack `make demo` starts (embedded PostgreSQL, api-server, scheduler, dag-processor, triggerer;
LocalExecutor, `[core] parallelism` 8) and once on `make demo EXECUTOR=celery` (the same plus a Redis
broker and two Celery workers of {WORKER_CONCURRENCY} slots, each its own process tree, folder and
address), one after the other in the same run. Items are the item outcomes recorded in the monitor (one
per film matched or not, one per showtime stored or skipped).

| executor | chain | task instances | films | showtimes | run state | wall time s |
|---|---|---|---|---|---|---|
{chr(10).join(local.chain_lines + celery.chain_lines)}

{_HEADER}
|---|---|---|---|---|---|
{_executor_line(local)}
{_executor_line(celery)}

Target: both chains under 5 minutes. The runs end `failed` by design: the scenario makes one unit per
chain exhaust its retries. A no-op task ({", ".join(NO_OP_TASKS)}) is one whose own code is trivial: its
life from queued to finished is what Airflow itself costs per task instance.

Recording one execution in the monitor (median, section above) is **{ratio}** of LocalExecutor's
per-task overhead.
""",
    )
