"""A burst: eight chains' worth of tasks finish within one second and all write their summaries at once.

Four Cinema City and four Kino Krakow runs of the demo's shape (69 and 84 task instances, the showtime
batches with their showtime items, a film item per movie_details), 612 summaries with about 8,000
items, released evenly over one second to 64 writer processes (a worker's task processes), each write
a new ``SummaryWriter`` with its own connection, as each task process makes. Processes, not threads:
64 threads of one interpreter queue for its lock between every step of the connection handshake,
which under a busy machine (CI, with the Airflow stack starting beside it) ran past the 2 s connect
timeout: a wait no task process ever has. A watcher polls ``pg_locks`` every 20 ms for the longest
wait on a lock. Promises: no lock wait over 1 s, every summary stored (none spooled), none raised.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from drills.context import DrillContext
from drills.model import Drill, Outcome
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reports import executions
from scraper_monitor.state import SUCCESS
from scraper_monitor.store import spool
from scraper_monitor.store.db import connect
from scraper_monitor.store.writer import SummaryWriter
from scrapers.outcome import ItemOutcome

CHAINS = 8
WRITERS = 64
RELEASE_S = 1.0
MAX_LOCK_WAIT_S = 1.0
#: The demo chains' shape (docs/BENCHMARKS.md, chains): units, films, showtimes per run.
SHAPES = {
    "cinema_city": ("cinema_day.cinema_dates", "cinema_day.showtimes", 21, 24, 875),
    "kino_krakow": ("day.day_pages", "day.showtimes", 7, 67, 1023),
}


def _summary(
    dag_id: str, run_id: str, task_id: str, map_index: int, items: list[ItemOutcome]
) -> ExecutionSummary:
    now = datetime.now(UTC)
    return ExecutionSummary(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=1,
        state=SUCCESS,
        scraper=dag_id,
        logical_date=now.replace(hour=0, minute=0, second=0, microsecond=0),
        started_at=now - timedelta(seconds=2),
        ended_at=now,
        duration_ms=2000,
        counts={"showtimes": len(items)} if items else {},
        city="krakow",
        items=items,
    )


def chain_summaries(dag_id: str, run_id: str) -> list[ExecutionSummary]:
    """Every task instance's summary of one run of the chain's demo shape."""
    unit_task, batch_task, units, films, showtimes = SHAPES[dag_id]
    per_batch = [showtimes // units + (1 if i < showtimes % units else 0) for i in range(units)]
    out = [_summary(dag_id, run_id, task, -1, []) for task in ("sync", "plan_films", "collect_matches")]
    out += [_summary(dag_id, run_id, unit_task, i, []) for i in range(units)]
    out += [
        _summary(
            dag_id,
            run_id,
            batch_task,
            i,
            [
                ItemOutcome("showtime", f"{dag_id}-{i}-{n}", "created", reason="version:subtitled 2D")
                for n in range(count)
            ],
        )
        for i, count in enumerate(per_batch)
    ]
    out += [
        _summary(dag_id, run_id, "movie_details", i, [ItemOutcome("film", f"film-{i}", "created")])
        for i in range(films)
    ]
    return out


def _longest_lock_wait(dsn: str, stop: threading.Event, longest: list[float]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT coalesce(extract(epoch FROM max(now() - waitstart)), 0) FROM pg_locks "
                "WHERE NOT granted AND waitstart IS NOT NULL"
            ).fetchone()
            longest[0] = max(longest[0], float(row[0]) if row else 0.0)
            time.sleep(0.02)


def _writer(
    dsn: str,
    spool_path: str,
    work: list[tuple[float, ExecutionSummary]],
    ready: Any,
    go: Any,
    t0: Any,
    out: Any,
) -> None:
    """One writer process: its share of the summaries, each at its release time after ``t0``."""
    ready.put(None)
    go.wait()
    results = []
    for offset, summary in work:
        time.sleep(max(0.0, t0.value + offset - time.monotonic()))
        started = time.monotonic()
        try:
            result = SummaryWriter(dsn, spool_path).write(summary)
        except Exception as exc:
            result = f"raised {type(exc).__name__}"
        results.append((result, time.monotonic() - started))
    out.put(results)


def _write_all(dsn: str, spool_path: Path, summaries: list[ExecutionSummary]) -> tuple[list, float]:
    """Every summary written by ``WRITERS`` processes, released evenly over ``RELEASE_S``; the results
    with their latencies, and the seconds from the first release to the last write."""
    # forkserver: the writers fork from a clean process (this one has threads: forking it could copy
    # a held lock), and a fork is milliseconds where a spawned interpreter is half a second of CPU.
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload([__name__])
    ready, out, go, t0 = mp.Queue(), mp.Queue(), mp.Event(), mp.Value("d", 0.0)
    shares = [
        [(RELEASE_S * i / len(summaries), s) for i, s in enumerate(summaries) if i % WRITERS == w]
        for w in range(WRITERS)
    ]
    procs = [
        mp.Process(target=_writer, args=(dsn, str(spool_path), share, ready, go, t0, out), daemon=True)
        for share in shares
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    t0.value = time.monotonic() + 0.2  # CLOCK_MONOTONIC: one clock for every process of the machine
    go.set()
    results = [r for _ in procs for r in out.get(timeout=300)]
    elapsed = time.monotonic() - t0.value
    for proc in procs:
        proc.join(10)
    return results, elapsed


def run(ctx: DrillContext) -> Outcome:
    dsn = ctx.new_store()
    runs = [(("cinema_city", "kino_krakow")[c % 2], f"drill__burst__{c}") for c in range(CHAINS)]
    summaries = [s for dag_id, run_id in runs for s in chain_summaries(dag_id, run_id)]
    items = sum(len(s.items) for s in summaries)
    longest = [0.0]
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="drill-burst-") as folder:
        spool_path = Path(folder) / "summaries.jsonl"
        watcher = threading.Thread(target=_longest_lock_wait, args=(dsn, stop, longest), daemon=True)
        watcher.start()
        written, elapsed = _write_all(dsn, spool_path, summaries)
        stop.set()
        watcher.join(5)
        spooled = spool.pending(spool_path)
    results = [result for result, _ in written]
    latencies = [latency for _, latency in written]
    with connect(dsn) as conn:
        stored = sum(len(executions.of_run(conn, dag_id, run_id)) for dag_id, run_id in runs)
    latencies.sort()
    outcome = Outcome(
        injected_at="all at once: released evenly over 1 s",
        load=f"{len(summaries)} summaries ({items} items) of {CHAINS} chain runs, {WRITERS} writer processes",
        user_saw=(
            f"all written {elapsed:.1f} s after the first; "
            f"write p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms; longest lock wait {longest[0] * 1000:.0f} ms"
        ),
        tries=len(summaries),
        stored=stored,
        lost=len(summaries) - stored,
        monitoring_failures=sum(1 for r in results if r.startswith("raised")),
    )
    if longest[0] > MAX_LOCK_WAIT_S:
        outcome.problems.append(f"a write waited {longest[0]:.1f} s on a lock (over {MAX_LOCK_WAIT_S:g} s)")
    if spooled or set(results) != {"stored"}:
        outcome.problems.append(f"not every summary went straight to the store: {sorted(set(results))}")
    return outcome


DRILL = Drill(
    name="burst",
    injects="612 task summaries (8 chains' worth) finishing within one second",
    how=f"{WRITERS} writer processes, a new connection per summary, on the real store",
    counts="summaries stored vs written; longest lock wait (pg_locks); writes spooled or raised",
    needs_stack=False,
    run=run,
)
