"""What `make e2e` prints under each verdict: failures by category and the run's incidents, read
through the same report as the Chain tab (a real, empty monitor store; Airflow's states as records)."""

from __future__ import annotations

from local_stack.run_report import report_lines
from scraper_monitor.chain import TaskInstanceRecord
from scraper_monitor.reports import chain as chain_report
from scraper_monitor.reports.chain import AirflowView
from scraper_monitor.store.db import connect
from tests.fixtures.monitor_store import STRUCTURES


def lines(store: str, dag_id: str, tis: list[TaskInstanceRecord]) -> list[str]:
    with connect(store) as conn:
        report = chain_report.chain(conn, dag_id, "r", AirflowView(STRUCTURES[dag_id], tuple(tis)))
    return report_lines(report)


def test_every_day_page_failing_reads_as_one_incident(empty_store: str) -> None:
    tis = [TaskInstanceRecord("sync", -1, "success", 1)]
    for day in range(3):
        name = f"day {day} (2026-11-2{3 + day})"
        tis += [TaskInstanceRecord("day.day_pages", day, "failed", 3, name=name)]
        tis += [TaskInstanceRecord("day.showtimes", day, "upstream_failed", 0, name=name)]
    assert lines(empty_store, "kino_krakow", tis) == [
        "     failures by category: uncategorized 3",
        "     failure  day_pages: 3 of 3 day pages failed; 3 showtime batches never ran",
    ]


def test_a_sync_that_found_nothing_and_an_unknown_run(empty_store: str) -> None:
    tis = [
        TaskInstanceRecord("sync", -1, "success", 1),
        TaskInstanceRecord("cinema_day.cinema_dates", -1, "skipped", 0),
        TaskInstanceRecord("cinema_day.showtimes", -1, "skipped", 0),
    ]
    assert lines(empty_store, "cinema_city", tis) == [
        "     empty    sync returned nothing: nothing downstream ran"
    ]
    assert lines(empty_store, "cinema_city", []) == [
        "     the monitor store and Airflow know nothing of this run"
    ]
