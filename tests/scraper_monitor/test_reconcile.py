"""The reconcile rules on realistic runs (REST-shaped task instances and tries; no Airflow, no DB)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from scraper_monitor.cli.reconcile import report_text
from scraper_monitor.reconcile import AirflowTry, Difference, RunReconciliation, compare, pending_tries
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS

RETRIES = 2  # the chains' default_args: a task instance gets max_tries 2, i.e. three tries


STARTED = datetime(2025, 11, 24, 6, 0, 1, tzinfo=UTC)


class Row(NamedTuple):
    """The store row fields compare reads (task_executions)."""

    task_id: str
    map_index: int
    try_number: int
    state: str
    started_at: datetime | None = STARTED


def api(task_id: str, map_index: int, state: str | None, try_number: int = 1, **extra: Any) -> AirflowTry:
    """A task instance or history entry as GET .../taskInstances and .../tries return it."""
    raw = {
        "task_id": task_id,
        "dag_id": "cinema_city",
        "dag_run_id": "scheduled__2025-11-24T06:00:00+00:00",
        "map_index": map_index,
        "try_number": try_number,
        "state": state,
        "max_tries": RETRIES,
        "start_date": None if state in ("upstream_failed", None) else "2025-11-24T06:00:01.123456Z",
        "operator": "_PythonDecoratedOperator",
    } | extra
    return AirflowTry.from_api(raw)


DATES, SHOWTIMES = "cinema_day.cinema_dates", "cinema_day.showtimes"

# A finished cinema_city run: cinema-day 1 recovered on its second try, cinema-day 2 ran out of
# tries (its showtime batch never ran), cinema-day 3 had no screenings (skipped itself, so the
# scheduler skipped its batch without running it).
RUN_TRIES: list[AirflowTry] = [
    api("sync", -1, "success"),
    api(DATES, 0, "success"),
    api(DATES, 1, "success", 2),  # the task instance (current try) ...
    api(DATES, 1, "failed", 1),  # ... and its /tries history: a retried try is recorded as failed
    api(DATES, 1, "success", 2),
    api(DATES, 2, "failed", 3),
    api(DATES, 2, "failed", 1),
    api(DATES, 2, "failed", 2),
    api(DATES, 2, "failed", 3),
    api(DATES, 3, "skipped"),
    api("plan_films", -1, "success"),
    api("movie_details", 0, "success"),
    api("movie_details", 1, "success"),
    api("collect_matches", -1, "success"),
    api(SHOWTIMES, 0, "success"),
    api(SHOWTIMES, 1, "success"),
    api(SHOWTIMES, 2, "upstream_failed", 0),
    api(SHOWTIMES, 3, "skipped", 0),
]
RUN_ROWS: list[Row] = [
    Row("sync", -1, 1, SUCCESS),
    Row(DATES, 0, 1, SUCCESS),
    Row(DATES, 1, 1, RETRYING),
    Row(DATES, 1, 2, SUCCESS),
    Row(DATES, 2, 1, RETRYING),
    Row(DATES, 2, 2, RETRYING),
    Row(DATES, 2, 3, FAILED),
    Row(DATES, 3, 1, SKIPPED),
    Row("plan_films", -1, 1, SUCCESS),
    Row("movie_details", 0, 1, SUCCESS),
    Row("movie_details", 1, 1, SUCCESS),
    Row("collect_matches", -1, 1, SUCCESS),
    Row(SHOWTIMES, 0, 1, SUCCESS),
    Row(SHOWTIMES, 1, 1, SUCCESS),
]


def without(rows: list[Row], *drop: tuple[str, int, int]) -> list[Row]:
    return [r for r in rows if (r.task_id, r.map_index, r.try_number) not in drop]


def test_a_consistent_run_has_no_differences() -> None:
    assert compare(RUN_TRIES, RUN_ROWS) == []
    assert pending_tries(RUN_TRIES) == []


def test_every_difference_is_reported_in_task_order() -> None:
    rows = without(RUN_ROWS, (SHOWTIMES, 1, 1), (DATES, 2, 2)) + [
        Row(DATES, 2, 2, FAILED),  # written as failed although a third try followed
        Row("sync", -1, 2, SUCCESS),  # a try Airflow never ran
        Row(SHOWTIMES, 2, 1, SUCCESS),  # the batch that never ran has a row
    ]
    differences = compare(RUN_TRIES, rows)
    assert differences == [
        Difference("state_mismatch", DATES, 2, 2, "failed", RETRYING, FAILED),
        Difference("missing_row", SHOWTIMES, 1, 1, "success", SUCCESS, None),
        Difference("unknown_try", SHOWTIMES, 2, 1, None, None, SUCCESS),
        Difference("unknown_try", "sync", -1, 2, None, None, SUCCESS),
    ]
    assert [d.text for d in differences] == [
        "cinema_day.cinema_dates[2] try 2: Airflow failed (expected retrying), store failed",
        "cinema_day.showtimes[1] try 1: Airflow success, no store row (expected success)",
        "cinema_day.showtimes[2] try 1: store row (success) for a try Airflow does not know",
        "sync try 2: store row (success) for a try Airflow does not know",
    ]
    assert differences[0].to_json() == {
        "kind": "state_mismatch",
        "task_id": DATES,
        "map_index": 2,
        "try_number": 2,
        "airflow_state": "failed",
        "expected_state": RETRYING,
        "store_state": FAILED,
        "text": differences[0].text,
    }


def test_the_last_try_is_failed_and_earlier_ones_retrying() -> None:
    tries = [api(DATES, 2, "failed", 3), api(DATES, 2, "failed", 1), api(DATES, 2, "failed", 2)]
    all_failed = [Row(DATES, 2, n, FAILED) for n in (1, 2, 3)]
    assert [(d.try_number, d.expected_state) for d in compare(tries, all_failed)] == [
        (1, RETRYING),
        (2, RETRYING),
    ]
    retrying_last = [Row(DATES, 2, 1, RETRYING), Row(DATES, 2, 2, RETRYING), Row(DATES, 2, 3, RETRYING)]
    assert [(d.try_number, d.expected_state) for d in compare(tries, retrying_last)] == [(3, FAILED)]


def test_a_task_instance_waiting_for_its_retry() -> None:
    # The current try is up_for_retry; /tries (fetched only past try 1) lists it as failed.
    waiting = [api("movie_details", 1, "up_for_retry", 1)]
    with_history = [*waiting, api("movie_details", 1, "failed", 1)]
    retrying, failed = [Row("movie_details", 1, 1, RETRYING)], [Row("movie_details", 1, 1, FAILED)]
    assert compare(waiting, retrying) == compare(with_history, retrying) == []
    assert compare(with_history, failed) == [
        Difference("state_mismatch", "movie_details", 1, 1, "up_for_retry", RETRYING, FAILED)
    ]


def test_tries_in_progress_are_not_compared() -> None:
    tries = [api(DATES, 1, "running", 2), api(DATES, 1, "failed", 1), api(SHOWTIMES, 0, None, 0)]
    assert compare(tries, [Row(DATES, 1, 1, RETRYING)]) == []
    assert [(t.task_id, t.try_number, t.state) for t in pending_tries(tries)] == [
        (DATES, 2, "running"),
        (SHOWTIMES, 0, None),
    ]


def test_failing_without_retry_and_clearing_after_the_last_try() -> None:
    # AirflowFailException: the only try failed with tries left; it is the last one, so failed.
    assert compare([api(DATES, 0, "failed", 1)], [Row(DATES, 0, 1, FAILED)]) == []
    # Cleared after the third try failed: that try had no tries left (3 > max_tries 2); the rerun
    # got max_tries 5.
    tries = [
        api(DATES, 2, "success", 4, max_tries=5),
        api(DATES, 2, "failed", 1),
        api(DATES, 2, "failed", 2),
        api(DATES, 2, "failed", 3),
        api(DATES, 2, "success", 4, max_tries=5),
    ]
    rows = [Row(DATES, 2, 1, RETRYING), Row(DATES, 2, 2, RETRYING), Row(DATES, 2, 3, FAILED)]
    assert compare(tries, [*rows, Row(DATES, 2, 4, SUCCESS)]) == []
    # A cleared task instance waiting to run again: its finished try is still compared.
    waiting = [api("sync", -1, "success", 1), api("sync", -1, None, 1)]
    assert compare(waiting, []) == [Difference("missing_row", "sync", -1, 1, "success", SUCCESS, None)]


def test_tasks_that_never_ran() -> None:
    never_ran = [api(SHOWTIMES, 2, "upstream_failed", 0), api(SHOWTIMES, 5, "upstream_failed", 1)]
    assert compare(never_ran, [Row(SHOWTIMES, 5, 1, "upstream_failed")]) == []
    assert compare(never_ran, [Row(SHOWTIMES, 5, 1, SUCCESS)]) == [
        Difference("state_mismatch", SHOWTIMES, 5, 1, "upstream_failed", None, SUCCESS)
    ]
    assert compare(never_ran, [Row(SHOWTIMES, 5, 1, SUCCESS)])[0].text == (
        "cinema_day.showtimes[5] try 1: Airflow upstream_failed (expected no row: it never ran), "
        "store success"
    )
    # A removed instance (the mapped input shrank) is not part of the run any more.
    assert compare([api(DATES, 9, "removed", 1)], [Row(DATES, 9, 1, SUCCESS)]) == []


def test_without_max_tries_a_later_try_means_the_earlier_one_was_retried() -> None:
    tries = [api(DATES, 1, "failed", 1, max_tries=None), api(DATES, 1, "success", 2, max_tries=None)]
    assert compare(tries, [Row(DATES, 1, 1, RETRYING), Row(DATES, 1, 2, SUCCESS)]) == []


def test_the_cli_report_of_a_run_with_differences() -> None:
    rows = [*without(RUN_ROWS, (SHOWTIMES, 1, 1)), Row("sync", -1, 2, SUCCESS)]
    tries = [*RUN_TRIES, api("movie_details", 2, "running")]
    report = RunReconciliation.of("cinema_city", "scheduled__x", tries, rows).to_json()
    assert {k: v for k, v in report.items() if k != "differences"} == {
        "dag_id": "cinema_city",
        "run_id": "scheduled__x",
        "airflow_tries": 17,  # one record per try, though the history repeats some
        "store_rows": 14,
        "count": 2,
        "pending": ["movie_details[2] try 1"],
        "recovered": [],
    }
    assert [d["kind"] for d in report["differences"]] == ["missing_row", "unknown_try"]
    lines = report_text(report).splitlines()
    assert lines[0] == ("cinema_city  scheduled__x: 17 tries in Airflow, 14 rows in the store: 2 differences")
    assert lines[2].split() == ["DIFFERENCE", "TASK", "TRY", "AIRFLOW", "EXPECTED", "ROW", "STORE", "ROW"]
    assert lines[3].split() == ["missing_row", "cinema_day.showtimes[1]", "1", "success", "success", "-"]
    assert lines[4].split() == ["unknown_try", "sync", "2", "-", "-", "success"]
    assert lines[-1] == (
        "1 try not finished, not compared (reconcile again when the run is done): movie_details[2] try 1"
    )
    clean = RunReconciliation.of("cinema_city", "r", RUN_TRIES, RUN_ROWS).to_json()
    assert report_text(clean) == "cinema_city  r: 16 tries in Airflow, 14 rows in the store: 0 differences"


def test_tries_airflow_failed_before_they_started_and_keeps_no_history_of_are_no_difference() -> None:
    """The api-server down while tasks start (the api_server_kill drill): each start fails, Airflow fails
    the try from outside and retries it, the failure callback writes a row that never started, and
    Airflow's /tries lists the last try only. Those rows are the monitor knowing more, not a difference;
    a row that did start, or one after Airflow's last try, still is."""
    tries = [api(DATES, 7, "success", 3), api(DATES, 7, "success", 3)]
    rows = [
        Row(DATES, 7, 1, RETRYING, started_at=None),
        Row(DATES, 7, 2, RETRYING, started_at=None),
        Row(DATES, 7, 3, SUCCESS),
    ]
    assert compare(tries, rows) == []

    started = [Row(DATES, 7, 1, RETRYING), *rows[1:]]
    assert [(d.kind, d.try_number) for d in compare(tries, started)] == [("unknown_try", 1)]
    after_the_last = [*rows, Row(DATES, 7, 4, RETRYING, started_at=None)]
    assert [(d.kind, d.try_number) for d in compare(tries, after_the_last)] == [("unknown_try", 4)]
