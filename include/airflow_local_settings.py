"""Airflow cluster policy, copied to $AIRFLOW_HOME/config/ by `make setup`.

Attaches the scraper monitor's callbacks to every task of every DAG.
"""

from scraper_monitor.airflow.callbacks import task_policy  # noqa: F401
