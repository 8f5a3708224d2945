"""``scraper-monitor reconcile DAG_ID RUN_ID``: does the store hold exactly the tries Airflow ran?

Reads every try of the run from Airflow's REST API and every row of the run from the store, and
prints each difference (``scraper_monitor.reconcile`` has the rules). Exit 0 with "0 differences",
1 when there are differences, 2 when Airflow or the store cannot be read.

Example: ``scraper-monitor reconcile kino_krakow manual__2025-11-24T06:00:00+00:00 --json``
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from scraper_monitor import settings
from scraper_monitor.airflow import rest
from scraper_monitor.airflow.task_instances import rest_tries
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import add_airflow_url_option, add_output_options, check_names, open_store
from scraper_monitor.cli.table import print_json, render, task_label
from scraper_monitor.reconcile import AirflowTry, StoreRow, compare, latest_tries, pending_tries
from scraper_monitor.reports import executions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile", help="compare a run's tries in Airflow with the store's rows; exit 1 on differences"
    )
    parser.add_argument("dag_id", metavar="DAG_ID")
    parser.add_argument("run_id", metavar="RUN_ID")
    add_airflow_url_option(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _read_airflow(url: str, dag_id: str, run_id: str) -> list[AirflowTry]:
    try:
        api = rest.connect(url)
        return rest_tries(api, dag_id, run_id)
    except rest.AirflowHttpError as exc:
        if exc.status == 404:
            raise CliError(f"Airflow does not know run {run_id!r} of {dag_id!r}") from exc
        raise CliError(f"Airflow refused the request: {exc}") from exc
    except rest.AirflowUnreachable as exc:
        raise CliError(str(exc)) from exc


def _run(args: argparse.Namespace) -> int:
    check_names(dag_id=args.dag_id)
    with open_store(args.dsn) as conn:
        rows = executions.of_run(conn, args.dag_id, args.run_id)
    airflow_url = settings.airflow_url(args.airflow_url)
    tries = _read_airflow(airflow_url, args.dag_id, args.run_id)
    report = build_report(args.dag_id, args.run_id, airflow_url, tries, rows)
    if args.json:
        print_json(report)
    else:
        print(report_text(report))
    return 1 if report["count"] else 0


def build_report(
    dag_id: str, run_id: str, airflow_url: str, tries: list[AirflowTry], rows: Sequence[StoreRow]
) -> dict[str, Any]:
    """What ``--json`` prints (stable keys); the text output is rendered from it."""
    differences = compare(tries, rows)
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "airflow_url": airflow_url,
        "airflow_tries": len(latest_tries(tries)),
        "store_rows": len(rows),
        "count": len(differences),
        "differences": [d.to_json() for d in differences],
        "pending": [f"{task_label(t.task_id, t.map_index)} try {t.try_number}" for t in pending_tries(tries)],
    }


def report_text(report: dict[str, Any]) -> str:
    count = report["count"]
    lines = [
        f"{report['dag_id']}  {report['run_id']}: {report['airflow_tries']} tries in Airflow, "
        f"{report['store_rows']} rows in the store: {count} difference{'' if count == 1 else 's'}"
    ]
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
