"""``scraper-monitor trends``: executions, success rate and errors per category by day, and this week
against last week. Read from the daily rollups, so 90 days stay cheap and survive raw-row pruning.
``--json`` prints what ``GET /api/trends`` returns (``reports.trends``).

Example: ``scraper-monitor trends --days 30 --scraper cinema_city``
"""

from __future__ import annotations

import argparse

from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import (
    add_city_option,
    add_output_options,
    add_scraper_option,
    check_names,
    city_option,
    open_store,
)
from scraper_monitor.cli.table import percent, print_json, render
from scraper_monitor.reports import trends
from scraper_monitor.reports.trends import DAY_CHOICES, WEEK


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trends", help="by day and error category, and week over week (from the daily rollups)"
    )
    parser.add_argument("--days", type=int, default=WEEK, help="7, 30 or 90 (default 7)")
    add_scraper_option(parser)
    add_city_option(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _change(this: float, last: float) -> float | None:
    """Relative change; None when there is nothing to compare with."""
    return (this - last) / last if last else None


def _run(args: argparse.Namespace) -> int:
    if args.days not in DAY_CHOICES:
        raise CliError(f"--days must be one of {', '.join(map(str, DAY_CHOICES))}, got {args.days}")
    check_names(scraper=args.scraper)
    city = city_option(args)
    with open_store(args.dsn) as conn:
        report = trends.trends(conn, args.days, scraper=args.scraper, city=city)
    if args.json:
        print_json(report.model_dump(mode="json"))
        return 0

    who = (args.scraper or "all scrapers") + (f" in {city}" if city else "")
    print(f"{who}: {report.first_day} .. {report.last_day} (UTC days), from the daily rollups\n")
    categories = report.categories
    headers = ("DAY", "EXECUTIONS", "SUCCESS RATE", "FAILED", "RETRYING", "SILENT", *categories)
    table = [
        (
            str(d.day),
            str(d.executions),
            percent(d.success_rate),
            str(d.failed),
            str(d.retrying),
            str(d.silent),
            *(str(d.errors.get(c, 0)) for c in categories),
        )
        for d in report.by_day
    ]
    print(render(headers, table, right=headers[1:]))
    if categories:
        print("\ncategory columns: failed + retrying tries")

    this, last = report.this_week, report.last_week
    print("\nweek over week (the last 7 days against the 7 before)\n")
    week_rows = [
        (
            "executions",
            str(this.executions),
            str(last.executions),
            _pct(_change(this.executions, last.executions)),
        ),
        ("errors", str(this.errors), str(last.errors), _pct(_change(this.errors, last.errors))),
        ("success rate", percent(this.success_rate), percent(last.success_rate), _points(report.change)),
        *(
            (
                c,
                str(this.errors_by_category.get(c, 0)),
                str(last.errors_by_category.get(c, 0)),
                _pct(_change(this.errors_by_category.get(c, 0), last.errors_by_category.get(c, 0))),
            )
            for c in sorted(this.errors_by_category.keys() | last.errors_by_category.keys())
        ),
    ]
    week_headers = ("", "THIS WEEK", "LAST WEEK", "CHANGE")
    print(render(week_headers, week_rows, right=week_headers[1:]))
    return 0


def _pct(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1%}"


def _points(change: float | None) -> str:
    """A difference of two rates, in percentage points."""
    return "n/a" if change is None else f"{change * 100:+.1f} pp"
