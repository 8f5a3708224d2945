"""Precomputes the numbers over long windows that the overview's SLO column and the Prometheus
endpoint show (a week of raw rows is too much to aggregate per page view or scrape at scale).

Every 5 minutes by default (env ``SCRAPER_MONITOR_SNAPSHOT_SCHEDULE``), unpaused when Airflow first
sees it. While it does not run the panels compute the numbers themselves, which is fine for a small
store (see docs/architecture.md), and the overview says it is late.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, task

from scraper_monitor import settings
from scraper_monitor.airflow import tasks
from scraper_monitor.reports.background import SNAPSHOTS

with DAG(
    dag_id=SNAPSHOTS,
    description="SLO and metrics snapshots of the scraper monitor store",
    schedule=settings.snapshot_schedule(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    is_paused_upon_creation=False,  # on from the start; Airflow applies it when it first sees the DAG
    max_active_runs=1,
    # One quick retry, for a try lost before it ran (the execution API timing out while the deployment
    # starts); beyond that the next run is the retry, and the readers keep the last snapshot.
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=4),
    },
    tags=["scraper_monitor"],
    doc_md=__doc__,
) as dag:
    task(task_id="refresh")(tasks.refresh_snapshots)()
