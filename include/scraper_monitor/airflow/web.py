"""The web app as the Airflow plugin serves it: Airflow's login, Airflow's per-DAG permissions, Airflow's
task instances, the store's DSN, Airflow's REST API, who may accept a rule from the Errors panel and
who may change city discovery from its panel.

``scraper_monitor.web`` stays Airflow-free; this is its Airflow side. It runs inside the api-server, a
"server" process that may read the metadata DB (unlike task code on the workers).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from fastapi import Depends, FastAPI

from scraper_monitor.airflow.background import background_dag_records
from scraper_monitor.airflow.connections import airflow_api, monitor_dsn
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


def may_edit(user: Any, auth_manager: Any = None) -> bool:
    """Whether ``user`` may accept a rule from the Errors panel.

    A rule in the team's rules file decides how the failures of every DAG are filed (and re-filing
    rewrites stored tries of any DAG), so it takes what editing every DAG takes: the auth manager's
    ``is_authorized_dag(method="PUT")`` with no DAG named. That is FAB's "can edit on DAGs" (roles
    User, Op, Admin), the simple auth manager's USER role and up; a Viewer, or a role that may edit
    some DAGs only, reads the panel and gets 403 on the form."""
    if auth_manager is None:
        from airflow.api_fastapi.app import get_auth_manager

        auth_manager = get_auth_manager()
    return bool(auth_manager.is_authorized_dag(method="PUT", user=user))


def may_trigger(user: Any, auth_manager: Any = None) -> bool:
    """Whether ``user`` may change city discovery from its panel: switch a city or source, edit a
    source's frequency and settings, trigger a source now.

    Each of those decides which DAG runs get created, so it takes what triggering a run takes: the
    auth manager's ``is_authorized_dag(method="POST", access_entity=RUN)`` with no DAG named (FAB's
    "can create on DAG Runs": roles User, Op, Admin; the simple auth manager's USER and up)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    if auth_manager is None:
        from airflow.api_fastapi.app import get_auth_manager

        auth_manager = get_auth_manager()
    return bool(auth_manager.is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN, user=user))


def form_secret() -> bytes:
    """The key of the panels' form tokens, from ``[api] secret_key``, which every api-server of the
    deployment shares (a form rendered by one is posted to another). Hashed with a label, so the
    tokens are never signed with Airflow's own key as it is."""
    from airflow.configuration import conf

    return hashlib.sha256(b"scraper-monitor forms\0" + conf.get("api", "secret_key").encode()).digest()


@cache
def build_app() -> FastAPI:
    """The plugin's app: every route requires an Airflow user allowed to see plugin views, shows
    only the DAGs that user may read, lets only a user who may edit every DAG accept a rule and only a
    user who may trigger DAG runs change city discovery (through the ``airflow_api`` connection)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    # A default, not an annotation: this module's annotations are strings, which FastAPI would look
    # up among the module's globals, where Airflow's names are not (Airflow is imported here).
    def dag_scope(user: Any = Depends(get_user)) -> frozenset[str] | None:
        return readable_dags(user)

    def editor(user: Any = Depends(get_user)) -> str | None:
        return user.get_name() if may_edit(user) else None

    def triggerer(user: Any = Depends(get_user)) -> str | None:
        return user.get_name() if may_trigger(user) else None

    return create_app(
        dsn_provider=monitor_dsn,
        auth_dependency=requires_access_view(AccessView.PLUGINS),
        ti_source=OrmTaskInstances(),
        dag_scope=dag_scope,
        may_edit=editor,
        form_secret=form_secret(),
        may_trigger=triggerer,
        airflow_client=airflow_api,
        background_source=background_dag_records,
    )
