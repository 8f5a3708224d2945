"""``scraper-monitor reconcile``: does the store hold exactly the tries Airflow ran? ``--repair`` fills
the gaps.

Reads every try from Airflow's REST API and every row from the store, and prints each difference
(``scraper_monitor.reconcile`` has the rules). One run (``DAG_ID RUN_ID``), or every run that ended in
the last ``--hours`` (of ``DAG_ID``, else of every DAG). With ``--repair``, every try Airflow knows and
the store lacks (its worker died, its spool was lost) gets a summary written from Airflow's record,
marked recovered (``scraper_monitor.recovery``); running it again changes nothing. Exit 0 with
"0 differences", 1 when differences remain, 2 when Airflow or the store cannot be read.

Examples::

    scraper-monitor reconcile kino_krakow manual__2025-11-24T06:00:00+00:00 --json
    scraper-monitor reconcile --hours 24 --repair
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from scraper_monitor import settings
from scraper_monitor.airflow import rest
from scraper_monitor.airflow.reconciliation import reconcile_run, reconcile_since
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import (
    add_airflow_url_option,
    add_output_options,
    airflow_errors,
    check_names,
    check_range,
    open_store,
)
from scraper_monitor.cli.table import print_json, render, task_label
from scraper_monitor.reconcile import RunReconciliation

#: Without a run id, the runs that ended in this many hours are reconciled.
DEFAULT_HOURS = 24
MAX_HOURS = 24 * 90


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="compare runs' tries in Airflow with the store's rows (--repair: write the missing ones); "
        "exit 1 on differences",
    )
    parser.add_argument("dag_id", metavar="DAG_ID", nargs="?", help="only this DAG (required with RUN_ID)")
    parser.add_argument("run_id", metavar="RUN_ID", nargs="?", help="only this run")
    parser.add_argument(
        "--hours",
        type=int,
        help=f"without RUN_ID: the runs that ended in the last N hours (default {DEFAULT_HOURS})",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="write a recovered summary for every try Airflow knows and the store lacks",
    )
    add_airflow_url_option(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.dag_id:
        check_names(dag_id=args.dag_id)
    if args.run_id and args.hours is not None:
        raise CliError("give either RUN_ID or --hours, not both")
    airflow_url = settings.airflow_url(args.airflow_url)
    with open_store(args.dsn) as conn:
        if args.run_id:
            with airflow_errors(f"run {args.run_id!r} of {args.dag_id!r}"):
                api = rest.connect(airflow_url)
                runs = [reconcile_run(api, conn, args.dag_id, args.run_id, repair=args.repair)]
            report = {"airflow_url": airflow_url, **runs[0].to_json()}
        else:
            hours = DEFAULT_HOURS if args.hours is None else args.hours
            check_range("--hours", hours, 1, MAX_HOURS)
            since = datetime.now(UTC) - timedelta(hours=hours)
            with airflow_errors(f"DAG {args.dag_id!r}"):
                api = rest.connect(airflow_url)
                runs = reconcile_since(api, conn, since, dag_id=args.dag_id, repair=args.repair)
            report = window_report(airflow_url, since, runs)
    if args.json:
        print_json(report)
    else:
        print(
            "\n\n".join(report_text(run.to_json()) for run in runs) if runs else "no run ended in the window"
        )
        if not args.run_id:
            print(window_summary(report))
    return 1 if report["count"] else 0


def window_report(airflow_url: str, since: datetime, runs: list[RunReconciliation]) -> dict[str, Any]:
    """What ``--json`` prints for a window (stable keys): each run's report and the totals."""
    return {
        "airflow_url": airflow_url,
        "since": since.isoformat(),
        "runs": [run.to_json() for run in runs],
        "count": sum(len(run.differences) for run in runs),
        "recovered": sum(len(run.recovered) for run in runs),
    }


def window_summary(report: dict[str, Any]) -> str:
    runs = report["runs"]
    return (
        f"\n{len(runs)} run{'' if len(runs) == 1 else 's'} since {report['since']}: "
        f"{report['count']} difference{'' if report['count'] == 1 else 's'} left, "
        f"{report['recovered']} summar{'y' if report['recovered'] == 1 else 'ies'} recovered"
    )


def report_text(report: dict[str, Any]) -> str:
    count = report["count"]
    lines = [
        f"{report['dag_id']}  {report['run_id']}: {report['airflow_tries']} tries in Airflow, "
        f"{report['store_rows']} rows in the store: {count} difference{'' if count == 1 else 's'}"
    ]
    if report["recovered"]:
        lines.append(
            f"recovered from Airflow's record (the task's own summary never arrived): "
            f"{', '.join(report['recovered'])}"
        )
    if count:
        headers = ("DIFFERENCE", "TASK", "TRY", "AIRFLOW", "EXPECTED ROW", "STORE ROW")
        rows = [
            (
                d["kind"],
                task_label(d["task_id"], d["map_index"]),
                str(d["try_number"]),
                d["airflow_state"] or "-",
                d["expected_state"] or "-",
                d["store_state"] or "-",
            )
            for d in report["differences"]
        ]
        lines += ["", render(headers, rows, right=("TRY",))]
    if report["pending"]:
        lines.append(
            f"\n{len(report['pending'])} {'try' if len(report['pending']) == 1 else 'tries'} not finished, "
            f"not compared (reconcile again when the run is done): {', '.join(report['pending'])}"
        )
    return "\n".join(lines)
