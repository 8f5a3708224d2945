"""The scraper monitor web app: HTML panels and the JSON API behind them, one FastAPI app.

Every route, including the assets, ``openapi.json`` and ``metrics``, goes through the injected auth
dependency. That is why FastAPI's own docs routes are switched off and ``StaticFiles`` is not used:
both are plain Starlette routes that app-level dependencies never reach, so they would be anonymous.
"""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import Callable
from functools import cache
from typing import Any

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from scraper_monitor.airflow.rest import AirflowApi
from scraper_monitor.reports.background import BackgroundDagRecord
from scraper_monitor.reports.chain import TaskInstanceSource
from scraper_monitor.web import routes
from scraper_monitor.web.deps import MonitorSettings, StoreUnavailable, editor, triggerer, visible_dags
from scraper_monitor.web.rendering import render_error

log = logging.getLogger(__name__)

DESCRIPTION = """\
What Airflow's own UI cannot show about scraper DAGs: error categories, silent failures (runs that
"succeeded" but produced nothing), where in a chain a failure cascaded, and trends.

Every endpoint needs an Airflow login: `Authorization: Bearer <jwt>` (from `POST /auth/token`) or the
`_token` cookie of the Airflow UI. A store that cannot answer gives **503** with a `detail` message;
bad parameters give **422**.
"""


def create_app(
    dsn_provider: Callable[[], str],
    auth_dependency: Callable[..., Any],
    ti_source: TaskInstanceSource | None = None,
    dag_scope: Callable[..., frozenset[str] | None] | None = None,
    may_edit: Callable[..., str | None] | None = None,
    form_secret: bytes | None = None,
    may_trigger: Callable[..., str | None] | None = None,
    airflow_client: Callable[[], AirflowApi] | None = None,
    background_source: Callable[[], list[BackgroundDagRecord]] | None = None,
) -> FastAPI:
    """Build the app.

    ``dsn_provider`` returns the monitor store's DSN (called per request, so a changed connection is
    picked up without a restart); ``auth_dependency`` is a FastAPI dependency that raises 401/403 for
    anonymous users; ``ti_source`` supplies Airflow task-instance states for the chain view (without
    it, chains are built from the store alone); ``dag_scope`` is a FastAPI dependency giving the DAGs
    the request's user may read (None: all), which every panel, count, chart, export and chain obeys.
    ``may_edit`` is a FastAPI dependency giving the name of the request's user when they may change
    things from the panels (accept a rule), else None; without it the panels only read.
    ``form_secret`` signs the forms' tokens (default: random, good for one process only).
    ``may_trigger`` is a FastAPI dependency giving the name of the request's user when they may change
    city discovery (switch, edit, trigger now), else None; ``airflow_client`` returns a logged-in
    client of Airflow's REST API, through which the Discovery panel checks settings and triggers runs
    (without it the panel reads the store and says that it cannot check or trigger).
    ``background_source`` returns what Airflow knows of the monitor's own DAGs, for the overview's
    health line (without it, the line is left out).
    """
    app = FastAPI(
        title="Scraper monitor",
        description=DESCRIPTION,
        version="1",
        dependencies=[Depends(auth_dependency)],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.monitor = MonitorSettings(
        dsn_provider=dsn_provider,
        ti_source=ti_source,
        form_secret=form_secret or secrets.token_bytes(32),
        airflow_client=airflow_client,
        background_source=background_source,
    )
    if dag_scope is not None:
        app.dependency_overrides[visible_dags] = dag_scope
    if may_edit is not None:
        app.dependency_overrides[editor] = may_edit
    if may_trigger is not None:
        app.dependency_overrides[triggerer] = may_trigger
    app.include_router(routes.api)
    app.include_router(routes.pages)
    _install_error_handlers(app)
    _document_bad_parameters(app)
    _settle_heap()
    return app


@cache
def _settle_heap() -> None:
    """Once per process: collect, then put everything the process holds by now out of the cyclic
    collector's reach (``gc.freeze``). Its full collections walk every tracked object; in the
    api-server that is all of Airflow's, and one took ~100 ms here with this app alone (more beside
    Airflow), landing on whichever request tipped it: the slowest twentieth of the 90-day trends
    requests at 10 M executions were those pauses. Frozen objects are still freed when no longer
    referenced; only cycles among them stay, and what exists at startup lives as long as the server.
    """
    gc.collect()
    gc.freeze()


def _document_bad_parameters(app: FastAPI) -> None:
    """Make the OpenAPI document describe the 422 this app sends (``bad_parameters`` below: one
    readable ``detail`` line plus pydantic's ``errors``), not FastAPI's default shape, so a client
    generated from the document, or a fuzzer checking answers against it, reads what it gets."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it: the change below is made once
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = {
                "title": "InvalidParameters",
                "type": "object",
                "properties": {
                    "detail": {"type": "string", "title": "what is wrong, one line per parameter"},
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
                },
                "required": ["detail"],
            }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _wants_html(request: Request) -> bool:
    return "/api/" not in request.url.path and "text/html" in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str, title: str) -> Response:
    if _wants_html(request):
        return HTMLResponse(render_error(request, status=status, title=title, message=message), status)
    return JSONResponse({"detail": message}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        log.warning("scraper monitor: store unavailable: %s", exc)
        return _error(request, 503, str(exc), "The monitor store is unavailable")

    @app.exception_handler(psycopg.OperationalError)
    async def store_failed(request: Request, exc: psycopg.OperationalError) -> Response:
        # Lost connection or statement timeout mid-request. The class name is enough for the user;
        # the server message can carry host names and stays in the log.
        log.warning("scraper monitor: store query failed: %s", exc)
        message = f"the monitor store did not answer ({type(exc).__name__}); try again shortly"
        return _error(request, 503, message, "The monitor store is unavailable")

    @app.exception_handler(psycopg.errors.UndefinedTable)
    async def store_not_migrated(request: Request, exc: psycopg.errors.UndefinedTable) -> Response:
        message = "the monitor store has no tables yet: run `scraper-monitor db upgrade`"
        return _error(request, 503, message, "The monitor store is not set up")

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()
        ]
        message = "invalid parameters: " + "; ".join(problems)
        if _wants_html(request):
            return _error(request, 422, message, "Invalid filter")
        return JSONResponse({"detail": message, "errors": jsonable_encoder(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {401: "Log in to Airflow first", 403: "Not allowed", 404: "Not found"}
        if _wants_html(request):
            return _error(request, exc.status_code, str(exc.detail), titles.get(exc.status_code, "Error"))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("scraper monitor: unexpected error on %s", request.url.path)
        return _error(request, 500, "unexpected error; see the api-server log", "Something went wrong")
