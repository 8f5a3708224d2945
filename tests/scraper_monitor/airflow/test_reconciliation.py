"""The repair's side of the city: a recovered summary gets the city its run's tasks saw, from the REST
API's answers (the DAG's param defaults, each as ``Param.dump()`` gives it, overridden by the run's conf)."""

from __future__ import annotations

from typing import Any

import pytest

from scraper_monitor.airflow.reconciliation import run_city


def _details(dag: Any) -> dict[str, Any]:
    """What ``GET /dags/{dag_id}/details`` answers for the DAG's params."""
    return {"params": {name: dag.params.get_param(name).dump() for name in dag.params}}


@pytest.mark.airflow
def test_a_recovered_summary_takes_the_city_of_its_run(dagbag: Any) -> None:
    cinema_city = _details(dagbag.get_dag("cinema_city"))
    assert cinema_city["params"]["city_name"]["value"] == "Kraków"
    assert run_city(cinema_city, {"conf": {}}) == "krakow"  # the default
    assert run_city(cinema_city, {"conf": {"city_name": "Wrocław"}}) == "wroclaw"  # a trigger's
    assert run_city({"params": None}, {"conf": {"city": "lodz"}}) == "lodz"
    assert run_city({"params": {}}, {"conf": None}) is None  # a DAG without a city
