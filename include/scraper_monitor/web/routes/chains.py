"""The chain panel: ``GET /chain/{dag_id}/{run_id}`` and ``GET /api/chains/{dag_id}/{run_id}``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor.reports import chain as report
from scraper_monitor.web.deps import Settings, Store, Visible
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)


def _chain(
    conn: Store, settings: Settings, visible: frozenset[str] | None, dag_id: str, run_id: str
) -> report.ChainOut | None:
    if visible is not None and dag_id not in visible:
        # As Airflow answers for the DAG's own runs.
        raise HTTPException(403, f"not allowed to read DAG {dag_id!r}")
    return report.chain(conn, dag_id, run_id, report.read_source(settings.ti_source, dag_id, run_id))


@api.get(
    "/chains/{dag_id}/{run_id}",
    response_model=report.ChainOut,
    responses={
        **STORE_503,
        403: {"description": "the user may not read this DAG"},
        404: {"description": "neither Airflow nor the store knows this run"},
    },
)
def chain(conn: Store, settings: Settings, visible: Visible, dag_id: str, run_id: str) -> report.ChainOut:
    """One DAG run as ordered stages (sync, cinema-days / day pages, films, showtime batches) with
    states from Airflow, counts and errors from the store, and cascades collapsed into incidents."""
    result = _chain(conn, settings, visible, dag_id, run_id)
    if result is None:
        raise HTTPException(404, f"no task instances or executions for run {run_id!r} of {dag_id!r}")
    return result


@pages.get("/chain/{dag_id}/{run_id}")
def chain_page(
    request: Request, conn: Store, settings: Settings, visible: Visible, dag_id: str, run_id: str
) -> HTMLResponse:
    result = _chain(conn, settings, visible, dag_id, run_id)
    if result is None:
        # Also what the Airflow "Chain" tab shows for a run that has not started any task yet.
        return page(request, "chain_missing.html", root="../../", active="runs", dag_id=dag_id, run_id=run_id)
    return page(request, "chain.html", root="../../", active="runs", chain=result)
