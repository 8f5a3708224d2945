"""``scraper-monitor errors top``: the most frequent failures, grouped by fingerprint. ``--json``
prints what ``GET /api/errors`` returns (``reports.errors``): the categories and the top groups.

Teaching the categorizer: ``errors unknown`` lists the most frequent ``unknown_error`` fingerprints
with a suggested category (``reports.unknown``); ``errors accept FINGERPRINT [--category C]`` adds a
rule for one to the team's rules file ($SCRAPER_MONITOR_ERROR_RULES); ``recategorize --fingerprint F``
files the stored tries of a fingerprint again with today's rules, and rolls their days up again.

Examples: ``scraper-monitor errors top --hours 168 --limit 5 --scraper cinema_city``,
``scraper-monitor errors unknown``, ``scraper-monitor errors accept 3fa2c1d09e8b``,
``scraper-monitor recategorize --fingerprint 3fa2c1d09e8b``
"""

from __future__ import annotations

import argparse
import getpass
import json

import psycopg

from scraper_monitor import settings, teaching
from scraper_monitor.category import CATEGORIES, categorize
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import (
    add_city_option,
    add_dsn_option,
    add_hours_option,
    add_output_options,
    add_scraper_option,
    check_names,
    check_range,
    city_option,
    open_store,
)
from scraper_monitor.cli.table import preview, print_json, render, timestamp
from scraper_monitor.reports import errors, unknown
from scraper_monitor.reports.base import MAX_HOURS, MAX_LIMIT
from scraper_monitor.rules import RuleError, RuleSet
from scraper_monitor.store.db import connect, describe_error
from scraper_monitor.store.recategorize import recategorize

_HEADERS = ("COUNT", "CATEGORY", "ERROR TYPE", "SCRAPERS", "LAST SEEN (UTC)", "FINGERPRINT", "EXAMPLE")
FINGERPRINT_CHARS = 12  # enough to tell groups apart on screen; --json has the full value


def register(subparsers: argparse._SubParsersAction) -> None:
    errors = subparsers.add_parser("errors", help="failures grouped by fingerprint")
    actions = errors.add_subparsers(dest="errors_action", required=True, metavar="ACTION")
    top = actions.add_parser("top", help="the most frequent error fingerprints, with an example message")
    add_scraper_option(top)
    add_city_option(top)
    add_hours_option(top, default=24)
    top.add_argument("--limit", type=int, default=10, help="at most N groups (default 10)")
    add_output_options(top)
    top.set_defaults(func=_top)

    unknown_cmd = actions.add_parser(
        "unknown",
        help="the most frequent unknown_error fingerprints, with an example and a suggested category",
    )
    add_scraper_option(unknown_cmd)
    add_hours_option(unknown_cmd, default=168)
    unknown_cmd.add_argument("--limit", type=int, default=10, help="at most N groups (default 10)")
    add_output_options(unknown_cmd)
    unknown_cmd.set_defaults(func=_unknown)

    accept = actions.add_parser(
        "accept", help="add a rule for a fingerprint to your rules file (its suggestion, or --category)"
    )
    accept.add_argument("fingerprint", help="a fingerprint, or its first characters as the tables show them")
    accept.add_argument("--category", choices=CATEGORIES, help="file it here instead of the suggestion")
    accept.add_argument("--error-type", help="the finer type (lower_snake_case); default: the suggestion's")
    _add_rules_option(accept)
    add_dsn_option(accept)
    accept.set_defaults(func=_accept)

    recat = subparsers.add_parser(
        "recategorize", help="file the stored tries of one fingerprint again with today's rules"
    )
    recat.add_argument("--fingerprint", required=True, help="a fingerprint, or its first characters")
    _add_rules_option(recat)
    add_output_options(recat)
    recat.set_defaults(func=_recategorize)


def _add_rules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules", metavar="FILE", help=f"your rules file (default: ${settings.ERROR_RULES_ENV})"
    )


def _rules(path: str | None) -> RuleSet:
    try:
        return teaching.current_rules(path)
    except RuleError as exc:
        raise CliError(str(exc)) from exc


