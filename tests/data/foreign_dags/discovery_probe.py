"""A source for city discovery's tests against the real stack: the params a chain DAG takes (a city,
days ahead) and nothing to run. The stack keeps it paused, so its triggered runs stay queued: the
tests count them, no scrape happens."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

with DAG(
    "discovery_probe",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    is_paused_upon_creation=True,
    params={
        "city": Param("krakow", type="string", pattern="^[a-z][a-z0-9-]*$"),
        "days_ahead": Param(7, type="integer", minimum=1, maximum=7),
    },
    tags=["foreign"],
):

    @task
    def noop() -> None:
        return None

    noop()
