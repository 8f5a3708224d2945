"""The failures Airflow itself raises in DAGs nobody here wrote, one task each: a bash command that exits
non-zero, a sensor that times out, a missing connection and variable, a task that fails on purpose, and
an upstream XCom that was never pushed. None of them came from the network; the monitor must say what
each was (tests/local_stack/test_foreign_dags.py)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, BaseHook, Variable, XComArg, task
from airflow.sdk.exceptions import AirflowFailException

with DAG(
    "airflow_failures",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 0},
    tags=["foreign"],
):
    BashOperator(task_id="bash_exit", bash_command="exit 1")

    PythonSensor(
        task_id="sensor_times_out", python_callable=lambda: False, timeout=2, poke_interval=1, mode="poke"
    )

    @task
    def missing_connection() -> None:
        BaseHook.get_connection("no_such_connection")

    @task
    def missing_variable() -> None:
        Variable.get("no_such_variable")

    @task
    def fails_on_purpose() -> None:
        raise AirflowFailException("the upstream export is incomplete")

    @task
    def produce() -> int:
        return 1  # pushes return_value only, never "report_path"

    @task
    def consume(report_path: str) -> None:
        print(report_path)

    missing_connection()
    missing_variable()
    fails_on_purpose()
    consume(XComArg(produce().operator, key="report_path"))
