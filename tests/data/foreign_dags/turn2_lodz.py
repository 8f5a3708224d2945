"""A DAG id and task ids with letters beyond ASCII, as Airflow allows them (any word character), and a
mapped task whose input can shrink between a run and its clear (the Variable turn2_n, default 3)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Variable, task

with DAG(
    "turn2_łódź",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 0},
    tags=["foreign"],
):

    @task(task_id="lista_zadań")
    def make_list() -> list[int]:
        return list(range(int(Variable.get("turn2_n", default=3))))

    @task(task_id="zadanie_ż")
    def work(n: int) -> int:
        return n * 2

    work.expand(n=make_list())
