"""What a chain run did, as the chain view tells it: failures by category and the run's incidents.

`make e2e` prints this under each verdict, so a scenario's outcome reads the way the Chain tab and
`scraper-monitor chain` show it, whether or not the predictor could judge the numbers.
"""

from __future__ import annotations

from collections import Counter

from scraper_monitor.airflow.rest import AirflowApi
from scraper_monitor.airflow.task_instances import dag_structure, task_instance_record
from scraper_monitor.reports import chain as chain_report
from scraper_monitor.reports.chain import AirflowView, ChainOut
from scraper_monitor.store.db import connect


def read_chain(api: AirflowApi, monitor_dsn: str, dag_id: str, run_id: str) -> ChainOut | None:
    view = AirflowView(
        dag_structure(dag_id, api.tasks(dag_id)),
        tuple(task_instance_record(t) for t in api.task_instances(dag_id, run_id)),
    )
    with connect(monitor_dsn) as conn:
        return chain_report.chain(conn, dag_id, run_id, view)


def report_lines(chain: ChainOut | None) -> list[str]:
    """Indented lines: the failed task instances by error category, then one line per incident."""
    if chain is None:
        return ["     the monitor store and Airflow know nothing of this run"]
    failed = Counter(
        node.error_category or "uncategorized"
        for stage in chain.stages
        for node in stage.nodes
        if node.state == "failed"
    )
    lines = []
    if failed:
        lines.append("     failures by category: " + ", ".join(f"{c} {n}" for c, n in failed.most_common()))
    lines += [f"     {incident.kind:<8} {incident.text}" for incident in chain.incidents]
    return lines or ["     no incidents"]
