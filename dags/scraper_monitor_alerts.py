"""Scraper alerts: SLO breaches, silent failures, error spikes and failed runs, posted to Slack.

Every 15 minutes by default (env ``SCRAPER_MONITOR_ALERT_SCHEDULE``: a cron expression or preset).
Each alert is posted once when it opens, repeated while it stays open, and resolved once; the state
lives in the monitor store, so a restart or a manual trigger never posts twice. Thresholds and the
repeat interval: the SLO file (``slo.yaml`` in ``scraper_monitor``). Slack: ``slack_scraper_alerts``.
Unpaused when Airflow first sees it: a monitor that alerts nobody until someone finds the switch is
no monitor.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from scraper_monitor import settings
from scraper_monitor.airflow.tasks import evaluate_alerts
from scraper_monitor.reports.background import ALERTS

with DAG(
    dag_id=ALERTS,
    description="Evaluate scraper alerts and post them to Slack",
    schedule=settings.alert_schedule(),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,  # on from the start; Airflow applies it when it first sees the DAG
    max_active_runs=1,  # evaluations must not overlap (the evaluator also takes a lock)
    tags=["scraper_monitor"],
    # One quick retry, for a try lost before it ran (the execution API timing out while the deployment
    # starts): 15 minutes without alerts is too long for that. Unsent messages need none: every
    # evaluation retries them, and the stored state keeps a second evaluation from posting twice.
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=10),
    },
) as dag:
    task(task_id="evaluate")(evaluate_alerts)()
