"""The web app as the Airflow plugin serves it: Airflow's login, Airflow's task instances, the store's DSN.

This is the web app's only Airflow glue; ``scraper_monitor.web`` stays Airflow-free. It runs inside the
api-server, a "server" process that may read the metadata DB (unlike task code on the workers).
"""

from __future__ import annotations

import os
from functools import cache

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.common.dagbag import create_dag_bag
from airflow.api_fastapi.core_api.security import requires_access_view
from airflow.models.dagbag import DBDagBag
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from fastapi import FastAPI
from sqlalchemy import select

from scraper_monitor.airflow_glue import MONITOR_CONN_ID, connection_dsn
from scraper_monitor.chain import DagStructure, TaskInstanceRecord, TaskSpec
from scraper_monitor.web import create_app

DSN_ENV = "SCRAPER_MONITOR_DSN"


def monitor_dsn() -> str:
    """The env var wins (local stack, tests); else the Airflow connection ``scraper_monitor_db``.

    Resolved per request, not cached: editing the connection in the UI takes effect without a restart.
    """
    return os.environ.get(DSN_ENV) or connection_dsn(MONITOR_CONN_ID)


class AirflowTaskInstances:
    """Task-instance states and DAG structure of a run, read through Airflow's ORM."""

    def __init__(self) -> None:
        # The api-server's own kind of bag: serialized DAGs behind an LRU + TTL cache.
        self._dag_bag: DBDagBag = create_dag_bag()

    def dag_structure(self, dag_id: str, run_id: str) -> DagStructure | None:
        with create_session() as session:
            dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
            if dag_run is None:
                return None
            # The DAG version the run was created with: the structure may have changed since.
            dag = self._dag_bag.get_dag_for_run(dag_run, session=session)
            if dag is None:
                return None
            tasks = tuple(TaskSpec(t.task_id, tuple(sorted(t.upstream_task_ids))) for t in dag.tasks)
        return DagStructure(dag_id=dag_id, tasks=tasks)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceRecord]:
        query = select(
            TaskInstance.task_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance.try_number,
            TaskInstance.start_date,
            TaskInstance.end_date,
            TaskInstance.duration,
        ).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        with create_session() as session:
            rows = session.execute(query).all()
        return [
            TaskInstanceRecord(
                task_id=row.task_id,
                map_index=row.map_index,
                # str() of a TaskInstanceState is its value; the chain speaks plain strings.
                state=str(row.state) if row.state is not None else None,
                try_number=row.try_number or 0,
                start_date=row.start_date,
                end_date=row.end_date,
                duration=row.duration,
            )
            for row in rows
        ]


@cache
def build_app() -> FastAPI:
    """The plugin's app: every route requires an Airflow user allowed to see plugin views."""
    return create_app(
        dsn_provider=monitor_dsn,
        auth_dependency=requires_access_view(AccessView.PLUGINS),
        ti_source=AirflowTaskInstances(),
    )
