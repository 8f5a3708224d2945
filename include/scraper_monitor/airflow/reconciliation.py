"""Reconcile runs against Airflow's REST API, and repair what is missing (``reconcile --repair``).

``scraper_monitor.reconcile`` compares (pure); ``scraper_monitor.recovery`` builds a recovered summary
(pure). This module does the I/O around them: Airflow's tries, DAG tags, run dates and task logs over
REST, the store's rows and writes. The CLI and the maintenance DAG call ``reconcile_run`` /
``reconcile_since`` and render the same ``RunReconciliation``.

The repair writes only missing rows. A row that disagrees with Airflow (``state_mismatch``) or a row
for a try Airflow does not know (``unknown_try``) came from the task itself and is reported, never
overwritten. Running the repair twice changes nothing: the second run finds no missing row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from scraper_monitor.airflow import rest
from scraper_monitor.airflow.task_instances import rest_tries
from scraper_monitor.city import city_of
from scraper_monitor.reconcile import AirflowTry, RunReconciliation, compare, latest_tries
from scraper_monitor.recording import scraper_name
from scraper_monitor.recovery import error_from_log, recovered_summary
from scraper_monitor.reports import executions
from scraper_monitor.store.persist import save

log = logging.getLogger(__name__)


def _log_error(api: rest.AirflowApi, dag_id: str, run_id: str, t: AirflowTry) -> str | None:
    """The try's error from its log; None when the log cannot be read (its worker is gone)."""
    try:
        return error_from_log(api.task_log(dag_id, run_id, t.task_id, t.map_index, t.try_number))
    except rest.AirflowError as exc:
        log.info("reconcile: no log for %s of %s/%s (%s)", t.label, dag_id, run_id, exc)
        return None


def run_city(details: dict[str, Any], run: dict[str, Any]) -> str | None:
    """The run's city as its tasks saw it: the DAG's param defaults overridden by the run's conf."""
    params = {
        name: param.get("value") if isinstance(param, dict) else param
        for name, param in (details.get("params") or {}).items()
    }
    return city_of({**params, **(run.get("conf") or {})})


def reconcile_run(
    api: rest.AirflowApi, conn: psycopg.Connection, dag_id: str, run_id: str, *, repair: bool = False
) -> RunReconciliation:
    """Compare one run; with ``repair``, write a recovered summary for every missing row first."""
    tries = rest_tries(api, dag_id, run_id)
    rows = executions.of_run(conn, dag_id, run_id)
    recovered: list[str] = []
    missing = [d for d in compare(tries, rows) if d.kind == "missing_row"]
    if repair and missing:
        by_key = latest_tries(tries)
        details, run = api.dag_details(dag_id), api.dag_run(dag_id, run_id)
        tags = [t["name"] for t in details.get("tags") or []]
        logical = run.get("logical_date")
        for difference in missing:
            attempt = by_key[(difference.task_id, difference.map_index, difference.try_number)]
            summary = recovered_summary(
                dag_id,
                run_id,
                attempt,
                difference.expected_state or "",
                scraper=scraper_name(dag_id, tags),
                logical_date=datetime.fromisoformat(logical) if logical else None,
                log_error=_log_error(api, dag_id, run_id, attempt),
                city=run_city(details, run),
            )
            if save(conn, summary) is not None:
                recovered.append(attempt.label)
        rows = executions.of_run(conn, dag_id, run_id)
    return RunReconciliation.of(dag_id, run_id, tries, rows, recovered)


def finished_runs(api: rest.AirflowApi, since: datetime, dag_id: str | None = None) -> list[tuple[str, str]]:
    """(dag_id, run_id) of every run of ``dag_id`` (else of every DAG) that ended since ``since``."""
    runs = api.dag_runs(dag_id or "~", end_date_gte=since.isoformat(), state=["success", "failed"])
    return sorted((r["dag_id"], r["dag_run_id"]) for r in runs)


def reconcile_since(
    api: rest.AirflowApi,
    conn: psycopg.Connection,
    since: datetime,
    *,
    dag_id: str | None = None,
    repair: bool = False,
) -> list[RunReconciliation]:
    """Every finished run in the window, one reconciliation each."""
    return [reconcile_run(api, conn, d, r, repair=repair) for d, r in finished_runs(api, since, dag_id)]
