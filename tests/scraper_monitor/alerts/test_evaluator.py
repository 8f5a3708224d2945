"""The alert lifecycle end to end: store -> checks -> alert_state -> Slack provider -> local receiver.

Messages go out through the real ``SlackWebhookHook`` (the ``slack_scraper_alerts`` connection from
an env var) over HTTP to the receiver in tests/fixtures/slack.py.
"""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import psycopg
import pytest
import yaml

from local_stack.slack_receiver import SlackReceiver
from scraper_monitor import settings, slo
from scraper_monitor.airflow.notifications import SlackHookSender
from scraper_monitor.alerts.checks import (
    CheckContext,
    FailedRunsCheck,
    FailedUnitsCheck,
    MatchedRateCheck,
    SilentFailureCheck,
)
from scraper_monitor.alerts.evaluator import EVALUATOR_LOCK_KEY, Evaluator
from scraper_monitor.alerts.model import EVENTS, Alert
from scraper_monitor.alerts.slack_message import SlackMessage
from scraper_monitor.state import FAILED
from scraper_monitor.store import alert_state
from tests.factories import NOW, add_execution, add_unit_run, film, make_summary, save_all
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401

BASE = "http://airflow.test:8080"
HOUR = timedelta(hours=1)


def _evaluator(store: str, *, timeout_seconds: int = 5, checks: list | None = None) -> Evaluator:
    """A new evaluator, as after a restart: everything it knows comes from the store."""
    return Evaluator(
        store,
        SlackHookSender(timeout_seconds=timeout_seconds),
        slo_config=slo.load_config(),
        base_url=BASE,
        checks=checks,
    )


def _headers(receiver: SlackReceiver) -> list[str]:
    return [m["blocks"][0]["text"]["text"] for m in receiver.messages]


def _failing_runs(db: psycopg.Connection) -> None:
    """Two of the last three cinema_city runs failed, with a message that needs escaping."""
    for i, run_state in enumerate(["success", FAILED, FAILED]):
        add_execution(
            db,
            run_id=f"scheduled__2026-11-23T0{i}:00:00+00:00",
            task_id="sync",
            state=run_state,
            ago=timedelta(hours=3 - i),
            error_category=None if run_state == "success" else "network_error",
            error_message=None if run_state == "success" else "HTTP 503 <html> & retry-after",
            fingerprint=None if run_state == "success" else "HTTP <n>",
        )


def test_open_repeat_resolve(store: str, db: psycopg.Connection, slack_connection: SlackReceiver) -> None:
    _failing_runs(db)
    evaluator = _evaluator(store, checks=[FailedRunsCheck()])

    report = evaluator.evaluate(NOW)
    assert report.opened == ["runs:cinema_city"] and report.sent == ["runs:cinema_city opened"]
    [opened] = slack_connection.messages
    assert opened["blocks"][0]["text"]["text"] == "🔴 Failed runs: cinema_city"
    text = str(opened)
    assert "2 of the last 3 runs failed." in text
    assert "HTTP 503 &lt;html&gt; &amp; retry-after" in text  # escaped example, through the real hook
    assert (
        "http://airflow.test:8080/dags/cinema_city/runs/scheduled__2026-11-23T02%3A00%3A00%2B00%3A00" in text
    )
    assert slack_connection.received[0].path == "/services/T0/B0/X"

    # Still firing, within the repeat interval (4 h): silence.
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR).sent == []
    # At the repeat interval: one reminder.
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 4 * HOUR).sent == [
        "runs:cinema_city repeat"
    ]
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 5 * HOUR).sent == []

    # Two good runs push the failures out of the last three: resolved, once.
    for i in range(2):
        add_execution(db, run_id=f"good-{i}", task_id="sync", ago=timedelta(minutes=30 - i))
    report = _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 6 * HOUR)
    assert report.resolved == ["runs:cinema_city"] and report.sent == ["runs:cinema_city resolved"]
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 7 * HOUR).sent == []
    assert _headers(slack_connection) == [
        "🔴 Failed runs: cinema_city",
        "🔁 Failed runs: cinema_city",
        "✅ Failed runs: cinema_city",
    ]
    assert "*RESOLVED* after 6h 0m" in str(slack_connection.messages[-1])


