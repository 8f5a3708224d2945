"""The health line's rule: which of the monitor's own DAGs are not running on time, and what it costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scraper_monitor.reports.background import (
    ALERTS,
    BACKGROUND_DAGS,
    MAINTENANCE,
    SNAPSHOTS,
    BackgroundDagRecord,
    issues,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EVERY = {ALERTS: timedelta(minutes=15), MAINTENANCE: timedelta(hours=1), SNAPSHOTS: timedelta(minutes=5)}


def on_time(dag_id: str, **changes: object) -> BackgroundDagRecord:
    fields = {
        "dag_id": dag_id,
        "known": True,
        "every": EVERY[dag_id],
        "last_run_state": "success",
        "last_run_at": NOW - timedelta(minutes=1),
        "last_success_at": NOW - timedelta(minutes=1),
    }
    return BackgroundDagRecord(**(fields | changes))  # type: ignore[arg-type]


def problems(*changed: BackgroundDagRecord) -> dict[str, str]:
    records = {r.dag_id: r for r in [on_time(d) for d in BACKGROUND_DAGS] + list(changed)}
    return {i.dag_id: i.problem for i in issues(records.values(), NOW)}


def test_three_dags_running_on_schedule_give_no_line() -> None:
    assert problems() == {}


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (BackgroundDagRecord(dag_id=ALERTS, known=False), "is not in Airflow"),
        (on_time(ALERTS, paused=True), "is paused"),
        (on_time(ALERTS, last_run_state=None, last_run_at=None, last_success_at=None), "has never run"),
        (on_time(ALERTS, last_run_state="failed"), "failed on its last run"),
        (on_time(ALERTS, last_run_state="running", last_success_at=None), "has not succeeded yet"),
        # 15-minute schedule: one missed tick is tolerated (30 min), a third is not.
        (on_time(ALERTS, last_success_at=NOW - timedelta(minutes=31)), "has not succeeded for 31 min"),
    ],
)
def test_a_dag_that_does_not_run_on_time_is_named_with_what_the_user_loses(
    record: BackgroundDagRecord, problem: str
) -> None:
    [issue] = issues([record] + [on_time(d) for d in (MAINTENANCE, SNAPSHOTS)], NOW)
    assert issue.dag_id == ALERTS and issue.problem.startswith(problem)
    assert issue.loses.startswith("no Slack alerts")


def test_grace_is_one_more_interval_and_at_least_ten_minutes() -> None:
    assert problems(on_time(ALERTS, last_success_at=NOW - timedelta(minutes=29))) == {}
    assert problems(on_time(MAINTENANCE, last_success_at=NOW - timedelta(minutes=119))) == {}
    assert problems(on_time(MAINTENANCE, last_success_at=NOW - timedelta(minutes=121))) == {
        MAINTENANCE: "has not succeeded for 2 h (it runs every 60 min)"
    }
    # 5-minute snapshots: 5 + 10 minutes of grace, not 5 + 5.
    assert problems(on_time(SNAPSHOTS, last_success_at=NOW - timedelta(minutes=14))) == {}
    assert SNAPSHOTS in problems(on_time(SNAPSHOTS, last_success_at=NOW - timedelta(minutes=16)))


def test_a_run_in_progress_after_an_earlier_success_is_on_time() -> None:
    assert problems(on_time(MAINTENANCE, last_run_state="running", last_run_at=None)) == {}


def test_a_dag_airflow_does_not_report_at_all_is_missing_and_order_is_fixed() -> None:
    found = issues([on_time(SNAPSHOTS, paused=True)], NOW)
    assert [i.dag_id for i in found] == [ALERTS, MAINTENANCE, SNAPSHOTS]
    assert "no rollups" in found[1].loses and "no spool replay" in found[1].loses