def _top(args: argparse.Namespace) -> int:
    check_range("--hours", args.hours, 1, MAX_HOURS)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    check_names(scraper=args.scraper)
    city = city_option(args)
    with open_store(args.dsn) as conn:
        report = errors.errors(conn, args.hours, scraper=args.scraper, limit=args.limit, city=city)
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


def _unknown(args: argparse.Namespace) -> int:
    check_range("--hours", args.hours, 1, MAX_HOURS)
    check_range("--limit", args.limit, 1, MAX_LIMIT)
    check_names(scraper=args.scraper)
    rules = _rules(None)
    with open_store(args.dsn) as conn:
        report = unknown.unknown_errors(conn, args.hours, scraper=args.scraper, limit=args.limit, rules=rules)
    if args.json:
        print_json(report.model_dump(mode="json"))
        return 0
    if not report.groups:
        print(f"no unknown_error failures in the last {args.hours} h")
        return 0

    def suggested(group: unknown.UnknownGroupOut) -> tuple[str, str]:
        guess = group.suggestion
        if guess is None:
            return "", ""
        sure = "rule" if guess.confidence is None else f"{guess.confidence:.2f}"
        return f"{guess.category} / {guess.error_type}" + ("" if guess.decided else "?"), sure

    table = render(
        ("COUNT", "ERROR TYPE", "SUGGESTED", "SURE", "FINGERPRINT", "EXAMPLE"),
        [
            (
                str(g.count),
                g.error_type or "",
                *suggested(g),
                (g.fingerprint or "(none)")[:FINGERPRINT_CHARS],
                preview(g.example_message, 60),
            )
            for g in report.groups
        ],
        right=("COUNT", "SURE"),
    )
    print(table)
    print(
        f"\nunknown_error tries of the last {args.hours} h, most frequent first; '?': a guess below the "
        "reading threshold. Teach one: scraper-monitor errors accept FINGERPRINT [--category C]"
    )
    return 0


def _accept(args: argparse.Namespace) -> int:
    rules = _rules(args.rules)
    with open_store(args.dsn) as conn:
        try:
            found = unknown.find_fingerprint(conn, args.fingerprint)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    example = found.example_message or ""
    try:
        category, error_type = teaching.filing(example, rules, args.category, args.error_type)
        added = teaching.accept(
            teaching.rules_path(args.rules),
            fingerprint=found.fingerprint,
            example=example,
            category=category,
            error_type=error_type,
            by=getpass.getuser(),
        )
    except teaching.TeachingError as exc:
        raise CliError(f"{exc} (--{exc.field.replace('_', '-')})" if exc.field else str(exc)) from exc
    print(f"added rule {added.name!r} to {added.path}: {added.category} / {added.error_type}")
    print(f"  regex: {added.regex}")
    print(
        f"{found.count} stored tries have this fingerprint; file them again with: "
        f"scraper-monitor recategorize --fingerprint {found.fingerprint}"
        + (f" --rules {added.path}" if args.rules else "")
    )
    return 0


def _recategorize(args: argparse.Namespace) -> int:
    rules = _rules(args.rules)
    try:
        with connect(settings.resolve_dsn(args.dsn)) as conn:
            fingerprint = unknown.find_fingerprint(conn, args.fingerprint).fingerprint
            done = recategorize(conn, fingerprint, lambda message: categorize(message, rules=rules))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    except psycopg.Error as exc:
        raise CliError(f"cannot update the monitor store: {describe_error(exc)}") from exc
    if args.json:
        print(
            json.dumps(
                {
                    "fingerprint": done.fingerprint,
                    "rows": done.rows,
                    "changed": done.changed,
                    "rollup_days": done.rollup_days,
                    "filed_as": [
                        {"category": c, "error_type": t, "fingerprint": f, "rows": n}
                        for (c, t, f), n in sorted(done.filed_as.items())
                    ],
                }
            )
        )
        return 0
    print(
        f"{done.changed} of {done.rows} tries of {done.fingerprint} filed again; "
        f"{done.rollup_days} daily rollups redone"
    )
    for (category, error_type, new_fingerprint), n in sorted(done.filed_as.items()):
        print(f"  {n} as {category} / {error_type} (fingerprint {new_fingerprint})")
    return 0
