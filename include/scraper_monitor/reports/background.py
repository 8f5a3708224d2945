"""Are the monitor's own DAGs running on time? Without them the panels still answer, but quietly less:
no Slack alerts, no rollups for the trends, no spool replay, stale SLO and metrics numbers.

The facts come from Airflow (``scraper_monitor.airflow.background`` reads them through the ORM inside
the api-server); this module only judges them, so the rule is the same wherever the facts come from.
A DAG is late when Airflow does not know it, it is paused, it never ran, its last run failed, or its
last successful run ended longer ago than its schedule allows plus a grace of one more interval (at
least ``MIN_GRACE``): one slow or skipped tick is not worth a warning, two are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

ALERTS = "scraper_monitor_alerts"
MAINTENANCE = "scraper_monitor_maintenance"
SNAPSHOTS = "scraper_monitor_snapshots"

#: What the user goes without while each DAG does not run (the health line says it).
LOSSES: dict[str, str] = {
    ALERTS: "no Slack alerts for SLO breaches, silent failures, error spikes or failed runs",
    MAINTENANCE: (
        "no rollups (the Trends panel stops at the last refresh), no spool replay, "
        "no repair of lost summaries, no retention"
    ),
    SNAPSHOTS: "no SLO and metrics snapshots (the overview and /metrics compute them per request)",
}
BACKGROUND_DAGS = tuple(LOSSES)

MIN_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class BackgroundDagRecord:
    """What Airflow knows of one background DAG. ``known`` is False when Airflow has no such DAG (its
    file is missing or fails to import); ``every`` is the time between two scheduled runs (None when
    the schedule has no fixed interval); ``last_run_*`` describe the newest run, whatever its state."""

    dag_id: str
    known: bool
    paused: bool = False
    every: timedelta | None = None
    last_run_state: str | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None


class BackgroundIssueOut(BaseModel):
    dag_id: str
    problem: str = Field(description="why it is not running on time, in a few words")
    loses: str = Field(description="what the user goes without until it runs again")
    since: datetime | None = Field(None, description="end of its last successful run, if any")


def issues(records: Iterable[BackgroundDagRecord], now: datetime | None = None) -> list[BackgroundIssueOut]:
    """One issue per background DAG that is not running on time, in ``BACKGROUND_DAGS`` order."""
    now = now or datetime.now(UTC)
    by_id = {r.dag_id: r for r in records}
    out = []
    for dag_id in BACKGROUND_DAGS:
        record = by_id.get(dag_id, BackgroundDagRecord(dag_id=dag_id, known=False))
        if problem := _problem(record, now):
            out.append(
                BackgroundIssueOut(
                    dag_id=dag_id, problem=problem, loses=LOSSES[dag_id], since=record.last_success_at
                )
            )
    return out


def _problem(record: BackgroundDagRecord, now: datetime) -> str | None:
    if not record.known:
        return "is not in Airflow (its DAG file is missing or does not import)"
    if record.paused:
        return "is paused"
    if record.last_run_state is None:
        return "has never run"
    if record.last_run_state == "failed":
        return "failed on its last run"
    if record.every is not None and record.last_success_at is not None:
        allowed = record.every + max(record.every, MIN_GRACE)
        if (age := now - record.last_success_at) > allowed:
            return f"has not succeeded for {_age(age)} (it runs every {_age(record.every)})"
    if record.last_success_at is None and record.last_run_state != "success":
        return "has not succeeded yet"
    return None


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"
