"""HTML page load of every panel in headless Chromium (a ``make bench`` section).

The store is the panel section's (``benchmarks.panels.panel_store``: generated once per run, by
default 10,000,000 task executions; BENCH_PANEL_EXECUTIONS, BENCH_PANEL_ITEMS, BENCH_PANEL_DAYS and
BENCH_PANEL_SCRAPERS size it). The real web app is served over HTTP on loopback by uvicorn, under
``/scraper-monitor`` as inside Airflow, and Debian's Chromium opens each panel as a user would. The
figure is the browser's own navigation timing, from the start of the navigation to the end of the load
event: the server's work, the HTML, the stylesheet, the script and the SVG charts. Each page is opened
once to warm, then BENCH_PAGE_REPEATS times (default 10), round-robin; p50 and p95 are held to seed
000's "< 2 second page load".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.panels import allow_everyone, panel_store, sample, server_facts
from benchmarks.report import Report, median, percentile
from local_stack.browser import chromium, serve
from scraper_monitor.store.db import connect
from scraper_monitor.web import create_app

TARGET_MS = 2000.0
PREFIX = "/scraper-monitor"
WARMUP = 1

# Milliseconds from the navigation's start to the end of its load event, and to the HTML's last byte.
_NAVIGATION_TIMING = """() => {
    const n = performance.getEntriesByType('navigation')[0];
    return [(n.loadEventEnd || performance.now()) - n.startTime, n.responseEnd - n.startTime];
}"""


@dataclass(frozen=True)
class Panel:
    label: str
    path: str  # relative to the app's root


@dataclass
class PageTiming:
    panel: Panel
    load_ms: list[float] = field(default_factory=list)
    html_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def p50(self) -> float:
        return median(self.load_ms)

    @property
    def p95(self) -> float:
        return percentile(self.load_ms, 95)


def panels(conn: Any, now: datetime) -> list[Panel]:
    """Every HTML panel, filled with a real scraper, run and failed try of the store."""
    found = sample(conn, now)
    return [
        Panel("overview (24 h)", ""),
        Panel("overview (7 days)", "?hours=168"),
        Panel("executions", "executions"),
        Panel("executions, one scraper", f"executions?scraper={found.scraper}"),
        Panel("execution detail", f"executions/{found.execution_id}"),
        Panel("errors (7 days)", "errors"),
        Panel("silent failures (24 h)", "silent"),
        Panel("runs", "runs"),
        Panel("chain of one run", f"chain/{found.run_path}"),
        Panel("trends 30 days", "trends?days=30"),
        Panel("trends 90 days", "trends?days=90"),
    ]


def _load(page: Any, url: str) -> tuple[float, float]:
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        status = response.status if response is not None else "no response"
        raise RuntimeError(f"HTTP {status}")
    load_ms, html_ms = page.evaluate(_NAVIGATION_TIMING)
    return float(load_ms), float(html_ms)


def measure(base_url: str, targets: list[Panel], repeats: int) -> list[PageTiming]:
    """Warm each page, then ``repeats`` rounds of one load per page, in one browser tab."""
    timings = [PageTiming(p) for p in targets]
    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-"))
    try:
        with chromium(profile) as browser:
            page = browser.new_page()
            for round_number in range(WARMUP + repeats):
                for timing in timings:
                    if timing.error is not None:
                        continue
                    try:
                        load_ms, html_ms = _load(page, f"{base_url}/{timing.panel.path}")
                    except Exception as exc:  # a page that fails is reported in the table, not fatal
                        timing.error = f"{type(exc).__name__}: {exc}"[:120]
                        continue
                    if round_number >= WARMUP:
                        timing.load_ms.append(load_ms)
                        timing.html_ms.append(html_ms)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return timings


def render(executions: int, server: str, repeats: int, timings: list[PageTiming]) -> str:
    lines = [
        f"Store: the panel section's, {executions:,} task executions; {server}. The real web app over HTTP "
        f"(uvicorn on loopback, under `{PREFIX}` as inside Airflow, a new store connection per request, "
        "SLO statuses from the snapshot), opened by headless Chromium (Debian's, driven by Playwright) in "
        "one tab, without Airflow's login. Load = the browser's navigation timing from the start of the "
        "navigation to the end of the load event (server, HTML, stylesheet, script, charts); HTML = to the "
        f"last byte of the page. {WARMUP} warm-up load per page, then {repeats} round"
        f"{'s' if repeats != 1 else ''} of one load per page, round-robin.",
        "",
        "| Panel | Page | load p50 ms | load p95 ms | HTML p50 ms | p95 < 2 s |",
        "|---|---|---:|---:|---:|---|",
    ]
    for t in timings:
        page = f"`{PREFIX}/{t.panel.path}`"
        if t.error or not t.load_ms:
            lines.append(f"| {t.panel.label} | {page} | - | - | - | no: {t.error or 'not measured'} |")
            continue
        verdict = "yes" if t.p95 < TARGET_MS else "**no**"
        lines.append(
            f"| {t.panel.label} | {page} | {t.p50:.0f} | {t.p95:.0f} | {median(t.html_ms):.0f} | {verdict} |"
        )
    missed = [t.panel.label for t in timings if t.error or not t.load_ms or t.p95 >= TARGET_MS]
    verdict = "met by every panel" if not missed else f"**missed** by {', '.join(missed)}"
    lines += [
        "",
        f"**Target.** Page load p95 < {TARGET_MS / 1000:.0f} s (seed 000): {verdict} "
        f"({len(timings) - len(missed)} of {len(timings)}).",
    ]
    return "\n".join(lines)


def run(report: Report) -> None:
    repeats = int(os.environ.get("BENCH_PAGE_REPEATS", 10))
    store = panel_store(report)
    dsn = store.dsn
    with connect(dsn) as conn:
        targets = panels(conn, datetime.now(UTC))
    with serve(create_app(lambda: dsn, allow_everyone), PREFIX) as base_url:
        print(f"[page_load] loading {len(targets)} panels x {repeats} in Chromium", flush=True)
        timings = measure(base_url, targets, repeats)
    report.add(
        "Panel page load in a browser",
        render(store.generated.executions, server_facts(dsn), repeats, timings),
    )
