"""``scraper-monitor chain DAG_ID RUN_ID``: one run as a tree of stages, with its incidents.

Task-instance states (including the ``upstream_failed`` children that never wrote a row) come from
Airflow's REST API; counts, errors and item outcomes from the monitor store. Without Airflow the
store's view is printed and the output says so: tasks that never ran are then missing.

``--json`` prints what ``GET /api/chains/DAG_ID/RUN_ID`` returns (``reports.chain``), whose ``airflow``
part says which API was asked and why its states are missing, if they are.

Example: ``scraper-monitor chain cinema_city scheduled__2025-11-24T06:00:00+00:00``
"""

from __future__ import annotations

import argparse

from scraper_monitor.airflow.task_instances import read_rest
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import add_airflow_url_option, add_output_options, check_names, open_store
from scraper_monitor.cli.table import colour_enabled, duration, preview, print_json, render, state_painter
from scraper_monitor.reports import chain as chain_report
from scraper_monitor.reports.chain import ChainNodeOut, ChainOut

_NODE_HEADERS = ("TASK", "STATE", "TRY", "DURATION", "DETAIL")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chain", help="one DAG run as a chain of stages, with its incidents")
    parser.add_argument("dag_id", metavar="DAG_ID")
    parser.add_argument("run_id", metavar="RUN_ID")
    add_airflow_url_option(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    check_names(dag_id=args.dag_id)
    airflow = read_rest(args.airflow_url, args.dag_id, args.run_id)
    with open_store(args.dsn) as conn:
        report = chain_report.chain(conn, args.dag_id, args.run_id, airflow)
    if report is None:
        reason = f" ({airflow.error})" if airflow.error else ""
        raise CliError(f"no run {args.run_id!r} of {args.dag_id!r} in the store nor in Airflow{reason}")
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        print(chain_text(report))
    return 0


def _detail(node: ChainNodeOut) -> str:
    if node.error_message or node.error_category:
        return preview(": ".join(p for p in (node.error_category, node.error_message) if p), 70)
    if node.silent:
        return f"silent: {preview(node.silent_reason, 60)}"
    if node.skip_reason:
        return f"skipped: {preview(node.skip_reason, 60)}"
    if not node.has_summary:
        return "no summary (never ran)" if node.state == "upstream_failed" else "no summary"
    parts = [f"{k}={v}" for k, v in sorted(node.counts.items())]
    parts += [f"items {k}={v}" for k, v in sorted(node.items.items())]
    return preview(" ".join(parts), 70)


def _seconds(value: float | None) -> str:
    return duration(None if value is None else value * 1000)


def chain_text(chain: ChainOut) -> str:
    airflow = chain.airflow
    lines = [f"{chain.dag_id}  {chain.run_id}"]
    if chain.source == "airflow":
        lines.append(f"states from Airflow ({airflow.url}), details from the monitor store")
    else:
        lines.append(
            f"{airflow.error or 'Airflow has no task instances for this run'}\n"
            "showing what the monitor store knows: the last try each task wrote; "
            "tasks that never ran (upstream_failed) are not in it"
        )
    summary = chain.summary
    extras = [
        f"{n} {label}"
        for n, label in (
            (summary.failed, "failed"),
            (summary.retrying, "retrying"),
            (summary.upstream_failed, "upstream_failed"),
            (summary.skipped, "skipped"),
            (summary.pending, "not finished"),
            (summary.silent, "silent"),
            (summary.removed, "removed by Airflow (not shown)"),
        )
        if n
    ]
    items = ", ".join(f"{k} {v}" for k, v in sorted(chain.items.items()))
    lines.append(
        f"{summary.text}"
        + (f"; {', '.join(extras)}" if extras else "")
        + f"; duration {_seconds(chain.duration_s)}"
        + (f"; items: {items}" if items else "")
    )

    # One table for every node, so the columns line up across stages; stage headings go between.
    rows = []
    for stage in chain.stages:
        for i, node in enumerate(stage.nodes):
            branch = "└─ " if i == len(stage.nodes) - 1 else "├─ "
            label = branch + node.label
            rows.append((label, node.state, str(node.try_number), _seconds(node.duration_s), _detail(node)))
    table = render(
        _NODE_HEADERS, rows, right=("TRY", "DURATION"), styles={"STATE": state_painter(colour_enabled())}
    ).splitlines()
    lines += ["", table[0]]
    body = iter(table[1:])
    for stage in chain.stages:
        states = ", ".join(f"{n} {state}" for state, n in sorted(stage.states.items()))
        lines.append(f"{stage.title} ({states})")
        lines += [next(body) for _ in stage.nodes]

    lines += ["", "incidents:" if chain.incidents else "no incidents"]
    lines += [f"  {incident.kind:<8}  {incident.text}" for incident in chain.incidents]
    return "\n".join(lines)
