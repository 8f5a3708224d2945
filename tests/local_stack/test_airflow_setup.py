"""The demo's Slack connection: `make setup` points `slack_scraper_alerts` (the connection the Deadline
Alerts and the alerts DAG post through) at the local receiver, and never overwrites a webhook the user
configured. Against Airflow's real metadata DB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.airflow_setup import demo_connections, slack_destination, upsert_connections
from local_stack.paths import Paths
from local_stack.slack_receiver import webhook_url

LOGIN = {"username": "admin", "password": "secret"}
USERS_WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXX"


def connections() -> list[dict]:
    return demo_connections("postgresql://u@127.0.0.1:5432/m", "postgresql://u@127.0.0.1:5432/e", "k", LOGIN)


def slack_password() -> str | None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == "slack_scraper_alerts").one()
        return conn.password


@pytest.fixture
def metadata_db(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    monkeypatch.delenv("AIRFLOW_CONN_SLACK_SCRAPER_ALERTS", raising=False)
    yield
    with create_session() as session:  # the session's other tests get their connections from env vars
        session.query(Connection).filter(Connection.conn_id == "slack_scraper_alerts").delete()


def test_the_demo_connections_send_slack_to_the_local_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_RECEIVER_PORT", "18767")
    [slack] = [c for c in connections() if c["conn_type"] == "slackwebhook"]
    assert slack == {
        "conn_id": "slack_scraper_alerts",
        "conn_type": "slackwebhook",
        "password": "http://127.0.0.1:18767/services/local-stack/scraper-alerts",
    }


def test_setup_keeps_the_users_webhook_and_moves_its_own(
    metadata_db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(tmp_path))
    paths = Paths(tmp_path)
    monkeypatch.setenv("SLACK_RECEIVER_PORT", "18767")
    upsert_connections(connections())
    assert slack_password() == webhook_url(18767)
    assert slack_destination(paths).startswith(f"{paths.slack_messages} (local receiver")

    monkeypatch.setenv("SLACK_RECEIVER_PORT", "18768")  # a demo on another port: its own URL follows
    upsert_connections(connections())
    assert slack_password() == webhook_url(18768)

    [slack] = [c for c in connections() if c["conn_type"] == "slackwebhook"]
    upsert_connections([{**slack, "password": USERS_WEBHOOK}])  # what `airflow connections add` does
    upsert_connections(connections())  # the next `make demo`
    assert slack_password() == USERS_WEBHOOK
    assert slack_destination(paths) == "your webhook (the slack_scraper_alerts connection)"

    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_SCRAPER_ALERTS", f'{{"conn_type": "slackwebhook", "password": "{USERS_WEBHOOK}"}}'
    )
    assert slack_destination(paths) == "your webhook (AIRFLOW_CONN_SLACK_SCRAPER_ALERTS)"
