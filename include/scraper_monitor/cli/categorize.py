"""``scraper-monitor categorize``: file error messages from stdin, one JSON object per line.

    grep ERROR task.log | scraper-monitor categorize
    scraper-monitor categorize --rules my_rules.yaml < messages.txt   # try rules before deploying

Output lines are in input order: ``{"category": ..., "error_type": ..., "fingerprint": ...}``;
blank input lines are skipped. No database is needed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys

from scraper_monitor.category import categorize, default_rules, load_rules
from scraper_monitor.cli import CliError
from scraper_monitor.rules import RuleError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "categorize",
        help="categorize error messages read from stdin (one per line)",
        description="Read error messages on stdin, one per line; print one JSON object per line "
        "with category, error_type and fingerprint.",
    )
    parser.add_argument(
        "--rules",
        metavar="FILE",
        help="extra rules file tried before the others (same format as the packaged error_rules.yaml)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        rules = default_rules(strict=True)
        if args.rules:
            rules = load_rules(args.rules) + rules
    except RuleError as exc:
        raise CliError(str(exc)) from exc
    # Log lines are not always valid UTF-8 (a site's Latin-2 bytes): replace, never crash.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    for line in stdin:
        message = line.rstrip("\r\n")
        if not message.strip():
            continue
        result = categorize(message, rules=rules)
        record = {
            "category": result.category,
            "error_type": result.error_type,
            "fingerprint": result.fingerprint,
        }
        print(json.dumps(record))
    return 0
