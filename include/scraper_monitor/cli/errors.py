"""``scraper-monitor errors top``: the most frequent failures, grouped by fingerprint. ``--json``
prints what ``GET /api/errors`` returns (``reports.errors``): the categories and the top groups.

Example: ``scraper-monitor errors top --hours 168 --limit 5 --scraper cinema_city``
"""

from __future__ import annotations

import argparse

from scraper_monitor.cli.options import (
    add_hours_option,
    add_output_options,
    add_scraper_option,
    check_names,
    check_range,
    open_store,
)
from scraper_monitor.cli.table import preview, print_json, render, timestamp
from scraper_monitor.reports import errors
from scraper_monitor.reports.base import MAX_HOURS, MAX_LIMIT

_HEADERS = ("COUNT", "CATEGORY", "ERROR TYPE", "SCRAPERS", "LAST SEEN (UTC)", "FINGERPRINT", "EXAMPLE")
FINGERPRINT_CHARS = 12  # enough to tell groups apart on screen; --json has the full value


def register(subparsers: argparse._SubParsersAction) -> None:
    errors = subparsers.add_parser("errors", help="failures grouped by fingerprint")
    actions = errors.add_subparsers(dest="errors_action", required=True, metavar="ACTION")
    top = actions.add_parser("top", help="the most frequent error fingerprints, with an example message")
    add_scraper_option(top)
    add_hours_option(top, default=24)
    top.add_argument("--limit", type=int, default=10, help="at most N groups (default 10)")
    add_output_options(top)
    top.set_defaults(func=_top)


def _top(args: argparse.Namespace) -> int:
    check_range("--hours", args.hours, 1, MAX_HOURS)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    check_names(scraper=args.scraper)
    with open_store(args.dsn) as conn:
        report = errors.errors(conn, args.hours, scraper=args.scraper, limit=args.limit)
    if args.json:
        print_json(report.model_dump(mode="json"))
        return 0
    groups = report.top
    if not groups:
        print(f"no failures in the last {args.hours} h")
        return 0
    table = render(
        _HEADERS,
        [
            (
                str(g.count),
                g.error_category or "",
                g.error_type or "",
                ",".join(g.scrapers),
                timestamp(g.last_seen),
                (g.fingerprint or "(none)")[:FINGERPRINT_CHARS],
                preview(g.example_message, 60),
            )
            for g in groups
        ],
        right=("COUNT",),
    )
    print(table)
    print(f"\nfailed and retrying tries of the last {args.hours} h, most frequent first")
    return 0
