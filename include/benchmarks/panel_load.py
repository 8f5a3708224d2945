"""The panels' API under load: concurrent clients against one server process (a ``make bench`` section).

The store is the panel section's (``benchmarks.panels.panel_store``: generated once per run, by
default 10,000,000 task executions). The real web app runs in its own process, one uvicorn worker
on loopback, so the clients' threads do not share its interpreter; Airflow's api-server and its
login are not in front of it (not measured). BENCH_LOAD_CLIENTS threads (default 20), each with its
own HTTP session (kept-alive connection), request the panel endpoints of
``benchmarks.panels.endpoints`` one after another, each thread starting at a different endpoint, for
BENCH_LOAD_SECONDS (default 60); the CSV downloads are left out (a 100,000-row download is a bulk
transfer, not a panel load). Reported per endpoint: requests per second, p50/p95/p99 latency and the
error rate (any non-200 answer or failed request).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from fastapi import FastAPI

from benchmarks.panels import Endpoint, allow_everyone, endpoints, panel_store, server_facts
from benchmarks.report import Report, median, percentile
from local_stack.private import free_port
from scraper_monitor.store.db import connect
from scraper_monitor.web import create_app

DSN_ENV = "BENCH_LOAD_DSN"  # how the server process learns the store's DSN
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0


def app_from_env() -> FastAPI:
    """The server process's app (``uvicorn --factory``): the real web app on the benchmark's store."""
    dsn = os.environ[DSN_ENV]
    return create_app(lambda: dsn, allow_everyone)


@contextmanager
def server(dsn: str) -> Iterator[str]:
    """uvicorn serving ``app_from_env`` in a child process on loopback; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", "--factory", "benchmarks.panel_load:app_from_env"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env={**os.environ, DSN_ENV: dsn},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the benchmark's web server exited with {process.returncode}")
            try:
                requests.get(f"{base}/api/overview", timeout=REQUEST_TIMEOUT_S)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the benchmark's web server did not answer on port {port}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def _client(base: str, loads: list[Load], start: int, until: float, lock: threading.Lock) -> None:
    """One client: its own session, the endpoints in turn from ``start``, until the deadline."""
    with requests.Session() as session:
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


def drive(base: str, targets: list[Endpoint], clients: int, seconds: float) -> tuple[list[Load], float]:
    """Warm every endpoint once, then ``clients`` threads for ``seconds``; the loads and the wall time."""
    with requests.Session() as session:
        for target in targets:
            session.get(base + target.request, timeout=REQUEST_TIMEOUT_S)
    loads = [Load(t) for t in targets]
    lock = threading.Lock()
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(target=_client, args=(base, loads, n, until, lock), name=f"load-client-{n}")
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
        f"Store: the panel section's, {executions:,} task executions; {server_line}. The real web app in its "
        "own process (uvicorn, one worker, on loopback; a new store connection per request, SLO statuses "
        f"from the snapshot), without Airflow's login. {clients} concurrent clients (threads, one kept-alive "
        f"HTTP session each) request the panel endpoints in turn, each starting at a different one, for "
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


def run(report: Report) -> None:
    clients = int(os.environ.get("BENCH_LOAD_CLIENTS", 20))
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", 60))
    store = panel_store(report)
    with connect(store.dsn) as conn:
        targets = [e for e in endpoints(conn, datetime.now(UTC)) if not e.bulk]
    with server(store.dsn) as base:
        print(f"[panel_load] {clients} clients x {seconds:.0f} s over {len(targets)} endpoints", flush=True)
        loads, wall = drive(base, targets, clients, seconds)
    report.add(
        "Panel API under load",
        render(store.generated.executions, server_facts(store.dsn), clients, seconds, loads, wall),
    )
