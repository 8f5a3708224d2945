"""Notifications through Airflow: Slack through the provider, and the Deadline Alert of the scraper
DAGs (SLA misses). The decisions (``scraper_monitor.alerts``) stay free of Airflow.

Slack goes through the ``slack_scraper_alerts`` connection (type ``slackwebhook``): its password is the
webhook URL, so the secret lives in Airflow's connections, never in code or logs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.configuration import conf
from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

from scraper_monitor import settings
from scraper_monitor.alerts.slack_message import SlackMessage, deadline_miss_message

SLACK_CONN_ID = "slack_scraper_alerts"
# The Slack hook is imported where a message is sent, not here: every chain DAG file imports this
# module (for its deadline), and the hook brings aiohttp and slack_sdk, 0.2 s of imports that every
# task process and every parse by the dag-processor would pay for a message most of them never send.
# [callbacks] callback_execution_timeout is off by default: without a timeout of its own, a hung Slack
# would keep the callback (and its triggerer slot) waiting indefinitely.
DEADLINE_SLACK_TIMEOUT_S = 10


class SlackHookSender:
    """Posts a message through the Slack provider's webhook hook; raises on anything but 200."""

    def __init__(self, conn_id: str = SLACK_CONN_ID, timeout_seconds: int = 10) -> None:
        self.conn_id = conn_id
        self.timeout_seconds = timeout_seconds

    def __call__(self, message: SlackMessage) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        hook = SlackWebhookHook(slack_webhook_conn_id=self.conn_id, timeout=self.timeout_seconds)
        hook.send(text=message.text, blocks=message.blocks)


def airflow_base_url() -> str:
    """Where links in Slack messages point: ``[api] base_url``, as the users reach the UI."""
    return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


# --- SLA misses: Deadline Alerts ---------------------------------------------------------------


def deadline_alert(dag_id: str) -> DeadlineAlert | None:
    """The deadline of a scraper DAG run: done within ``SCRAPER_DEADLINE_MINUTES`` of being queued.

    None when ``SCRAPER_MONITOR_DISABLE_DEADLINES=1``: ``dag.test()`` crashes on a DAG with a deadline
    in Airflow 3.3.2, so tests that run DAGs build them without one.
    """
    if settings.deadlines_disabled():
        return None
    minutes = settings.deadline_minutes()
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(notify_deadline_miss, kwargs={"slack_conn_id": SLACK_CONN_ID}),
        name=f"{dag_id} done within {minutes:g} min",
    )


async def notify_deadline_miss(context: dict[str, Any], slack_conn_id: str = SLACK_CONN_ID) -> None:
    """The deadline callback (runs in the triggerer): posts the SLA-miss message to Slack.

    ``context`` is the simplified deadline context: ``{"dag_run": <DAGRunResponse as JSON>,
    "deadline": {"id": ..., "deadline_time": ...}}``.
    """
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    message = deadline_message_from_context(context, base_url=airflow_base_url())
    hook = SlackWebhookHook(slack_webhook_conn_id=slack_conn_id, timeout=DEADLINE_SLACK_TIMEOUT_S)
    await hook.async_send(text=message.text, blocks=message.blocks)


def deadline_message_from_context(context: dict[str, Any], *, base_url: str) -> SlackMessage:
    dag_run, deadline = context["dag_run"], context["deadline"]
    return deadline_miss_message(
        dag_id=dag_run["dag_id"],
        run_id=dag_run["dag_run_id"],
        deadline_time=_as_datetime(deadline["deadline_time"]),
        queued_at=_as_datetime(dag_run["queued_at"]) if dag_run.get("queued_at") else None,
        state=dag_run.get("state"),
        base_url=base_url,
    )


def _as_datetime(value: datetime | str) -> datetime:
    """The context travels through the trigger's serialization: a datetime, or its ISO text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
