"""The JSON API (``/scraper-monitor/api/...``) and the CSV export behind the panels."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from scraper_monitor.export import COLUMNS, csv_row
from scraper_monitor.store import queries as store
from scraper_monitor.web import models, services
from scraper_monitor.web.deps import Settings, Store, open_store
from scraper_monitor.web.params import (
    CategoryParam,
    DaysParam,
    Filters,
    HoursParam,
    LimitParam,
    OffsetParam,
    ScraperParam,
)

router = APIRouter(prefix="/api", tags=["scraper monitor"])

_503 = {503: {"description": "the monitor store is not configured, down or too slow"}}
EXPORT_MAX_ROWS = 100_000


@router.get("/overview", response_model=models.OverviewOut, responses=_503)
def overview(conn: Store, hours: HoursParam = 24) -> models.OverviewOut:
    """Success rate, durations and SLO status per scraper, silent failures of the last 24 h, recent runs."""
    return services.overview(conn, hours)


@router.get("/executions", response_model=models.ExecutionPage, responses=_503)
def executions(
    conn: Store, filters: Filters, limit: LimitParam = 50, offset: OffsetParam = 0
) -> models.ExecutionPage:
    """Tries matching every given filter, newest first, with the total for paging."""
    return services.executions(conn, filters, limit, offset)


@router.get(
    "/executions/{execution_id}",
    response_model=models.ExecutionDetail,
    responses={**_503, 404: {"description": "no such execution"}},
)
def execution(conn: Store, execution_id: int) -> models.ExecutionDetail:
    """One try with all tries of its task instance and its item outcomes (the drill-down)."""
    detail = services.execution_detail(conn, execution_id)
    if detail is None:
        raise HTTPException(404, f"no execution with id {execution_id}")
    return detail


@router.get("/runs", response_model=list[models.RunOut], responses=_503)
def runs(conn: Store, limit: LimitParam = 50, scraper: ScraperParam = None) -> list[models.RunOut]:
    """The most recent DAG runs with a summary in the store, newest first (links to their chains)."""
    return services.runs(conn, limit, scraper=scraper)


@router.get("/errors", response_model=models.ErrorsOut, responses=_503)
def errors(
    conn: Store, hours: HoursParam = 24 * 7, scraper: ScraperParam = None, category: CategoryParam = None
) -> models.ErrorsOut:
    """Failures (failed and retrying tries) by category, and the most frequent error fingerprints
    with a count and an example message (``category`` narrows the fingerprints)."""
    return services.errors(conn, hours, scraper=scraper, category=category)


@router.get("/silent-failures", response_model=models.SilentOut, responses=_503)
def silent_failures(
    conn: Store, hours: HoursParam = 24, limit: LimitParam = 100, scraper: ScraperParam = None
) -> models.SilentOut:
    """Successes that produced nothing they should have, newest first."""
    return services.silent_failures(conn, hours, limit, scraper=scraper)


@router.get(
    "/chains/{dag_id}/{run_id}",
    response_model=models.ChainOut,
    responses={**_503, 404: {"description": "neither Airflow nor the store knows this run"}},
)
def chain(conn: Store, settings: Settings, dag_id: str, run_id: str) -> models.ChainOut:
    """One DAG run as ordered stages (sync, cinema-days / day pages, films, showtime batches) with
    states from Airflow, counts and errors from the store, and cascades collapsed into incidents."""
    result = services.chain(conn, settings.ti_source, dag_id, run_id)
    if result is None:
        raise HTTPException(404, f"no task instances or executions for run {run_id!r} of {dag_id!r}")
    return result


@router.get("/trends", response_model=models.TrendsOut, responses=_503)
def trends(conn: Store, days: DaysParam = 30, scraper: ScraperParam = None) -> models.TrendsOut:
    """Executions, success rate and errors per category by day (from the daily rollups), per scraper,
    and this week against last week."""
    return services.trends(conn, days, scraper=scraper)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**_503, 200: {"content": {"text/csv": {}}, "description": "one row per try"}},
)
def export_csv(settings: Settings, filters: Filters) -> StreamingResponse:
    """The executions matching the same filters as ``/api/executions``, as CSV (up to 100,000 rows).
    Cells that a spreadsheet would run as a formula are prefixed with a quote."""
    # The connection lives as long as the stream, not the handler, so it is opened here rather than
    # through the Store dependency. The first page is read before responding: a store that is down
    # is still a 503, not a cut-off file.
    conn = open_store(settings)
    try:
        rows = store.iter_executions(conn, filters, EXPORT_MAX_ROWS)
        first = next(rows, None)
    except BaseException:
        conn.close()
        raise

    def body() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        try:
            for execution in itertools.chain([first] if first else [], rows):
                writer.writerow(csv_row(execution))
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
        finally:
            conn.close()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="scraper-executions-{stamp}.csv"'},
    )
