"""What the routes depend on: the store connection, the task-instance source and Airflow's REST API,
all injected.

``create_app`` receives a DSN provider, a task-instance source and an Airflow client factory instead of
importing Airflow, so the web app runs (and is tested) without Airflow; ``scraper_monitor.airflow.web``
passes the real ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, Request

from scraper_monitor.airflow.rest import AirflowApi
from scraper_monitor.reports.background import BackgroundDagRecord
from scraper_monitor.reports.chain import TaskInstanceSource
from scraper_monitor.store import db

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The monitor store cannot answer: not configured, down, too slow or not migrated."""


@dataclass(frozen=True)
class MonitorSettings:
    dsn_provider: Callable[[], str]
    ti_source: TaskInstanceSource | None
    #: Signs the tokens of the forms that change something (web.forms); every api-server worker
    #: must have the same one, or a form rendered by one is refused by another.
    form_secret: bytes
    #: A logged-in client of Airflow's REST API (the Discovery panel checks settings against a DAG's
    #: params and triggers runs through it); None: not configured, the panel says so and only reads.
    airflow_client: Callable[[], AirflowApi] | None = None
    #: What Airflow knows of the monitor's own DAGs (the overview's health line); None outside Airflow.
    background_source: Callable[[], list[BackgroundDagRecord]] | None = None


def settings(request: Request) -> MonitorSettings:
    return request.app.state.monitor


def store_dsn(monitor: MonitorSettings) -> str:
    try:
        return monitor.dsn_provider()
    except Exception as exc:  # the provider reads env / Airflow connections: any failure means "no DSN"
        raise StoreUnavailable(
            "the monitor store is not configured: set the Airflow connection scraper_monitor_db "
            f"or SCRAPER_MONITOR_DSN ({type(exc).__name__})"
        ) from exc


def open_store(monitor: MonitorSettings, *, idle_in_transaction_ms: int | None = None) -> psycopg.Connection:
    """A short-timeout connection; any failure to get one is a 503 (StoreUnavailable), not a 500."""
    dsn = store_dsn(monitor)
    try:
        return db.connect(dsn, idle_in_transaction_ms=idle_in_transaction_ms)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot connect to the monitor store ({type(exc).__name__})") from exc


def store_connection(request: Request) -> Iterator[psycopg.Connection]:
    """One connection per request, closed when the request is done."""
    conn = open_store(settings(request))
    try:
        yield conn
    finally:
        conn.close()


def background_dags(request: Request) -> list[BackgroundDagRecord] | None:
    """The background DAGs as Airflow sees them; None when there is no Airflow to ask or it did not
    answer (the overview then leaves the health line out rather than fail)."""
    source = settings(request).background_source
    if source is None:
        return None
    try:
        return source()
    except Exception:  # the metadata DB is Airflow's: any failure there must not take the panel down
        log.warning("scraper monitor: could not read the background DAGs from Airflow", exc_info=True)
        return None


def visible_dags() -> frozenset[str] | None:
    """The DAGs the request's user may read; None: all of them. ``create_app(dag_scope=...)``
    replaces this with the deployment's answer (the Airflow door asks Airflow's auth manager)."""
    return None


def editor() -> str | None:
    """Who may change things from the panels (accept a rule on the Errors panel): the request's
    user's name, None when they may not. ``create_app(editor=...)`` replaces this with the
    deployment's answer (the Airflow door asks Airflow's auth manager); by default nobody may."""
    return None


def triggerer() -> str | None:
    """Who may change city discovery from its panel (switch, edit, trigger now): the request's user's
    name, None when they may not. ``create_app(may_trigger=...)`` replaces this with the deployment's
    answer (the Airflow door asks whether the user may trigger DAG runs); by default nobody may."""
    return None


Store = Annotated[psycopg.Connection, Depends(store_connection)]
Visible = Annotated[frozenset[str] | None, Depends(visible_dags)]
Settings = Annotated[MonitorSettings, Depends(settings)]
Editor = Annotated[str | None, Depends(editor)]
Triggerer = Annotated[str | None, Depends(triggerer)]
BackgroundDags = Annotated[list[BackgroundDagRecord] | None, Depends(background_dags)]
