"""A DAG of the kind any team writes, nothing to do with scraping: one task works, one raises.

It lives in the tests' second DAG bundle (tests/airflow_env.py), so the cluster policy attaches the
monitor's callbacks to it exactly as it would to any DAG of a deployment."""

from __future__ import annotations

from airflow.sdk import DAG, task

with DAG("failing_pair", schedule=None, default_args={"retries": 0}):

    @task
    def works() -> int:
        return 1

    @task
    def breaks() -> None:
        raise ValueError("boom")

    works()
    breaks()
