"""``scraper-monitor jobs list|failures|stats|worker``: executions (one row per try) and their stats.

scraper-monitor jobs list --scraper cinema_city --state failed --hours 24
scraper-monitor jobs failures --category network_error
scraper-monitor jobs stats --hours 168
scraper-monitor jobs worker cinema_day.cinema_dates --scraper cinema_city

"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import (
    CANCELLED,
    add_city_option,
    add_filter_options,
    add_hours_option,
    add_output_options,
    add_scraper_option,
    check_names,
    check_range,
    city_option,
    execution_filter,
    open_store,
)
from scraper_monitor.cli.table import (
    colour_enabled,
    duration,
    percent,
    preview,
    print_json,
    render,
    state_painter,
    task_label,
    timestamp,
)
from scraper_monitor.reports import executions, items, overview
from scraper_monitor.reports.base import MAX_HOURS, MAX_LIMIT, success_rate
from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING, SKIPPED, STATES, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.rows import Execution, ScraperStats

# Reads may scan a 90-day window: allow more than the task path's 2 s, but never hang a terminal.
READ_STATEMENT_TIMEOUT_MS = 30_000

_EXECUTION_HEADERS = ("STARTED (UTC)", "SCRAPER", "TASK", "TRY", "STATE", "DURATION", "CATEGORY", "NOTE")
_FAILURE_HEADERS = ("STARTED (UTC)", "SCRAPER", "TASK", "TRY", "STATE", "CATEGORY", "ERROR TYPE", "MESSAGE")
_STATS_HEADERS = (
    "SCRAPER",
    "TOTAL",
    "SUCCESS",
    "FAILED",
    "RETRYING",
    "SKIPPED",
    "UPSTREAM_FAILED",
    "SILENT",
    "SUCCESS RATE",
    "AVG",
    "P95",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    jobs = subparsers.add_parser("jobs", help="executions (one row per try) and their stats")
    actions = jobs.add_subparsers(dest="jobs_action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="recent executions, newest first")
    add_filter_options(listing, limit=50)
    listing.set_defaults(func=_list)

    failures = actions.add_parser("failures", help="failed and retrying tries with their errors")
    add_filter_options(failures, limit=20, states=sorted(ERROR_STATES))
    failures.set_defaults(func=_failures)

    stats = actions.add_parser("stats", help="success rate, retries, silent failures, durations per scraper")
    add_scraper_option(stats)
    add_city_option(stats)
    stats.add_argument("--task", help="only this task id (e.g. cinema_day.cinema_dates)")
    add_hours_option(stats, default=24)
    add_output_options(stats)
    stats.set_defaults(func=_stats)

    worker = actions.add_parser("worker", help="one task id: its stats and recent executions")
    worker.add_argument("task", metavar="TASK_ID", help="e.g. cinema_day.cinema_dates or movie_details")
    add_filter_options(worker, limit=20, hours=24, task=False)
    worker.set_defaults(func=_worker)


def execution_json(execution: Execution) -> dict[str, Any]:
    return dataclasses.asdict(execution)


def executions_table(rows: Sequence[Execution]) -> str:
    return render(
        _EXECUTION_HEADERS,
        [
            (
                timestamp(e.started_at),
                e.scraper,
                task_label(e.task_id, e.map_index),
                str(e.try_number),
                e.state,
                duration(e.duration_ms),
                e.error_category or "",
                _note(e),
            )
            for e in rows
        ],
        right=("TRY", "DURATION"),
        styles={"STATE": state_painter(colour_enabled())},
    )


def stats_table(rows: Sequence[ScraperStats]) -> str:
    return render(
        _STATS_HEADERS,
        [
            (
                s.scraper,
                str(s.total),
                str(s.success),
                str(s.failed),
                str(s.retrying),
                str(s.skipped),
                str(s.upstream_failed),
                str(s.silent),
                percent(s.success_rate),
                duration(s.avg_duration_ms),
                duration(s.p95_duration_ms),
            )
            for s in rows
        ],
        right=_STATS_HEADERS[1:],
    )


def _note(e: Execution) -> str:
    if e.silent:
        return f"silent: {preview(e.silent_reason, 60)}"
    if e.skip_reason:
        return f"skipped: {preview(e.skip_reason, 60)}"
    return preview(e.error_message, 60)


# --- the commands ----------------------------------------------------------------------------


def _summary(rows: Sequence[Execution]) -> dict[str, Any]:
    """Counts of the shown rows, with the store's definitions (rate over final tries only)."""
    states = Counter(e.state for e in rows)
    ran = [e.duration_ms for e in rows if e.state != UPSTREAM_FAILED and e.duration_ms is not None]
    return {
        **{state: states[state] for state in STATES},
        "silent": sum(1 for e in rows if e.silent),
        "success_rate": success_rate(states[SUCCESS], states[FAILED]),
        "avg_duration_ms": sum(ran) / len(ran) if ran else None,
    }


