"""The Airflow side of alerting: the Deadline Alert of the scraper DAGs, its Slack callback run the way
the triggerer runs it, the evaluator task and the alert DAG file.

The deadline itself firing under a real scheduler is an end-to-end check of the local stack, not
done here (dag.test() cannot run a DAG with a deadline in 3.3.2).
"""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from airflow.sdk import DAG, AsyncCallback, DeadlineReference
from airflow.serialization.serialized_objects import DagSerialization
from airflow.triggers.callback import CallbackTrigger

from local_stack.slack_receiver import SlackReceiver
from scraper_monitor import settings
from scraper_monitor.airflow import notifications
from scraper_monitor.airflow.notifications import deadline_alert, notify_deadline_miss
from scraper_monitor.airflow.tasks import AlertChecksFailed, evaluate_alerts
from scraper_monitor.reports import slo as slo_report
from scraper_monitor.state import FAILED
from tests.airflow_env import ROOT
from tests.factories import add_execution
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401

RUN_ID = "scheduled__2026-11-23T06:00:00+00:00"


@pytest.fixture
def deadlines_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/airflow_env.py switches deadlines off for every dag.test(); these tests want them.
    monkeypatch.delenv(settings.DISABLE_DEADLINES_ENV, raising=False)


def test_deadline_alert_is_off_for_dag_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.DISABLE_DEADLINES_ENV, "1")
    assert deadline_alert("cinema_city") is None


def test_deadline_alert(deadlines_on: None, monkeypatch: pytest.MonkeyPatch) -> None:
    alert = deadline_alert("cinema_city")
    assert alert is not None
    assert isinstance(alert.reference, type(DeadlineReference.DAGRUN_QUEUED_AT))
    assert alert.interval == timedelta(minutes=60)
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "scraper_monitor.airflow.notifications.notify_deadline_miss"
    assert alert.callback.kwargs == {"slack_conn_id": "slack_scraper_alerts"}

    monkeypatch.setenv("SCRAPER_DEADLINE_MINUTES", "90")
    assert deadline_alert("kino_krakow").interval == timedelta(minutes=90)  # type: ignore[union-attr]
    monkeypatch.setenv("SCRAPER_DEADLINE_MINUTES", "0.5")
    assert deadline_alert("kino_krakow").interval == timedelta(seconds=30)  # type: ignore[union-attr]
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("SCRAPER_DEADLINE_MINUTES", bad)
        with pytest.raises(ValueError, match="SCRAPER_DEADLINE_MINUTES must be a positive number"):
            deadline_alert("kino_krakow")


def test_dag_with_the_deadline_serializes(deadlines_on: None) -> None:
    with DAG("cinema_city", schedule=None, deadline=deadline_alert("cinema_city")) as dag:
        pass
    serialized = DagSerialization.to_dict(dag)["dag"]["deadline"]
    assert (
        serialized[0]["callback"]["__data__"]["path"]
        == "scraper_monitor.airflow.notifications.notify_deadline_miss"
    )


def _deadline_context(deadline_time: Any) -> dict[str, Any]:
    """The simplified context the scheduler builds for a missed deadline (DAGRunResponse as JSON)."""
    return {
        "dag_run": {
            "dag_run_id": RUN_ID,
            "dag_id": "kino_krakow",
            "queued_at": "2026-11-23T06:00:05Z",
            "state": "running",
            "run_type": "scheduled",
        },
        "deadline": {"id": "0199d2f4-0000-7000-8000-000000000000", "deadline_time": deadline_time},
    }


@pytest.mark.parametrize(
    "deadline_time", [datetime(2026, 11, 23, 7, 0, 5, tzinfo=UTC), "2026-11-23T07:00:05+00:00"]
)
def test_deadline_callback_posts_through_the_slack_provider(
    slack_connection: SlackReceiver, monkeypatch: pytest.MonkeyPatch, deadline_time: Any
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    # Run it as the triggerer does: CallbackTrigger imports the path and awaits it with the context.
    trigger = CallbackTrigger(
        callback_path="scraper_monitor.airflow.notifications.notify_deadline_miss",
        callback_kwargs={
            "slack_conn_id": "slack_scraper_alerts",
            "context": _deadline_context(deadline_time),
        },
    )

    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    events = asyncio.run(run())
    assert events[-1]["state"] == "success", events[-1]
    [message] = slack_connection.messages
    assert message["blocks"][0]["text"]["text"] == "⏰ Deadline missed: kino_krakow"
    assert message["text"] == f"⏰ Deadline missed: kino_krakow run {RUN_ID} (deadline 2026-11-23 07:00 UTC)"
    assert "(1h 0m allowed)" in str(message)
    assert (
        "https://airflow.example.com/dags/kino_krakow/runs/scheduled__2026-11-23T06%3A00%3A00%2B00%3A00/plugin/chain"
        in str(message)
    )


def test_deadline_callback_fails_loudly_when_slack_refuses(slack_connection: SlackReceiver) -> None:
    slack_connection.answer(500)
    with pytest.raises(Exception, match="Status Code: 500"):
        asyncio.run(notify_deadline_miss(_deadline_context("2026-11-23T07:00:05+00:00")))


def test_evaluate_alerts_task_body(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    now = datetime.now(UTC)
    for i in range(3):
        add_execution(db, run_id=f"r{i}", state=FAILED, started_at=now - timedelta(hours=3 - i))
    report = evaluate_alerts(store)
    assert report["opened"] == ["runs:cinema_city"]
    assert report["sent"] == ["runs:cinema_city opened"]
    assert "https://airflow.example.com/dags/cinema_city/runs/r2/plugin/chain" in str(
        slack_connection.messages
    )
    assert notifications.airflow_base_url() == "https://airflow.example.com"


def test_evaluate_alerts_fails_the_task_when_a_check_cannot_run(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise psycopg.errors.QueryCanceled("statement timeout")

    monkeypatch.setattr(slo_report, "slo_statuses", broken)
    now = datetime.now(UTC)
    for i in range(3):
        add_execution(db, run_id=f"r{i}", state=FAILED, started_at=now - timedelta(hours=3 - i))
    with pytest.raises(AlertChecksFailed, match="slo"):
        evaluate_alerts(store)
    assert len(slack_connection.messages) == 1  # the other checks still ran and posted


def test_alert_dag_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def load() -> DAG:
        spec = importlib.util.spec_from_file_location(
            "alerts_dag", ROOT / "dags" / "scraper_monitor_alerts.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dag

    dag = load()
    assert dag.dag_id == "scraper_monitor_alerts"
    assert dag.schedule == "*/15 * * * *"
    assert dag.max_active_runs == 1 and not dag.catchup
    assert [t.task_id for t in dag.tasks] == ["evaluate"]
    # One retry after a minute: a first try lost at a deployment's start (the execution API timing
    # out under start-up load) must not leave alerts dark for a whole interval; the stored alert state
    # keeps a retry from posting twice.
    assert dag.tasks[0].retries == 1 and dag.tasks[0].retry_delay.total_seconds() == 60

    monkeypatch.setenv("SCRAPER_MONITOR_ALERT_SCHEDULE", "@hourly")
    assert load().schedule == "@hourly"
