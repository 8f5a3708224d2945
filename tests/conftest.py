"""Shared test setup. Airflow's environment is fixed before anything imports Airflow."""

import tests.airflow_env  # noqa: F401  (must stay first: configures Airflow)

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.airflow",
    "tests.fixtures.stack",
    "tests.fixtures.slack",
    "tests.fixtures.monitor_store",
    "tests.fixtures.browser",
    "tests.fixtures.sitesim",
    "tests.fixtures.ci",
]
