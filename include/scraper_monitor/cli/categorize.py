"""``scraper-monitor categorize``: file error messages from stdin, one JSON object per line.

    grep ERROR task.log | scraper-monitor categorize
    scraper-monitor categorize --rules my_rules.yaml < messages.txt   # try rules before deploying
    echo "Missing icon text for 'pin'" | scraper-monitor categorize --explain

Output lines are in input order: ``{"category": ..., "error_type": ..., "fingerprint": ...}``;
blank input lines are skipped. No database is needed. ``--explain`` says, per message, which step
decided (the exception class named in the text, an HTTP status, which rule in which file, or the
reading step with the words that decided and how sure it was), as text, or with ``--json`` as a
``decided_by`` object added to each line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from scraper_monitor.category import Categorization, categorize, default_rules, load_rules
from scraper_monitor.category_reading import Reading
from scraper_monitor.cli import CliError
from scraper_monitor.rules import RuleError, RuleSet


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
    parser.add_argument(
        "--explain",
        action="store_true",
        help="say which step decided: a class, an HTTP status, which rule, or which words and how sure",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --explain: JSON lines (the default without --explain)"
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
        record: dict[str, Any] = {
            "category": result.category,
            "error_type": result.error_type,
            "fingerprint": result.fingerprint,
        }
        if args.explain and not args.json:
            print(_explanation_text(message, result, rules))
            continue
        if args.explain:
            record["decided_by"] = decided_by(result, rules)
        print(json.dumps(record, ensure_ascii=False))
    return 0


def _reading(reading: Reading) -> dict[str, Any]:
    return {
        "category": reading.category,
        "error_type": reading.error_type,
        "confidence": reading.confidence,
        "threshold": reading.threshold,
        "cues": list(reading.cues),
    }


def decided_by(result: Categorization, rules: RuleSet) -> dict[str, Any]:
    """Which step filed ``result``, with what it saw: the ``decided_by`` object of ``--explain --json``."""
    step, _, name = result.matched_by.partition(":")
    if step == "rule":
        rule = next(r for r in rules.rules if r.name == name)
        return {"step": "rule", "rule": name, "file": rule.source}
    if step == "reading" and result.reading is not None:
        return {"step": "reading", **_reading(result.reading)}
    if step == "fallback":
        # Below the threshold the reading is still the best guess: where to look, what rule to add.
        suggestion = _reading(result.reading) if result.reading is not None else None
        return {"step": "fallback", "suggestion": suggestion}
    key = {"typed": "exception", "class": "exception_class", "http_status": "status"}[step]
    return {"step": step, key: int(name) if step == "http_status" else name}


def _explanation_text(message: str, result: Categorization, rules: RuleSet) -> str:
    how = decided_by(result, rules)
    step = how["step"]
    if step == "rule":
        why = f"rule {how['rule']!r} in {how['file']}"
    elif step == "reading":
        why = f"the reading step: {_words(how)}"
    elif step == "fallback":
        why = "no step (nothing knew it)"
        if how["suggestion"] is not None:
            guess = how["suggestion"]
            why += f"; best guess {guess['category']} / {guess['error_type']} from {_words(guess)}"
    elif step == "http_status":
        why = f"the HTTP status {how['status']} in the text"
    elif step == "class":
        why = f"the exception class {how['exception_class']} named in the text"
    else:
        why = f"the typed exception {how['exception']}"
    filed = f"{result.category} / {result.error_type}  (fingerprint {result.fingerprint})"
    return f"{message}\n  {filed}\n  decided by {why}"


def _words(reading: dict[str, Any]) -> str:
    return (
        f"{', '.join(reading['cues'])} (confidence {reading['confidence']:.2f}, "
        f"decides from {reading['threshold']:.2f})"
    )
