"""City discovery: every day at 00:00 UTC, trigger each enabled source DAG for each enabled city that
is due, with the city's settings as the run's conf.

A run is triggered with the id ``discovery__{city}__{date}``, so a retried, re-run or concurrent
orchestrator can never add a second run of a city's day: a taken id counts as queued. ``next_run_at``
is written back in the same step, only for the triggers that happened. The cities, sources,
frequencies and settings live in the monitor store (seeded from ``include/discovery.yaml``; changed
on the Discovery panel or with ``scraper-monitor discovery``). ``dry_run`` reports what would be
queued and changes nothing.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Param, get_current_context, task

from scraper_monitor.airflow import tasks

with DAG(
    dag_id="city_discovery",
    description="Trigger the scrapers of every city that is due (city discovery)",
    schedule="0 0 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={"dry_run": Param(False, type="boolean", description="Only report what would be queued")},
    tags=["scraper_monitor", "discovery"],
    doc_md=__doc__,
) as dag:

    @task
    def queue_due_sources(params=None):
        context = get_current_context()
        at = context.get("logical_date") or context["dag_run"].run_after
        return tasks.queue_due_sources(at, params["dry_run"])

    queue_due_sources()
