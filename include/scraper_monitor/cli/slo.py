"""``scraper-monitor slo``: each scraper's and task's SLO status over the configured window."""

from __future__ import annotations

import argparse

import psycopg

from scraper_monitor import settings, slo
from scraper_monitor.cli import CliError, table
from scraper_monitor.cli.options import add_city_option, add_dsn_option, add_scraper_option, city_option
from scraper_monitor.reports.slo import slo_statuses
from scraper_monitor.settings import resolve_dsn
from scraper_monitor.store.db import connect, describe_error

_HEADERS = (
    "SCRAPER",
    "TASK",
    "STATUS",
    "SUCCESS",
    "TARGET",
    "ALERT <",
    "RUNS",
    "FAILED",
    "SILENT",
    "AVG",
    "AVG TARGET",
)
_NUMBERS = ("SUCCESS", "TARGET", "ALERT <", "RUNS", "FAILED", "SILENT", "AVG", "AVG TARGET")
# Reading a week of executions can take longer than the store's 2 s default for task-path writes.
STATEMENT_TIMEOUT_MS = 30_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "slo",
        help="SLO status per scraper and task (met, below_target, critical, insufficient_data)",
        description=f"Targets come from ${settings.SLO_CONFIG_ENV}, else the packaged slo.yaml.",
    )
    add_scraper_option(parser)
    add_city_option(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per SLO")
    parser.add_argument(
        "--config", help=f"SLO file; default: ${settings.SLO_CONFIG_ENV}, else the packaged slo.yaml"
    )
    add_dsn_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        config = slo.load_config(args.config)
    except slo.SloConfigError as exc:
        raise CliError(str(exc)) from exc
    city = city_option(args)
    dsn = resolve_dsn(args.dsn)
    try:
        with connect(dsn, statement_timeout_ms=STATEMENT_TIMEOUT_MS) as conn:
            statuses = slo_statuses(conn, config, scraper=args.scraper, city=city)
    except psycopg.Error as exc:
        raise CliError(f"cannot read the monitor store: {describe_error(exc)}") from exc
    if args.json:
        table.print_json([s.to_json() for s in statuses])
        return 0
    window = slo.span_text(config.window)
    if not statuses:
        print(f"no executions in the last {window} and no SLO configured for this scraper")
        return 0
    print(table.render(_HEADERS, [_row(s) for s in statuses], right=_NUMBERS))
    where = f"{city}'s runs, " if city else ""
    print(f"\n{where}window: last {window}; a verdict needs at least {config.min_runs} final runs")
    return 0


def _row(status: slo.SloStatus) -> tuple[str, ...]:
    target = status.target
    return (
        status.scraper,
        status.task_id or "(all tasks)",
        status.status,
        table.percent(status.success_rate),
        table.percent(target.target_success_rate),
        table.percent(target.alert_threshold),
        str(status.runs),
        str(status.failed),
        str(status.silent),
        table.duration(status.avg_duration_ms),
        table.duration(target.target_duration_ms),
    )
