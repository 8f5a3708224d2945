"""Keeps the monitor store healthy: replays spooled summaries, writes the summaries of tries whose own
summary never arrived (from Airflow's record: `scraper-monitor reconcile --repair`), refreshes the
daily rollups that the trend panels read, and prunes raw rows past retention (rollups are kept).

Hourly by default (env ``SCRAPER_MONITOR_MAINTENANCE_SCHEDULE``); unpaused when Airflow first sees it.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Param, task

from scraper_monitor import settings
from scraper_monitor.airflow import tasks
from scraper_monitor.reports.background import MAINTENANCE

with DAG(
    dag_id=MAINTENANCE,
    description="Spool replay, daily rollups, retention of the scraper monitor store",
    schedule=settings.maintenance_schedule(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    # On from the start: without it the trends, the spool and the repair quietly stop (the overview
    # says so when it does not run on time). Airflow applies it when it first sees the DAG only.
    is_paused_upon_creation=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    params={
        "retention_days": Param(
            90, type="integer", minimum=1, description="Raw rows older than this are pruned"
        ),
        "repair_hours": Param(
            6,
            type="integer",
            minimum=1,
            description="Runs that ended this recently are reconciled and repaired",
        ),
        "rollup_days": Param(
            2, type="integer", minimum=1, description="Recent days whose rollups are refreshed"
        ),
    },
    tags=["scraper_monitor"],
    doc_md=__doc__,
) as dag:

    @task
    def replay_spool(params=None):
        return tasks.replay_spool()

    @task
    def repair_recent_runs(params=None):
        return tasks.repair_recent_runs(params["repair_hours"])

    @task
    def refresh_rollups(params=None):
        return tasks.refresh_rollups(params["rollup_days"])

    @task
    def prune(params=None):
        return tasks.prune_raw_rows(params["retention_days"])

    replay_spool() >> repair_recent_runs() >> refresh_rollups() >> prune()
