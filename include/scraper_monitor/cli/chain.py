"""``scraper-monitor chain DAG_ID RUN_ID``: one run as a tree of stages, with its incidents.

Task-instance states (including the ``upstream_failed`` children that never wrote a row) come from
Airflow's REST API; counts, errors and item outcomes from the monitor store. Without Airflow the
store's view is printed and the output says so: tasks that never ran are then missing.

Example: ``scraper-monitor chain cinema_city scheduled__2025-11-24T06:00:00+00:00``
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from scraper_monitor.airflow import rest
from scraper_monitor.airflow.task_instances import RestView, read_rest
from scraper_monitor.chain import Chain, ChainNode, DagStructure, build_chain
from scraper_monitor.cli import CliError
from scraper_monitor.cli.jobs import add_output_options, check_names, open_store
from scraper_monitor.cli.table import colour_enabled, duration, preview, print_json, render, state_painter
from scraper_monitor.store import queries

_NODE_HEADERS = ("TASK", "STATE", "TRY", "DURATION", "DETAIL")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chain", help="one DAG run as a chain of stages, with its incidents")
    parser.add_argument("dag_id", metavar="DAG_ID")
    parser.add_argument("run_id", metavar="RUN_ID")
    add_airflow_url_option(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def add_airflow_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--airflow-url",
        help=f"Airflow api-server; default: ${rest.URL_ENV}, else {rest.DEFAULT_URL} "
        f"(login: ${rest.USERNAME_ENV}/${rest.PASSWORD_ENV}, else the local stack's)",
    )


def _run(args: argparse.Namespace) -> int:
    check_names(dag_id=args.dag_id)
    with open_store(args.dsn) as conn:
        executions = queries.executions_for_run(conn, args.dag_id, args.run_id)
        item_counts = queries.item_outcome_counts_for_run(conn, args.dag_id, args.run_id)
    airflow = read_rest(args.airflow_url, args.dag_id, args.run_id)
    if not executions and not airflow.task_instances:
        reason = f" ({airflow.error})" if airflow.error else ""
        raise CliError(f"no run {args.run_id!r} of {args.dag_id!r} in the store nor in Airflow{reason}")
    chain = build_chain(
        airflow.structure or DagStructure(args.dag_id, ()),
        airflow.task_instances,
        [asdict(e) for e in executions],
        [asdict(i) for i in item_counts],
        run_id=args.run_id,
    )
    source = "airflow" if airflow.task_instances else "store"
    if args.json:
        print_json(chain_json(chain, source, airflow))
    else:
        print(chain_text(chain, source, airflow))
    return 0


def chain_json(chain: Chain, source: str, airflow: RestView) -> dict[str, Any]:
    """The web API's chain shape (same keys), plus where Airflow was and what went wrong."""
    summary = chain.summary
    return {
        "dag_id": chain.dag_id,
        "run_id": chain.run_id,
        "source": source,
        "airflow": {"url": airflow.url, "error": airflow.error},
        "summary": {"text": summary.text, "success_rate": summary.success_rate, **asdict(summary)},
        "duration_s": chain.duration_s,
        "items": chain.items,
        "incidents": [
            {
                "kind": i.kind,
                "text": i.text,
                "root": i.root.label if i.root else None,
                "casualties": [c.label for c in i.casualties],
            }
            for i in chain.incidents
        ],
        "stages": [
            {
                "key": s.key,
                "title": s.title,
                "states": s.states,
                "counts": s.counts,
                "items": s.items,
                "duration_s": s.duration_s,
                "nodes": [_node_json(n) for n in s.nodes],
            }
            for s in chain.stages
        ],
    }


def _node_json(node: ChainNode) -> dict[str, Any]:
    fields = asdict(node)
    del fields["stage"], fields["short_name"]  # implied by the stage and the label
    return {"label": node.label, **fields}


def _detail(node: ChainNode) -> str:
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


def chain_text(chain: Chain, source: str, airflow: RestView) -> str:
    lines = [f"{chain.dag_id}  {chain.run_id}"]
    if source == "airflow":
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
