"""The executions panel and the drill-down: ``GET /executions``, ``/executions/{id}``, their API
twins, and the CSV export of the same filters."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.background import BackgroundTask

from scraper_monitor.category import CATEGORIES
from scraper_monitor.export import COLUMNS, csv_row
from scraper_monitor.reports import executions as report
from scraper_monitor.state import STATES
from scraper_monitor.web.deps import Settings, Store, Visible, open_store
from scraper_monitor.web.params import Filters, LimitParam, OffsetParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)

PAGE_SIZE = 25
EXPORT_MAX_ROWS = 100_000
# A download whose client stops reading holds a transaction open; past this the server ends it.
EXPORT_IDLE_MS = 30_000
_404 = {404: {"description": "no such execution"}}


@api.get("/executions", response_model=report.ExecutionPage, responses=STORE_503)
def executions(
    conn: Store, filters: Filters, limit: LimitParam = 50, offset: OffsetParam = 0
) -> report.ExecutionPage:
    """Tries matching every given filter, newest first, with the total for paging."""
    return report.page(conn, filters, limit, offset)


@api.get("/executions/{execution_id}", response_model=report.ExecutionDetail, responses={**STORE_503, **_404})
def execution(conn: Store, visible: Visible, execution_id: int) -> report.ExecutionDetail:
    """One try with all tries of its task instance and its item outcomes (the drill-down)."""
    return _detail(conn, execution_id, visible)


@pages.get("/executions")
def executions_page(
    request: Request, conn: Store, filters: Filters, visible: Visible, offset: OffsetParam = 0
) -> HTMLResponse:
    return page(
        request,
        "executions.html",
        active="executions",
        page=report.page(conn, filters, PAGE_SIZE, offset),
        filters=filters,
        scrapers=report.scraper_names(conn, visible),
        cities=report.city_names(conn, visible),
        categories=CATEGORIES,
        states=STATES,
    )


@pages.get("/executions/{execution_id}")
def execution_page(request: Request, conn: Store, visible: Visible, execution_id: int) -> HTMLResponse:
    detail = _detail(conn, execution_id, visible)
    return page(request, "execution.html", root="../", active="", detail=detail)


def _detail(conn: Store, execution_id: int, visible: frozenset[str] | None) -> report.ExecutionDetail:
    # A try of a DAG the user may not read is as absent as one that does not exist.
    found = report.detail(conn, execution_id, visible)
    if found is None:
        raise HTTPException(404, f"no execution with id {execution_id}")
    return found


@api.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**STORE_503, 200: {"content": {"text/csv": {}}, "description": "one row per try"}},
)
def export_csv(settings: Settings, filters: Filters) -> StreamingResponse:
    """The executions matching the same filters as ``/api/executions``, as CSV (up to 100,000 rows).
    Cells that a spreadsheet would run as a formula are prefixed with a quote."""
    # The connection lives as long as the stream, not the handler, so it is opened here rather than
    # through the Store dependency. The first page is read before responding: a store that is down
    # is still a 503, not a cut-off file. It is closed when the response ends, however it ends: a
    # client that goes away leaves the generator unfinished (its finally would wait for the garbage
    # collector), and one that stalls is cut off by the server after EXPORT_IDLE_MS.
    conn = open_store(settings, idle_in_transaction_ms=EXPORT_IDLE_MS)
    try:
        rows = report.iter_executions(conn, filters, EXPORT_MAX_ROWS)
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
        background=BackgroundTask(conn.close),
    )
