"""The web app as the Airflow plugin serves it: Airflow's login, Airflow's per-DAG permissions, Airflow's
task instances, the store's DSN.

``scraper_monitor.web`` stays Airflow-free; this is its Airflow side. It runs inside the api-server, a
"server" process that may read the metadata DB (unlike task code on the workers).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Depends, FastAPI

from scraper_monitor.airflow.connections import monitor_dsn
from scraper_monitor.airflow.task_instances import OrmTaskInstances
from scraper_monitor.web import create_app


def readable_dags(user: Any, auth_manager: Any = None) -> frozenset[str] | None:
    """The DAGs ``user`` may read, as the deployment's auth manager says; None when they may read
    every DAG (then rows of DAGs deleted since they ran stay visible too).

    The cluster policy records every DAG of the deployment, so with per-DAG roles (FAB, Keycloak,
    multi-team) a panel must not show what Airflow itself would refuse."""
    if auth_manager is None:
        from airflow.api_fastapi.app import get_auth_manager

        auth_manager = get_auth_manager()
    if auth_manager.is_authorized_dag(method="GET", user=user):
        return None
    return frozenset(auth_manager.get_authorized_dag_ids(user=user, method="GET"))


@cache
def build_app() -> FastAPI:
    """The plugin's app: every route requires an Airflow user allowed to see plugin views, and shows
    only the DAGs that user may read."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    # A default, not an annotation: this module's annotations are strings, which FastAPI would look
    # up among the module's globals, where Airflow's names are not (Airflow is imported here).
    def dag_scope(user: Any = Depends(get_user)) -> frozenset[str] | None:
        return readable_dags(user)

    return create_app(
        dsn_provider=monitor_dsn,
        auth_dependency=requires_access_view(AccessView.PLUGINS),
        ti_source=OrmTaskInstances(),
        dag_scope=dag_scope,
    )
