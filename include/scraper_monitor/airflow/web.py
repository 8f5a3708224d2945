"""The web app as the Airflow plugin serves it: Airflow's login, Airflow's task instances, the store's DSN.

``scraper_monitor.web`` stays Airflow-free; this is its Airflow side. It runs inside the api-server, a
"server" process that may read the metadata DB (unlike task code on the workers).
"""

from __future__ import annotations

from functools import cache

from fastapi import FastAPI

from scraper_monitor.airflow.connections import monitor_dsn
from scraper_monitor.airflow.task_instances import OrmTaskInstances
from scraper_monitor.web import create_app


@cache
def build_app() -> FastAPI:
    """The plugin's app: every route requires an Airflow user allowed to see plugin views."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    return create_app(
        dsn_provider=monitor_dsn,
        auth_dependency=requires_access_view(AccessView.PLUGINS),
        ti_source=OrmTaskInstances(),
    )
