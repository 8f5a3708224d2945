"""`scraper-monitor` command line. Each command group registers itself from its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from scraper_monitor.settings import SettingsError

# Modules under scraper_monitor.cli, each exposing register(subparsers).
COMMAND_MODULES: list[str] = [
    "db",
    "maintenance",
    "slo",
    "categorize",
    "jobs",
    "silent",
    "errors",
    "trends",
    "matching",
    "export",
    "chain",
    "reconcile",
    "discovery",
]


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


# Errors of the plain modules that a user can fix (where the store is): one line, like a CliError.
USER_ERRORS: tuple[type[Exception], ...] = (CliError, SettingsError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scraper-monitor", description="Inspect and maintain the scraper monitor store."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"scraper_monitor.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f"scraper-monitor: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
