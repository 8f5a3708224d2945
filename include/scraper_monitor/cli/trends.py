"""``scraper-monitor trends``: executions, success rate and errors per category by day, and this week
against last week. Read from the daily rollups, so 90 days stay cheap and survive raw-row pruning.

Example: ``scraper-monitor trends --days 30 --scraper cinema_city``
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from scraper_monitor.cli import CliError
from scraper_monitor.cli.jobs import add_output_options, check_names, open_store
from scraper_monitor.cli.table import percent, print_json, render
from scraper_monitor.store import queries
from scraper_monitor.store.rows import TrendRow
from scraper_monitor.trends import TrendTally, rate_change

DAY_CHOICES = (7, 30, 90)
WEEK = 7


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trends", help="by day and error category, and week over week (from the daily rollups)"
    )
    parser.add_argument("--days", type=int, default=WEEK, help="7, 30 or 90 (default 7)")
    parser.add_argument("--scraper", help="only this scraper (DAG id)")
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _tally(rows: Iterable[TrendRow], first: date, last: date) -> TrendTally:
    tally = TrendTally()
    for row in rows:
        if first <= row.day <= last:
            tally.add(row)
    return tally


def _change(this: float, last: float) -> float | None:
    """Relative change; None when there is nothing to compare with."""
    return (this - last) / last if last else None


def _run(args: argparse.Namespace) -> int:
    if args.days not in DAY_CHOICES:
        raise CliError(f"--days must be one of {', '.join(map(str, DAY_CHOICES))}, got {args.days}")
    check_names(scraper=args.scraper)
    today = datetime.now(UTC).date()
    with open_store(args.dsn) as conn:
        # Week over week needs two weeks even when the table shows one.
        rows = queries.trends(conn, days=max(args.days, 2 * WEEK), scraper=args.scraper, today=today)

    first_day = today - timedelta(days=args.days - 1)
    days = [first_day + timedelta(days=i) for i in range(args.days)]
    by_day = {d: _tally(rows, d, d) for d in days}
    this_week = _tally(rows, today - timedelta(days=WEEK - 1), today)
    last_week = _tally(rows, today - timedelta(days=2 * WEEK - 1), today - timedelta(days=WEEK))
    window_errors = sum((t.errors for t in by_day.values()), Counter())
    categories = sorted(window_errors, key=lambda c: (-window_errors[c], c))
    week_categories = sorted(this_week.errors.keys() | last_week.errors.keys())
    change = {
        "executions": _change(this_week.executions, last_week.executions),
        "errors": _change(sum(this_week.errors.values()), sum(last_week.errors.values())),
        "success_rate": rate_change(this_week, last_week),
        "errors_by_category": {c: _change(this_week.errors[c], last_week.errors[c]) for c in week_categories},
    }

    if args.json:
        print_json(
            {
                "days": args.days,
                "first_day": first_day,
                "last_day": today,
                "scraper": args.scraper,
                "categories": categories,
                "by_day": [{"day": d, **by_day[d].to_json()} for d in days],
                "week_over_week": {
                    "this_week": {"first_day": today - timedelta(days=WEEK - 1), **this_week.to_json()},
                    "last_week": {"first_day": today - timedelta(days=2 * WEEK - 1), **last_week.to_json()},
                    "change": change,
                },
            }
        )
        return 0

    who = args.scraper or "all scrapers"
    print(f"{who}: {first_day} .. {today} (UTC days), from the daily rollups\n")
    headers = ("DAY", "EXECUTIONS", "SUCCESS RATE", "FAILED", "RETRYING", "SILENT", *categories)
    table = [
        (
            str(d),
            str(t.executions),
            percent(t.success_rate),
            str(t.failed),
            str(t.retrying),
            str(t.silent),
            *(str(t.errors[c]) for c in categories),
        )
        for d, t in by_day.items()
    ]
    print(render(headers, table, right=headers[1:]))
    if categories:
        print("\ncategory columns: failed + retrying tries")

    print("\nweek over week (the last 7 days against the 7 before)\n")
    week_rows = [
        ("executions", str(this_week.executions), str(last_week.executions), _pct(change["executions"])),
        (
            "errors",
            str(sum(this_week.errors.values())),
            str(sum(last_week.errors.values())),
            _pct(change["errors"]),
        ),
        (
            "success rate",
            percent(this_week.success_rate),
            percent(last_week.success_rate),
            _points(change["success_rate"]),
        ),
        *(
            (c, str(this_week.errors[c]), str(last_week.errors[c]), _pct(change["errors_by_category"][c]))
            for c in week_categories
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
