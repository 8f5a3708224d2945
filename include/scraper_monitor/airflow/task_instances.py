"""A run's task instances and DAG structure, from Airflow: two sources side by side.

- ``OrmTaskInstances`` reads Airflow's metadata DB through its ORM. Only "server" processes may do that
  (the api-server, where the plugin's web app runs); Airflow is imported inside its methods.
- ``read_rest`` asks the REST API (the CLI, from anywhere): plain ``requests``, no Airflow import.

Both give the chain's plain records (``TaskInstanceRecord``, ``DagStructure``) with Airflow's own state
strings; ``scraper_monitor.state.from_airflow`` translates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scraper_monitor import settings
from scraper_monitor.airflow import rest
from scraper_monitor.chain import DagStructure, TaskInstanceRecord, TaskSpec
from scraper_monitor.reconcile import AirflowTry, api_time
from scraper_monitor.reports.chain import AirflowView

# --- the ORM (inside the api-server) -------------------------------------------------------------


class OrmTaskInstances:
    """Task-instance states and DAG structure of a run, read through Airflow's ORM."""

    def __init__(self) -> None:
        from airflow.api_fastapi.common.dagbag import create_dag_bag

        # The api-server's own kind of bag: serialized DAGs behind an LRU + TTL cache.
        self._dag_bag = create_dag_bag()

    def dag_structure(self, dag_id: str, run_id: str) -> DagStructure | None:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select

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
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        query = select(
            TaskInstance.task_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance.try_number,
            TaskInstance.start_date,
            TaskInstance.end_date,
            TaskInstance.duration,
            TaskInstance.rendered_map_index,
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
                name=row.rendered_map_index,
            )
            for row in rows
        ]


# --- the REST API (the CLI) ----------------------------------------------------------------------


def task_instance_record(raw: Mapping[str, Any]) -> TaskInstanceRecord:
    return TaskInstanceRecord(
        task_id=raw["task_id"],
        map_index=int(raw["map_index"]),
        state=raw.get("state"),
        try_number=int(raw.get("try_number") or 0),
        start_date=api_time(raw.get("start_date")),
        end_date=api_time(raw.get("end_date")),
        duration=raw.get("duration"),
        name=raw.get("rendered_map_index"),
    )


def dag_structure(dag_id: str, tasks: list[dict[str, Any]]) -> DagStructure:
    """The REST API lists downstream ids; the chain wants each task's upstream ids."""
    upstream: dict[str, list[str]] = {t["task_id"]: [] for t in tasks}
    for task in tasks:
        for child in task.get("downstream_task_ids") or []:
            upstream.setdefault(child, []).append(task["task_id"])
    return DagStructure(dag_id, tuple(TaskSpec(tid, tuple(ups)) for tid, ups in upstream.items()))


def read_rest(url: str | None, dag_id: str, run_id: str) -> AirflowView:
    """The run as the REST API at ``url`` (or the configured one) sees it; errors become ``error``."""
    api_url = settings.airflow_url(url)
    structure = None
    try:
        api = rest.connect(api_url)
        structure = dag_structure(dag_id, api.tasks(dag_id))
        tis = tuple(task_instance_record(t) for t in api.task_instances(dag_id, run_id))
    except rest.AirflowUnreachable as exc:
        return AirflowView(structure, url=api_url, error=f"Airflow unreachable: {exc}")
    except rest.AirflowHttpError as exc:
        if exc.status == 404:
            return AirflowView(
                structure, url=api_url, error="Airflow does not know this DAG or run (HTTP 404)"
            )
        return AirflowView(structure, url=api_url, error=f"Airflow refused the request: {exc}")
    return AirflowView(structure, tis, url=api_url)


def rest_tries(api: rest.AirflowApi, dag_id: str, run_id: str) -> list[AirflowTry]:
    """Every try of the run: each task instance's current try plus its ``/tries`` history.

    The history is fetched only where it can hold a try the task instance does not show: past try
    1, or at try 1 when the instance was cleared and waits (its finished try is in the history).
    That keeps a run of a hundred single-try instances at one paged request.
    """
    tries: list[AirflowTry] = []
    for ti in api.task_instances(dag_id, run_id):
        current = AirflowTry.from_api(ti)
        tries.append(current)
        if current.try_number > 1 or (current.try_number == 1 and current.pending):
            history = api.task_instance_tries(dag_id, run_id, current.task_id, current.map_index)
            tries += [AirflowTry.from_api(t) for t in history]
    return tries