def test_three_of_seven_day_pages_open_and_a_run_losing_two_resolves(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    add_unit_run(db, "r1", failed={2, 3, 4}, ago=3 * HOUR)
    report = _evaluator(store, checks=[FailedUnitsCheck()]).evaluate(NOW)
    assert report.sent == ["units:kino_krakow opened"]
    assert "3 of the 7 day pages of the latest run failed." in str(slack_connection.messages[0])
    # The next run lost 2 of 7: below the threshold, the alert resolves, once.
    add_unit_run(db, "r2", failed={2, 3}, ago=HOUR)
    report = _evaluator(store, checks=[FailedUnitsCheck()]).evaluate(NOW + HOUR)
    assert report.resolved == ["units:kino_krakow"] and report.sent == ["units:kino_krakow resolved"]
    assert _headers(slack_connection) == [
        "🟠 Failed units: kino_krakow / day.day_pages",
        "✅ Failed units: kino_krakow / day.day_pages",
    ]


class Crash(BaseException):
    """The evaluator's process dies (OOM kill, SIGKILL) at this point."""


def test_delivery_is_at_least_once_a_crash_right_after_slacks_200_posts_once_more(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    posted = SlackHookSender(timeout_seconds=5)

    def dies_after_slack_accepted(message: SlackMessage) -> None:
        posted(message)  # Slack answers 200...
        raise Crash  # ...and the process dies before the store hears of it

    crashing = Evaluator(
        store,
        dies_after_slack_accepted,
        slo_config=slo.load_config(),
        base_url=BASE,
        checks=[FailedRunsCheck()],
    )
    with pytest.raises(Crash):
        crashing.evaluate(NOW)
    # The restarted evaluator still owes the message (it was never marked sent): one more post, then
    # nothing; the window is the one statement between Slack's 200 and mark_sent.
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR).sent == [
        "runs:cinema_city opened"
    ]
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 2 * HOUR).sent == []
    assert _headers(slack_connection) == ["🔴 Failed runs: cinema_city"] * 2


def test_restart_neither_repeats_nor_forgets(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW)
    # A restart: a new evaluator (new process, same database) sends nothing new ...
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + timedelta(minutes=15)).sent == []
    # ... and still knows the alert is open, so its end is announced.
    for i in range(2):
        add_execution(db, run_id=f"good-{i}", task_id="sync", ago=timedelta(minutes=30 - i))
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR).sent == [
        "runs:cinema_city resolved"
    ]
    assert len(slack_connection.messages) == 2


def test_slack_down_retries_next_evaluation_and_sends_once(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    add_execution(
        db, scraper="kino_krakow", task_id="day.day_pages", silent=True, silent_reason="0 showtimes"
    )
    slack_connection.answer(500)

    report = _evaluator(store).evaluate(NOW)
    assert sorted(report.opened) == ["runs:cinema_city", "silent:kino_krakow"]
    assert report.sent == []
    assert len(report.failed_sends) == 1  # the first failure ends this round: no timeout per alert
    assert slack_connection.messages == []
    [record] = [r for r in alert_state.all_records(db) if r.key == report.failed_sends[0].split()[0]]
    assert record.pending_event == "opened"

    slack_connection.answer(200)
    report = _evaluator(store).evaluate(NOW + timedelta(minutes=15))
    assert sorted(report.sent) == ["runs:cinema_city opened", "silent:kino_krakow opened"]
    assert _evaluator(store).evaluate(NOW + timedelta(minutes=30)).sent == []
    assert sorted(_headers(slack_connection)) == [
        "🔴 Failed runs: cinema_city",
        "🟠 Silent failures: kino_krakow",
    ]
    with psycopg.connect(store) as conn:
        row = conn.execute("SELECT send_attempts, last_error FROM alert_state WHERE pending_send").fetchone()
    assert row is None


def test_slack_slow_times_out_without_blocking(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    slack_connection.hang(10)

    started = time.monotonic()
    report = _evaluator(store, timeout_seconds=1, checks=[FailedRunsCheck()]).evaluate(NOW)
    assert time.monotonic() - started < 5
    assert report.failed_sends == ["runs:cinema_city opened"]
    with psycopg.connect(store) as conn:
        attempts, error = conn.execute("SELECT send_attempts, last_error FROM alert_state").fetchone()
    assert attempts == 1
    assert "127.0.0.1" not in error and "services/T0" not in error  # the webhook URL is a secret

    slack_connection.answer(200)
    assert _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR).sent == [
        "runs:cinema_city opened"
    ]
    assert len(slack_connection.messages) == 1


def test_alert_that_ends_before_slack_heard_of_it_stays_silent(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    slack_connection.answer(500)
    _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW)
    for i in range(2):
        add_execution(db, run_id=f"good-{i}", task_id="sync", ago=timedelta(minutes=30 - i))
    slack_connection.answer(200)
    report = _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR)
    assert report.resolved == ["runs:cinema_city"]
    assert report.sent == [] and slack_connection.messages == []  # no lone "resolved"


def test_reopening_before_the_resolved_message_went_out(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW)  # opened, delivered
    good = [
        add_execution(db, run_id=f"good-{i}", task_id="sync", ago=timedelta(minutes=30 - i)) for i in range(2)
    ]
    slack_connection.answer(500)
    _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + HOUR)  # resolved, not delivered
    db.execute("DELETE FROM task_executions WHERE id = ANY(%s)", (good,))
    slack_connection.answer(200)
    report = _evaluator(store, checks=[FailedRunsCheck()]).evaluate(NOW + 2 * HOUR)
    # For Slack the alert never closed: no "resolved", no second "opened".
    assert report.sent == [] and len(slack_connection.messages) == 1


