"""Slack is down, then answers 500, then takes 15 s per request, while the alert evaluator has alerts
to send; then it recovers.

The evaluator is the scraper_monitor_alerts DAG's task body (``evaluate_alerts``) on a real store,
sending through the real Slack provider to a local receiver over HTTP. Two scrapers: one whose alert
opened (and reached Slack) before the outage and resolved during it, one whose alert opened during the
outage and resolved after it. Promises: no evaluation fails, nothing reaches Slack while it is broken,
and after the recovery each of the four messages (two opened, two resolved) arrives exactly once.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from drills.context import DrillContext
from drills.model import Drill, Outcome
from local_stack.slack_receiver import SlackReceiver
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, SUCCESS
from scraper_monitor.store.db import connect
from scraper_monitor.store.persist import save

SLACK_CONN_ENV = "AIRFLOW_CONN_SLACK_SCRAPER_ALERTS"
SLOW_S = 15
EARLY, LATE = "drill_early", "drill_late"
EXPECTED = {(EARLY, "opened"), (EARLY, "resolved"), (LATE, "opened"), (LATE, "resolved")}


def _runs(dsn: str, scraper: str, states: list[str], minutes_ago: int) -> None:
    """Runs of one sync task, a minute apart, the last one ``minutes_ago`` minutes ago."""
    now = datetime.now(UTC)
    with connect(dsn) as conn:
        for i, state in enumerate(states):
            started = now - timedelta(minutes=minutes_ago + len(states) - 1 - i)
            failed = state == FAILED
            save(
                conn,
                ExecutionSummary(
                    dag_id=scraper,
                    run_id=f"drill__{started.isoformat()}",
                    task_id="sync",
                    map_index=-1,
                    try_number=1,
                    state=state,
                    scraper=scraper,
                    logical_date=started,
                    started_at=started,
                    ended_at=started + timedelta(seconds=2),
                    duration_ms=2000,
                    error_category="network_error" if failed else None,
                    error_type="http_503" if failed else None,
                    error_message="GET https://example.invalid/ answered HTTP 503" if failed else None,
                    fingerprint="GET <url> answered HTTP <n>" if failed else None,
                ),
            )


@contextmanager
def _slack_connection(receiver: SlackReceiver) -> Iterator[None]:
    before = os.environ.get(SLACK_CONN_ENV)
    os.environ[SLACK_CONN_ENV] = receiver.airflow_conn_json()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SLACK_CONN_ENV, None)
        else:
            os.environ[SLACK_CONN_ENV] = before


def _message_key(body: dict[str, Any]) -> tuple[str, str]:
    """(where, event) of a message: its header names the scraper, its emoji the event."""
    header = body["blocks"][0]["text"]["text"]
    return header.rsplit(": ", 1)[-1], "resolved" if header.startswith("✅") else "opened"


def run(ctx: DrillContext) -> Outcome:
    from scraper_monitor.airflow.tasks import evaluate_alerts  # the task body; imports Airflow

    dsn = ctx.new_store()
    receiver = SlackReceiver()
    evaluations = failures = 0
    phases: list[str] = []

    def evaluate(phase: str) -> dict[str, Any]:
        nonlocal evaluations, failures
        evaluations += 1
        started = time.monotonic()
        try:
            report = evaluate_alerts(dsn)
        except Exception as exc:  # the promise is that this never happens
            failures += 1
            phases.append(f"{phase}: the evaluation FAILED ({exc!r})")
            return {}
        sent, failed = report["sent"], report["failed_sends"]
        took = time.monotonic() - started
        line = f"{phase}: sent {sent or 'nothing'}, not taken {failed or 'none'} ({took:.1f} s)"
        phases.append(line)
        ctx.say(f"  {line}")
        return report

    try:
        with _slack_connection(receiver):
            _runs(dsn, EARLY, [SUCCESS, FAILED, FAILED], minutes_ago=50)
            evaluate("Slack up")
            receiver.down()
            _runs(dsn, LATE, [SUCCESS, FAILED, FAILED], minutes_ago=40)
            _runs(dsn, EARLY, [SUCCESS, SUCCESS, SUCCESS], minutes_ago=30)
            evaluate("Slack down (connection refused)")
            receiver.up()
            receiver.answer(500)
            evaluate("Slack answering 500")
            receiver.hang(SLOW_S)
            evaluate(f"Slack taking {SLOW_S} s per request")
            receiver.answer(200)
            evaluate("Slack recovered")
            _runs(dsn, LATE, [SUCCESS, SUCCESS, SUCCESS], minutes_ago=20)
            evaluate("after the late alert resolved")
            evaluate("once more")
    finally:
        receiver.close()
    delivered = [_message_key(body) for body in receiver.messages]
    counted = Counter(delivered)
    taken_while_broken = [r for r in receiver.received if r.status == 200][:1]
    return Outcome(
        injected_at="between the first evaluation (one alert sent) and the second",
        load="two scrapers' alerts to send: one opening, one resolving; then the other resolving",
        user_saw="; ".join(phases),
        tries=evaluations,
        stored=None,
        monitoring_failures=failures,
        alerts_sent=len(delivered),
        alerts_lost=len(EXPECTED - set(counted)),
        alerts_duplicated=sum(n - 1 for n in counted.values()),
        problems=[]
        if taken_while_broken and _message_key(taken_while_broken[0].body) == (EARLY, "opened")
        else ["the first message Slack took was not the alert sent before the outage"],
    )


DRILL = Drill(
    name="slack_faults",
    injects="Slack: down, then answering 500, then 15 s per request; then back",
    how="a local Slack receiver over HTTP: closed, answering 500, hanging 15 s then 504; the real "
    "evaluator task body and Slack provider",
    counts="evaluations that failed; messages Slack took per (alert, event): lost, duplicated",
    needs_stack=False,
    run=run,
)
