"""The panels' API under load: concurrent logged-in clients against Airflow's api-server (`make bench`).

The store is the panel section's (``benchmarks.panel_store``: generated once per run, by default
10,000,000 task executions). A private stack of this checkout (``local_stack.private``) serves it: the
api-server (one worker, Airflow's default) with the monitor plugin, behind Airflow's login, and the
scheduler and the monitor's snapshot and alert DAGs running beside it as deployed. Its maintenance DAG
is off (``SCRAPER_MONITOR_MAINTENANCE_SCHEDULE=none``): retention would prune the generated store's
oldest day, and a kept store (``BENCH_PG_DSN``) must be measured as it was generated.
BENCH_LOAD_CLIENTS threads (default 20), each logged in with its own token and HTTP session
(kept-alive connection), request the panel endpoints of ``benchmarks.panels.endpoints`` one after
another, each thread starting at a different endpoint, for BENCH_LOAD_SECONDS (default 60); the CSV
downloads are left out (a 100,000-row download is a bulk transfer, not a panel load). Reported per
endpoint: requests per second, p50/p95/p99 latency and the error rate (any non-200 answer or failed
request).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from benchmarks.panels import Endpoint, endpoints, panel_store, server_facts
from benchmarks.report import Report, median, percentile
from local_stack.database import MONITOR_DSN_ENV
from local_stack.private import PrivateStack, private_stack
from scraper_monitor.settings import MAINTENANCE_SCHEDULE_ENV
from scraper_monitor.store.db import connect

REQUEST_TIMEOUT_S = 30.0
#: The plugin's app, where Airflow's api-server mounts it.
APP_PATH = "/scraper-monitor"


@dataclass
class Load:
    endpoint: Endpoint
    ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def requests(self) -> int:
        return len(self.ms) + self.errors

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def _client(stack: PrivateStack, loads: list[Load], start: int, until: float, lock: threading.Lock) -> None:
    """One client: logged in, its own session, the endpoints in turn from ``start``, until the deadline."""
    base = stack.api_url + APP_PATH
    with stack.api().session as session:
        index = start
        while time.monotonic() < until:
            load = loads[index % len(loads)]
            index += 1
            began = time.perf_counter()
            problem = None
            try:
                response = session.get(base + load.endpoint.request, timeout=REQUEST_TIMEOUT_S)
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                problem = type(exc).__name__
            ms = (time.perf_counter() - began) * 1000
            with lock:
                if problem is None:
                    load.ms.append(ms)
                else:
                    load.errors += 1
                    load.first_error = load.first_error or problem


def drive(
    stack: PrivateStack, targets: list[Endpoint], clients: int, seconds: float
) -> tuple[list[Load], float]:
    """Warm every endpoint once, then ``clients`` threads for ``seconds`` against the stack's
    api-server; the loads and the wall time."""
    with stack.api().session as session:
        for target in targets:
            session.get(stack.api_url + APP_PATH + target.request, timeout=REQUEST_TIMEOUT_S)
    loads = [Load(t) for t in targets]
    lock = threading.Lock()
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(target=_client, args=(stack, loads, n, until, lock), name=f"load-client-{n}")
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The last requests finish after the deadline: the rate is over the time they really took.
    return loads, time.monotonic() - started


def _figures(ms: list[float]) -> str:
    if not ms:
        return "- | - | -"
    return f"{median(ms):.0f} | {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f}"


def render(
    executions: int, server_line: str, clients: int, seconds: float, loads: list[Load], wall: float
) -> str:
    lines = [
        f"Store: the panel section's, {executions:,} task executions; {server_line}. Served by Airflow's "
        "api-server of a private stack (one worker, on loopback; the plugin's app under "
        f"`{APP_PATH}`, a new store connection per request, SLO statuses from the snapshot), behind "
        "Airflow's login; the scheduler, the snapshot and alert DAGs running beside it, maintenance off. "
        f"{clients} concurrent clients (threads, each logged in with its own token and kept-alive "
        "HTTP session) request the panel endpoints in turn, each starting at a different one, for "
        f"{seconds:.0f} s ({wall:.1f} s until the last answer), after one warm-up request per endpoint. "
        "The CSV downloads are left out. Latency is the client's: queueing at the server included.",
        "",
        "| Endpoint | Request | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for load in loads:
        errors = f"{load.error_rate:.1%}" + (f" ({load.first_error})" if load.first_error else "")
        lines.append(
            f"| {load.endpoint.label} | `{load.endpoint.request}` | {load.requests:,} | "
            f"{load.requests / wall:.1f} | {_figures(load.ms)} | {errors} |"
        )
    every = [ms for load in loads for ms in load.ms]
    total = sum(load.requests for load in loads)
    failed = sum(load.errors for load in loads)
    lines.append(
        f"| **all** | | {total:,} | {total / wall:.1f} | {_figures(every)} | "
        f"{failed / total if total else 0:.1%} |"
    )
    return "\n".join(lines)


def stack_for(dsn: str, state_dir: Path) -> AbstractContextManager[PrivateStack]:
    """A private stack whose monitor store is ``dsn`` (migrated to head if it is behind, else untouched),
    its maintenance DAG off."""
    return private_stack(
        state_dir, "demo", extra_env={MONITOR_DSN_ENV: dsn, MAINTENANCE_SCHEDULE_ENV: "none"}
    )


def run(report: Report) -> None:
    clients = int(os.environ.get("BENCH_LOAD_CLIENTS", 20))
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", 60))
    store = panel_store(report)
    with connect(store.dsn) as conn:
        targets = [e for e in endpoints(conn, datetime.now(UTC)) if not e.bulk]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as state:
        print("[panel_load] starting a private Airflow stack on the store", flush=True)
        with stack_for(store.dsn, Path(state)) as stack:
            print(
                f"[panel_load] {clients} clients x {seconds:.0f} s over {len(targets)} endpoints", flush=True
            )
            loads, wall = drive(stack, targets, clients, seconds)
    report.add(
        "Panel API under load",
        render(store.generated.executions, server_facts(store.dsn), clients, seconds, loads, wall),
    )
