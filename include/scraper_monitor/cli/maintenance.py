"""Store maintenance: ``prune``, ``replay-spool``, ``rollup`` (what the maintenance DAG runs) and
``snapshot`` (what the snapshots DAG runs)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import psycopg

from scraper_monitor import precompute, slo
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import add_dsn_option
from scraper_monitor.settings import resolve_dsn, spool_path
from scraper_monitor.store import retention, rollup, spool
from scraper_monitor.store.db import describe_error

DEFAULT_ROLLUP_DAYS = 2  # today and yesterday: late writes (retries, spool replays) land in both


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    prune = subparsers.add_parser("prune", help="roll up, then delete raw rows older than the retention")
    prune.add_argument(
        "--days",
        type=_positive_int,
        default=retention.DEFAULT_RETENTION_DAYS,
        help=f"retention in days (default {retention.DEFAULT_RETENTION_DAYS})",
    )
    prune.set_defaults(func=_prune)

    replay = subparsers.add_parser(
        "replay-spool", help="store the summaries spooled while the store was down"
    )
    replay.add_argument("--spool", help="spool file (default: $SCRAPER_MONITOR_SPOOL or .local/spool/...)")
    replay.set_defaults(func=_replay)

    rollup_cmd = subparsers.add_parser("rollup", help="recompute the daily rollups of the last N days")
    rollup_cmd.add_argument(
        "--days",
        type=_positive_int,
        default=DEFAULT_ROLLUP_DAYS,
        help=f"days to recompute, today included (default {DEFAULT_ROLLUP_DAYS})",
    )
    rollup_cmd.set_defaults(func=_rollup)

    snapshot_cmd = subparsers.add_parser(
        "snapshot", help="recompute the SLO and metrics snapshots the overview and /metrics read"
    )
    snapshot_cmd.set_defaults(func=_snapshot)

    for parser in (prune, replay, rollup_cmd, snapshot_cmd):
        add_dsn_option(parser)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except psycopg.Error as exc:
        raise CliError(f"monitor store: {describe_error(exc)}") from exc


def _print(report: Any, as_json: bool, text: str) -> None:
    print(json.dumps(dataclasses.asdict(report), default=str) if as_json else text)


def _prune(args: argparse.Namespace) -> int:
    dsn = resolve_dsn(args.dsn)
    report = _run(lambda: retention.prune(dsn, args.days))
    _print(
        report,
        args.json,
        f"deleted {report.executions_deleted} executions and {report.items_deleted} item outcomes "
        f"before {report.cutoff:%Y-%m-%d} (rolled up first: {report.rollup.execution_rows} execution "
        f"and {report.rollup.item_rows} item rollup rows)",
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    dsn = resolve_dsn(args.dsn)
    path = args.spool or spool_path()
    report = _run(lambda: spool.replay(dsn, path))
    _print(
        report,
        args.json,
        f"{path}: {report.replayed} stored, {report.failed} failed (kept in the spool), "
        f"{report.rejected} set aside as never storable (unreadable or refused by the store; each with "
        f"its reason in {spool.rejected_path(path)})",
    )
    # Not everything is stored: let a script or the maintenance DAG notice.
    return 1 if report.failed or report.deferred else 0


def _rollup(args: argparse.Namespace) -> int:
    dsn = resolve_dsn(args.dsn)
    report = _run(lambda: rollup.rollup_recent(dsn, args.days))
    _print(
        report,
        args.json,
        f"rollups {report.first_day}..{report.last_day}: {report.execution_rows} execution rows, "
        f"{report.item_rows} item rows, {report.stale_rows_deleted} stale rows deleted",
    )
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    dsn = resolve_dsn(args.dsn)
    try:
        config = slo.load_config()
    except slo.SloConfigError as exc:
        raise CliError(str(exc)) from exc
    report = _run(lambda: precompute.refresh(dsn, slo_config=config))
    _print(
        report,
        args.json,
        f"snapshots for {report.computed_at:%Y-%m-%d %H:%M:%S} UTC: metrics and "
        f"{report.slo_statuses} SLO statuses in {report.seconds:.1f} s",
    )
    return 0
