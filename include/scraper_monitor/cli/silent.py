"""``scraper-monitor silent``: successes that produced nothing they should have, newest first.
``--json`` prints what ``GET /api/silent-failures`` returns (``reports.silent``).

Example: ``scraper-monitor silent --hours 72 --scraper kino_krakow``
"""

from __future__ import annotations

import argparse

from scraper_monitor.cli.options import (
    add_city_option,
    add_hours_option,
    add_output_options,
    add_scraper_option,
    check_names,
    check_range,
    city_option,
    open_store,
)
from scraper_monitor.cli.table import preview, print_json, render, task_label, timestamp
from scraper_monitor.reports import silent
from scraper_monitor.reports.base import MAX_HOURS, MAX_LIMIT

_HEADERS = ("STARTED (UTC)", "SCRAPER", "TASK", "TRY", "REASON", "COUNTS")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("silent", help="silent failures: successes that produced nothing")
    add_scraper_option(parser)
    add_city_option(parser)
    add_hours_option(parser, default=24)
    parser.add_argument("--limit", type=int, default=100, help="at most N rows (default 100)")
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    check_range("--hours", args.hours, 1, MAX_HOURS)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    check_names(scraper=args.scraper)
    city = city_option(args)
    with open_store(args.dsn) as conn:
        report = silent.silent(conn, args.hours, args.limit, scraper=args.scraper, city=city)
    if args.json:
        print_json(report.model_dump(mode="json"))
        return 0
    rows = report.items
    if not rows:
        print(f"no silent failures in the last {args.hours} h")
        return 0
    table = render(
        _HEADERS,
        [
            (
                timestamp(e.started_at),
                e.scraper,
                task_label(e.task_id, e.map_index),
                str(e.try_number),
                preview(e.silent_reason),
                " ".join(f"{k}={v}" for k, v in sorted(e.counts.items())),
            )
            for e in rows
        ],
        right=("TRY",),
    )
    print(table)
    shown = f" (the newest {len(rows)} shown)" if len(rows) < report.count else ""
    print(
        f"\n{report.count} silent failure{'' if report.count == 1 else 's'} in the last {args.hours} h{shown}"
    )
    return 0
