"""docs/RELIABILITY.md: the command, the revision, the machine, and one row per drill."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.report import git_revision, machine
from drills.runner import Ran


def _cell(value: object) -> str:
    text = "–" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render(command: str, ran: list[Ran], root: Path) -> str:
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    failed = [r.drill.name for r in ran if not r.outcome.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "every drill kept every promise"
    head = [
        "# Reliability drills",
        "",
        f"_Written by `{command}` on {when}, revision {git_revision(root)}; machine: {machine()}._",
        "",
        "Each drill breaks one thing on the real components (embedded PostgreSQL, Airflow's scheduler and",
        "api-server with the site simulator, the real summary writer, the real alert evaluator and Slack",
        "provider against a local Slack receiver) and counts what the user relies on. A row with anything",
        "lost or duplicated, a task failed by the monitor, or another broken promise fails the run (exit 1).",
        "Counted after what the product does after an outage: the spool's replay and the maintenance DAG's",
        "repair, which rebuilds the row of a try whose own summary never came (a try killed mid-run) from",
        "Airflow's record: such rows have no counts or items and the overview shows a warning for them.",
        "The drills are in `include/drills/` (one module each); the fast ones (no Airflow stack) also run in",
        "`make test` (tests/drills/).",
        "",
        f"Result: **{verdict}**.",
        "",
        "| drill | injected | how | when | load at the time | tries run | summaries stored | rebuilt by the "
        "repair | lost | duplicated | task failures caused by monitoring | alerts sent | alerts lost | "
        "alerts duplicated | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for r in ran:
        o = r.outcome
        cells = [
            f"`{r.drill.name}`",
            r.drill.injects,
            r.drill.how,
            o.injected_at,
            o.load,
            o.tries,
            o.stored,
            o.recovered,
            o.lost,
            o.duplicated,
            o.monitoring_failures,
            o.alerts_sent,
            o.alerts_lost,
            o.alerts_duplicated,
            "ok" if o.ok else "**FAILED**",
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    details = ["", "## What the user saw", ""]
    for r in ran:
        killed, unlisted = r.outcome.killed_failures, r.outcome.unlisted
        by_drill = f" {killed} task instances failed because the drill killed their tries." if killed else ""
        if unlisted:
            by_drill += (
                f" {unlisted} stored summaries are of tries Airflow failed before they started and lists "
                "nowhere (its /tries history skips them; reconcile accepts them)."
            )
        details.append(
            f"- **{r.drill.name}** ({r.seconds:.0f} s; counts: {r.drill.counts}): {r.outcome.user_saw}."
            + by_drill
        )
        details += [f"  - problem: {p}" for p in r.outcome.problems]
    return "\n".join(head + rows + details) + "\n"


def write(path: Path, command: str, ran: list[Ran], root: Path) -> None:
    path.write_text(render(command, ran, root))
    print(f"wrote {path}", file=sys.stderr)
