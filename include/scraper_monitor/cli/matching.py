"""``scraper-monitor matching``: how well films match TMDB. The matched-film rate per scraper and UTC
day against the SLO file's ``matching:`` target, how the matches were found, the films that fail to
match most and the weakest matches. ``--json`` prints what ``GET /api/matching`` returns
(``reports.matching``).

Example: ``scraper-monitor matching --scraper cinema_city --days 30``
"""

from __future__ import annotations

import argparse

from scraper_monitor.cli.options import (
    add_output_options,
    add_scraper_option,
    check_names,
    check_range,
    open_store,
)
from scraper_monitor.cli.table import percent, preview, print_json, render, timestamp
from scraper_monitor.reports import matching
from scraper_monitor.reports.matching import MAX_DAYS

_STATUS = {"met": "met", "below_target": "BELOW TARGET", "insufficient_data": "too few films"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "matching", help="TMDB matching: matched-film rate per day, films that fail, weak matches"
    )
    add_scraper_option(parser)
    parser.add_argument(
        "--days", type=int, default=7, help=f"UTC days, today included (1-{MAX_DAYS}, default 7)"
    )
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    check_range("--days", args.days, 1, MAX_DAYS)
    check_names(scraper=args.scraper)
    target, config_error = matching.configured_target()
    with open_store(args.dsn) as conn:
        report = matching.matching(
            conn, args.days, target=target, config_error=config_error, scraper=args.scraper
        )
    if args.json:
        print_json(report.model_dump(mode="json"))
        return 0
    if config_error:
        print(f"SLO file invalid, defaults used: {config_error}\n")
    who = args.scraper or "all scrapers"
    print(
        f"{who}: films matched on TMDB, {report.first_day} .. {report.last_day} (UTC days); "
        f"target {report.target_matched_rate:.0%} per day from at least {report.min_films} films\n"
    )
    if not report.scrapers:
        print(f"no films matched in the last {args.days} days")
        return 0
    headers = ("DAY", "SCRAPER", "FILMS", "MATCHED", "RATE", "STATUS")
    rows = [
        (str(d.day), s.scraper, str(d.films), str(d.matched), percent(d.matched_rate), _STATUS[d.status])
        for s in report.scrapers
        for d in s.days
    ]
    print(render(headers, rows, right=("FILMS", "MATCHED", "RATE")))
    print()
    for s in report.scrapers:
        how = ", ".join(f"{method} {n}" for method, n in s.methods.items()) or "-"
        print(f"{s.scraper}: {s.matched}/{s.films} matched ({percent(s.matched_rate)}); how: {how}")

    print(f"\nfilms that fail to match (most runs first, at most {len(report.failing)} shown)\n")
    if report.failing:
        failing_headers = (
            "SCRAPER",
            "TITLE",
            "RUNS",
            "LAST REASON",
            "CONFIDENCE",
            "BEST CANDIDATE",
            "LAST SEEN",
        )
        failing = [
            (
                f.scraper,
                preview(f.title or f.external_id, 50),
                str(f.failures),
                f.last_reason or "-",
                percent(f.last_confidence),
                preview(f.last_candidate, 40),
                timestamp(f.last_seen),
            )
            for f in report.failing
        ]
        print(render(failing_headers, failing, right=("RUNS", "CONFIDENCE")))
    else:
        print("none: every film matched")

    print(f"\nmatches below {report.low_confidence_below:.0%} confidence\n")
    if report.low_confidence:
        low_headers = ("SCRAPER", "TITLE", "MATCHED AS", "TMDB ID", "CONFIDENCE", "HOW", "RUNS")
        low = [
            (
                f.scraper,
                preview(f.title or f.external_id, 50),
                preview(f.tmdb_title, 40),
                "-" if f.tmdb_id is None else str(f.tmdb_id),
                percent(f.confidence),
                f.method or "-",
                str(f.runs),
            )
            for f in report.low_confidence
        ]
        print(render(low_headers, low, right=("TMDB ID", "CONFIDENCE", "RUNS")))
    else:
        print("none")
    return 0