def test_a_broken_check_does_not_stop_the_others_or_resolve_its_alerts(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    add_execution(db, task_id="sync", silent=True, silent_reason="cinemas == 0")
    _evaluator(store, checks=[SilentFailureCheck()]).evaluate(NOW)

    class Broken:
        name = "silent"

        def evaluate(self, ctx: CheckContext) -> list[Alert]:
            raise psycopg.errors.QueryCanceled("statement timeout")

    _failing_runs(db)
    report = _evaluator(store, checks=[Broken(), FailedRunsCheck()]).evaluate(NOW + HOUR)
    assert report.check_errors == {"silent": "QueryCanceled: statement timeout"}
    assert report.opened == ["runs:cinema_city"]
    assert report.resolved == []  # silent:cinema_city is still open, not declared fine
    assert {r.key: r.status for r in alert_state.all_records(db)} == {
        "runs:cinema_city": "open",
        "silent:cinema_city": "open",
    }


def test_one_evaluation_at_a_time(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    with psycopg.connect(store, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (EVALUATOR_LOCK_KEY,))
        assert _evaluator(store).evaluate(NOW).skipped
    assert slack_connection.messages == []

    # Two evaluations racing: exactly one announces the alert.
    threads = [
        threading.Thread(target=_evaluator(store).evaluate, args=(NOW,), daemon=True) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slack_connection.messages) == 1


def test_repeat_interval_comes_from_the_config(
    store: str, db: psycopg.Connection, slack_connection: SlackReceiver
) -> None:
    _failing_runs(db)
    raw = yaml.safe_load(settings.DEFAULT_SLO_CONFIG.read_text())
    config = slo.parse_config({**raw, "alerts": {"repeat_interval_minutes": 90}})

    def evaluate(at: timedelta) -> list[str]:
        evaluator = Evaluator(
            store, SlackHookSender(), slo_config=config, base_url=BASE, checks=[FailedRunsCheck()]
        )
        return evaluator.evaluate(NOW + at).sent

    assert evaluate(timedelta(0)) == ["runs:cinema_city opened"]
    assert evaluate(timedelta(minutes=89)) == []
    assert evaluate(timedelta(minutes=90)) == ["runs:cinema_city repeat"]


def test_migration_vocabulary_matches_the_code() -> None:
    # 0002 keeps frozen copies (a migration must not change meaning later); they must still agree.
    migration = importlib.import_module("scraper_monitor.migrations.versions.0002_alert_state")
    assert migration.STATUSES == (alert_state.OPEN, alert_state.RESOLVED)
    assert migration.EVENTS == EVENTS
    assert (migration.revision, migration.down_revision) == ("0002", "0001")


def test_films_not_matching_opens_below_target_and_resolves(
    store: str, slack_connection: SlackReceiver
) -> None:
    """6 of 10 films matched in the last 24 hours (target 80 %): a warning naming the film that failed
    most; a run that matches them all lifts the window to 16 of 20 and resolves it."""

    def run(run_id: str, at: timedelta, films: list) -> None:
        save_all(
            store,
            [
                make_summary(
                    run_id=run_id,
                    task_id="movie_details",
                    map_index=i,
                    started_at=NOW - at + timedelta(seconds=i),
                    items=[f],
                )
                for i, f in enumerate(films)
            ],
        )

    good = [film(f"cc_film_{i}", f"Film {i}") for i in range(6)]
    bad = [
        film(f"cc_film_x{i}", f"Opera <b>{i}</b>", confidence=0.0, reason="tmdb_no_results") for i in range(4)
    ]
    run("cc-1", 2 * HOUR, good + bad)
    evaluator = _evaluator(store, checks=[MatchedRateCheck()])
    report = evaluator.evaluate(NOW)
    assert report.opened == ["matching:cinema_city"]
    [opened] = slack_connection.messages
    text = str(opened)
    assert opened["blocks"][0]["text"]["text"] == "🟠 Films not matching TMDB: cinema_city"
    assert "60.0 % of 10 films matched on TMDB in the last 24 h, below the target 80.0 %" in text
    assert "Opera &lt;b&gt;" in text and "tmdb_no_results" in text  # escaped example
    assert "/scraper-monitor/matching?scraper=cinema_city" in text

    run("cc-2", HOUR, [film(f"cc_film_{i}", f"Film {i}") for i in range(10)])
    report = _evaluator(store, checks=[MatchedRateCheck()]).evaluate(NOW + timedelta(minutes=15))
    assert report.resolved == ["matching:cinema_city"]
    assert _headers(slack_connection)[-1] == "✅ Films not matching TMDB: cinema_city"
