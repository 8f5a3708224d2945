"""Recovered summaries: what the repair writes for a try whose own summary never arrived, and how the
store keeps it from ever hiding or duplicating the task's own summary (real PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from scraper_monitor.category import UNKNOWN_ERROR
from scraper_monitor.reconcile import AirflowTry
from scraper_monitor.recovery import NO_LOG_ERROR, error_from_log, recovered_summary
from scraper_monitor.state import FAILED, RETRYING, SUCCESS
from scraper_monitor.store.db import connect
from scraper_monitor.store.persist import save
from tests.factories import T0, make_summary

RUN = "scheduled__2025-11-24T10:00:00+00:00"
TASK = "cinema_day.cinema_dates"


def _try(state: str = "failed", try_number: int = 1) -> AirflowTry:
    return AirflowTry(
        TASK,
        0,
        try_number,
        state,
        max_tries=2,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=4),
        hostname="127.0.0.3",
    )


def _recovered(state: str, log_error: str | None = None, try_number: int = 1):
    return recovered_summary(
        "cinema_city",
        RUN,
        _try(try_number=try_number),
        state,
        scraper="cinema_city",
        logical_date=T0,
        log_error=log_error,
    )


def test_the_error_is_the_last_exception_the_task_logged_with_its_chain() -> None:
    log = [
        {"event": "starting", "level": "info"},
        {"event": "first", "level": "error", "error_detail": [{"exc_type": "KeyError", "exc_value": "'x'"}]},
        "a plain text line",
        {
            "event": "Task failed with exception",
            "level": "error",
            "error_detail": [
                {"exc_type": "HTTPError", "exc_value": "503 Server Error: Service Unavailable"},
                {"exc_type": "ConnectionError", "exc_value": "read timed out"},
            ],
        },
        {"event": "done", "level": "info"},
    ]
    assert (
        error_from_log(log)
        == "HTTPError: 503 Server Error: Service Unavailable\nConnectionError: read timed out"
    )


def test_without_an_exception_the_last_error_line_is_the_error_and_a_quiet_log_has_none() -> None:
    assert error_from_log([{"event": "Process exited with -9", "level": "error"}, {"event": "x"}]) == (
        "Process exited with -9"
    )
    assert error_from_log([{"event": "all fine", "level": "info"}, "text"]) is None
    assert error_from_log([]) is None


def test_a_failed_try_without_a_log_is_recovered_as_a_lost_worker() -> None:
    summary = _recovered(RETRYING)
    assert (summary.state, summary.recovered, summary.hostname) == (RETRYING, True, "127.0.0.3")
    assert summary.duration_ms == 4000 and summary.started_at == T0
    assert summary.error_message == NO_LOG_ERROR
    assert (summary.error_category, summary.error_type) == (UNKNOWN_ERROR, "task_killed")
    assert summary.counts == {} and summary.items == []


def test_a_recovered_failure_is_categorized_from_its_log_like_any_other() -> None:
    summary = _recovered(FAILED, log_error="HTTPError: 503 Server Error: Service Unavailable")
    assert (summary.error_category, summary.error_type) == ("network_error", "http_5xx")
    assert summary.fingerprint and summary.error_message.startswith("HTTPError: 503")


def test_a_recovered_success_has_no_error_and_no_counts() -> None:
    summary = _recovered(SUCCESS, log_error="ignored: the try succeeded")
    assert (summary.state, summary.error_message, summary.error_category, summary.counts) == (
        SUCCESS,
        None,
        None,
        {},
    )


def _stored(dsn: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT state, recovered, counts->>'showtimes_found', hostname FROM task_executions"
            " WHERE run_id = %s AND task_id = %s",
            (RUN, TASK),
        ).fetchall()


def test_a_recovered_summary_fills_a_gap_once_and_the_tasks_own_summary_replaces_it(empty_store) -> None:
    with connect(empty_store) as conn:
        assert save(conn, _recovered(SUCCESS)) is not None
        assert save(conn, _recovered(SUCCESS)) is None  # a second repair writes nothing
        assert _stored(empty_store) == [("success", True, None, "127.0.0.3")]
        # The worker's spool comes back after all: its summary ended earlier than Airflow's end_date
        # and still wins, because it knows the counts.
        own = make_summary(run_id=RUN, task_id=TASK, map_index=0, hostname="127.0.0.3")
        assert own.ended_at < T0 + timedelta(seconds=4)
        assert save(conn, own) is not None
        assert _stored(empty_store) == [("success", False, "48", "127.0.0.3")]
        # And a later repair never overwrites the task's own summary.
        assert save(conn, _recovered(SUCCESS)) is None
        assert _stored(empty_store) == [("success", False, "48", "127.0.0.3")]