def _summary_line(count: int, summary: dict[str, Any]) -> str:
    return (
        f"{count} shown: {summary[SUCCESS]} success, {summary[FAILED]} failed, {summary[RETRYING]} retrying, "
        f"{summary[SKIPPED]} skipped, {summary[UPSTREAM_FAILED]} upstream_failed, "
        f"{summary['silent']} silent; "
        f"success rate {percent(summary['success_rate'])} (final tries); "
        f"avg duration {duration(summary['avg_duration_ms'])}"
    )


CANCELLED_EXPLAINED = (
    "nothing is cancelled here: a task skips what it cannot use and says so per item; "
    "these are the items left out on purpose (showtimes skipped as expected, films not matched)"
)


def _left_out(args: argparse.Namespace) -> int:
    """``--state cancelled``: the origin's cancelled jobs are item outcomes here (the task is
    ``--task`` of list, the TASK_ID of worker)."""
    check_range("--limit", args.limit or MAX_LIMIT, 1, MAX_LIMIT)
    filters = execution_filter(args, cancelled_ok=True)
    with open_store(args.dsn) as conn:
        rows = items.left_out(conn, filters, args.limit or MAX_LIMIT)
    if args.json:
        print_json({"explanation": CANCELLED_EXPLAINED, "left_out": [dataclasses.asdict(r) for r in rows]})
        return 0
    print(CANCELLED_EXPLAINED)
    if rows:
        headers = ("SCRAPER", "TASK", "ITEM", "OUTCOME", "REASON", "ITEMS")
        table = [(r.scraper, r.task_id, r.entity_type, r.outcome, r.reason or "", str(r.items)) for r in rows]
        print(render(headers, table, right=("ITEMS",)))
    else:
        print("none in this window")
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.state == CANCELLED:
        return _left_out(args)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    filters = execution_filter(args)
    with open_store(args.dsn) as conn:
        rows = executions.list_executions(conn, filters, limit=args.limit)
    summary = _summary(rows)
    if args.json:
        print_json({"count": len(rows), "summary": summary, "executions": [execution_json(e) for e in rows]})
    elif not rows:
        print("no executions match")
    else:
        print(executions_table(rows))
        print(f"\n{_summary_line(len(rows), summary)}")
    return 0


def _failures(args: argparse.Namespace) -> int:
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    filters = execution_filter(args)
    if filters.state is not None and filters.state not in ERROR_STATES:
        raise CliError(f"failures are {FAILED} or {RETRYING} tries; got --state {filters.state}")
    with open_store(args.dsn) as conn:
        rows = executions.failures(conn, filters, limit=args.limit)
    if args.json:
        print_json({"count": len(rows), "executions": [execution_json(e) for e in rows]})
        return 0
    if not rows:
        print("no failures match")
        return 0
    table = render(
        _FAILURE_HEADERS,
        [
            (
                timestamp(e.started_at),
                e.scraper,
                task_label(e.task_id, e.map_index),
                str(e.try_number),
                e.state,
                e.error_category or "",
                e.error_type or "",
                preview(e.error_message),
            )
            for e in rows
        ],
        right=("TRY",),
        styles={"STATE": state_painter(colour_enabled())},
    )
    print(table)
    return 0


def _read_stats(args: argparse.Namespace, task_id: str | None) -> list[ScraperStats]:
    check_range("--hours", args.hours, 1, MAX_HOURS)
    check_names(scraper=args.scraper, task_id=task_id)
    city = city_option(args)
    with open_store(args.dsn) as conn:
        return overview.stats(conn, hours=args.hours, scraper=args.scraper, task_id=task_id, city=city)


def _stats(args: argparse.Namespace) -> int:
    rows = _read_stats(args, args.task)
    if args.json:
        print_json({"hours": args.hours, "stats": [dataclasses.asdict(s) for s in rows]})
        return 0
    if not rows:
        print(f"no executions in the last {args.hours} h")
        return 0
    print(stats_table(rows))
    print(f"\nlast {args.hours} h; success rate = success / (success + failed), final tries only")
    return 0


def _worker(args: argparse.Namespace) -> int:
    if args.state == CANCELLED:
        return _left_out(args)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    filters = execution_filter(args)
    stats = _read_stats(args, args.task)
    with open_store(args.dsn) as conn:
        rows = executions.list_executions(conn, filters, limit=args.limit)
    if args.json:
        print_json(
            {
                "task_id": args.task,
                "hours": args.hours,
                "stats": [dataclasses.asdict(s) for s in stats],
                "executions": [execution_json(e) for e in rows],
            }
        )
        return 0
    if not stats:
        print(f"no executions of {args.task} in the last {args.hours} h")
        return 0
    print(f"{args.task}: last {args.hours} h\n")
    print(stats_table(stats))
    print()
    print(executions_table(rows) if rows else "no executions match the filters")
    return 0
