"""The alert checks against a real store: k of n runs, error spikes (with the volume guard), silent
failures and SLO breaches, each with the numbers and the top error that go into the message."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from scraper_monitor import slo
from scraper_monitor.alerts.checks import (
    CheckContext,
    ErrorSpikeCheck,
    FailedRunsCheck,
    FailedUnitsCheck,
    SilentFailureCheck,
    SloBreachCheck,
)
from scraper_monitor.alerts.config import parse_alert_config
from scraper_monitor.reports.slo import slo_statuses
from scraper_monitor.state import FAILED, RETRYING, UPSTREAM_FAILED
from tests.factories import NOW, add_execution, add_runs, add_unit_run
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401


def _ctx(db: psycopg.Connection, **alerts: object) -> CheckContext:
    config = slo.load_config()
    return CheckContext(conn=db, now=NOW, slo=config, alerts=parse_alert_config({**config.alerts, **alerts}))


# --- k of the last n runs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "fires"),
    [
        ("sff", True),  # 2 of the last 3
        ("ffss", False),  # 2 failed, but only 1 of them among the last 3
        ("fsfs", False),  # 1 of the last 3
        ("sfsf", True),  # 2 of the last 3
        ("ff", True),  # fewer runs than n: 2 of 2 still fires
        ("sss", False),
    ],
)
def test_k_of_n_runs(db: psycopg.Connection, runs: str, fires: bool) -> None:
    add_runs(db, runs)
    alerts = FailedRunsCheck().evaluate(_ctx(db))
    assert bool(alerts) is fires


def test_k_of_n_message_and_run_grouping(db: psycopg.Connection) -> None:
    # Run a: sync ok, one cinema-day failed, its showtimes never ran -> the run failed.
    add_execution(db, run_id="a", task_id="sync", ago=timedelta(hours=3))
    add_execution(
        db,
        run_id="a",
        task_id="cinema_day.cinema_dates",
        map_index=4,
        state=FAILED,
        ago=timedelta(hours=3),
        error_category="network_error",
        error_message="Timeout after 10 s: GET /quickbook/10103/film-events/in-cinema/1090",
        fingerprint="Timeout after <n> s: GET <url>",
    )
    add_execution(
        db, run_id="a", task_id="cinema_day.showtimes", map_index=4, state=UPSTREAM_FAILED, duration_ms=None
    )
    # Run b: a task failed on its first try but succeeded on the retry -> the run is fine.
    add_execution(db, run_id="b", task_id="sync", state=RETRYING, ago=timedelta(hours=2))
    add_execution(db, run_id="b", task_id="sync", try_number=2, ago=timedelta(hours=2))
    # Run c: only an upstream_failed row is known yet -> failed.
    add_execution(db, run_id="c", task_id="plan_films", state=UPSTREAM_FAILED, ago=timedelta(hours=1))
    # Run d: still waiting for a retry -> undecided, not counted.
    add_execution(db, run_id="d", task_id="sync", state=RETRYING, ago=timedelta(minutes=5))

    [alert] = FailedRunsCheck().evaluate(_ctx(db))
    assert alert.key == "runs:cinema_city"
    assert alert.summary == "2 of the last 3 runs failed."
    assert alert.facts[0].value == "2 of 3" and alert.facts[0].target == "alert at 2 of 3"
    assert alert.facts[1].value == "c"
    assert alert.panel_path == "/dags/cinema_city/runs/c/plugin/chain"
    assert alert.top_error is not None
    assert alert.top_error.fingerprint == "Timeout after <n> s: GET <url>"
    assert alert.top_error.example.startswith("Timeout after 10 s")


def test_k_of_n_is_per_scraper(db: psycopg.Connection) -> None:
    add_runs(db, "ff", scraper="cinema_city")
    add_runs(db, "ss", scraper="kino_krakow")
    assert [a.scraper for a in FailedRunsCheck().evaluate(_ctx(db))] == ["cinema_city"]


# --- k of a run's units ------------------------------------------------------------------------


@pytest.mark.parametrize(("failed", "fires"), [({2, 3, 4}, True), ({2, 3}, False), (set(range(7)), True)])
def test_k_of_a_runs_day_pages(db: psycopg.Connection, failed: set[int], fires: bool) -> None:
    add_unit_run(db, "r1", failed=failed)
    assert bool(FailedUnitsCheck().evaluate(_ctx(db))) is fires


def test_k_of_a_runs_units_message_follows_the_config(db: psycopg.Connection) -> None:
    add_unit_run(db, "scheduled__2026-11-23T06:00:00+00:00", failed={1, 4, 5})
    [alert] = FailedUnitsCheck().evaluate(_ctx(db))
    assert (alert.key, alert.severity, alert.task_id) == ("units:kino_krakow", "warning", "day.day_pages")
    assert alert.title == "Failed units"
    assert alert.summary == "3 of the 7 day pages of the latest run failed."
    assert [(f.label, f.value, f.target) for f in alert.facts] == [
        ("Failed", "3 of 7 day pages", "alert at 3 or more"),
        ("Run", "scheduled__2026-11-23T06:00:00+00:00", None),
        ("Map indexes", "1, 4, 5", "day.day_pages"),
    ]
    assert (
        alert.panel_path == "/dags/kino_krakow/runs/scheduled__2026-11-23T06%3A00%3A00%2B00%3A00/plugin/chain"
    )
    assert alert.top_error is not None and alert.top_error.count == 3
    assert alert.top_error.example.startswith("Timeout after 30 s: POST /settings/set_day/")
    # The threshold is the config's, in the decision and in the wording.
    [tuned] = FailedUnitsCheck().evaluate(_ctx(db, failed_units={"k": 2}))
    assert tuned.facts[0].target == "alert at 2 or more"
    assert FailedUnitsCheck().evaluate(_ctx(db, failed_units={"k": 4})) == []


def test_k_of_a_runs_units_judges_the_latest_run_whose_units_all_ended(db: psycopg.Connection) -> None:
    add_unit_run(db, "old", failed={0, 1, 2}, ago=timedelta(hours=5))
    # Newer runs that have not finished fanning out (2 of 7 units in, or one waiting for a retry)
    # neither resolve the older run's alert nor count yet.
    add_unit_run(db, "fanning-out", ran=2, ago=timedelta(hours=2))
    add_unit_run(db, "retrying", retrying={3}, ago=timedelta(hours=1))
    [alert] = FailedUnitsCheck().evaluate(_ctx(db))
    assert alert.facts[1].value == "old"
    # A newer complete run that lost fewer days: nothing fires (the evaluator resolves the alert).
    add_unit_run(db, "new", failed={6}, ago=timedelta(minutes=30))
    assert FailedUnitsCheck().evaluate(_ctx(db)) == []
    # Cinema City's cinema-days are units too, per scraper.
    add_unit_run(
        db, "cc", failed={0, 7, 13}, units=14, scraper="cinema_city", unit_task="cinema_day.cinema_dates"
    )
    [cinema] = FailedUnitsCheck().evaluate(_ctx(db))
    assert (cinema.key, cinema.summary) == (
        "units:cinema_city",
        "3 of the 14 cinema-days of the latest run failed.",
    )


# --- error spike -------------------------------------------------------------------------------


def _errors(db: psycopg.Connection, count: int, *, days_ago: int, category: str = "network_error") -> None:
    for i in range(count):
        add_execution(
            db,
            run_id=f"d{days_ago}-{category}",
            task_id="movie_details",
            map_index=i,
            state=RETRYING,
            ago=timedelta(days=days_ago, hours=1),
            error_category=category,
            error_message=f"HTTP 503 for film {i} <b>",
            fingerprint="HTTP <n> for film <n>",
        )


def test_spike_against_the_trailing_week(db: psycopg.Connection) -> None:
    for day in range(1, 8):
        _errors(db, 1, days_ago=day)  # 1 a day is normal
    _errors(db, 6, days_ago=0)
    [alert] = ErrorSpikeCheck().evaluate(_ctx(db))
    assert alert.key == "spike:cinema_city:network_error"
    assert alert.summary == "6 network_error errors in the last 24 h: 6.0× the usual."
    assert alert.facts[1].value == "1.0"
    assert alert.top_error is not None and alert.top_error.count == 6
    assert alert.panel_path == "/scraper-monitor/errors?scraper=cinema_city&category=network_error"


def test_no_spike_at_the_usual_level(db: psycopg.Connection) -> None:
    for day in range(1, 8):
        _errors(db, 4, days_ago=day)
    _errors(db, 10, days_ago=0)  # 2.5x the usual 4: under the factor 3
    assert ErrorSpikeCheck().evaluate(_ctx(db)) == []


@pytest.mark.parametrize(("today", "fires"), [(4, False), (5, True)])
def test_minimum_volume_guard(db: psycopg.Connection, today: int, fires: bool) -> None:
    # A quiet week (no errors at all): 4 errors are infinitely more, yet too few to call a spike.
    _errors(db, today, days_ago=0)
    alerts = ErrorSpikeCheck().evaluate(_ctx(db))
    assert bool(alerts) is fires
    if fires:
        assert "none in the days before" in alerts[0].summary


def test_spike_is_per_category(db: psycopg.Connection) -> None:
    for day in range(1, 8):
        _errors(db, 5, days_ago=day, category="network_error")
    _errors(db, 5, days_ago=0, category="network_error")
    _errors(db, 7, days_ago=0, category="data_quality_error")
    assert [a.key for a in ErrorSpikeCheck().evaluate(_ctx(db))] == ["spike:cinema_city:data_quality_error"]


# --- silent failures ---------------------------------------------------------------------------


def test_silent_failures_in_the_window(db: psycopg.Connection) -> None:
    add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=2, run_id="r1")
    for i, reason in enumerate(["showtimes == 0 (expected > 0)", "showtimes == 0 (expected > 0)", "other"]):
        add_execution(
            db,
            scraper="kino_krakow",
            task_id="day.day_pages",
            map_index=i,
            run_id=f"r{i}",
            silent=True,
            silent_reason=reason,
            ago=timedelta(hours=3 - i),
        )
    add_execution(db, task_id="sync", silent=True, silent_reason="old", ago=timedelta(hours=30))  # outside

    [alert] = SilentFailureCheck().evaluate(_ctx(db))
    assert alert.key == "silent:kino_krakow"
    assert alert.severity == "warning"
    assert alert.summary == "3 task run(s) succeeded without producing anything in the last 24 h."
    assert alert.top_error is not None
    assert alert.top_error.count == 2
    assert alert.top_error.example == "day.day_pages in r1: showtimes == 0 (expected > 0)"
    assert alert.facts[2].value == "r2"  # the newest


# --- SLO breach --------------------------------------------------------------------------------


def test_slo_breach_for_a_task_and_the_scraper(db: psycopg.Connection) -> None:
    for i in range(5):
        add_execution(db, task_id="movie_details", map_index=i, duration_ms=2500)
    for i in range(5, 8):
        add_execution(
            db,
            task_id="movie_details",
            map_index=i,
            state=FAILED,
            error_category="validation_error",
            error_message="TMDB: no match for 'Wicked: Część 2' & co",
            fingerprint="TMDB: no match for <title>",
        )
    alerts = {a.key: a for a in SloBreachCheck().evaluate(_ctx(db))}
    assert set(alerts) == {"slo:cinema_city:movie_details", "slo:cinema_city:*"}
    task = alerts["slo:cinema_city:movie_details"]
    assert task.severity == "critical" and task.task_id == "movie_details"
    assert task.summary == (
        "movie_details success rate is 62.5 %, below the alert threshold 75.0 % over the last 7 days."
    )
    assert [(f.label, f.value, f.target) for f in task.facts] == [
        ("Success rate", "62.5 %", "target 85.0 %, alert below 75.0 %"),
        ("Final runs", "5 ok · 3 failed · 0 silent", "last 7 days"),
        ("Avg duration", "2.5 s", "target 2.0 s"),
    ]
    assert task.top_error is not None
    assert task.top_error.example == "TMDB: no match for 'Wicked: Część 2' & co"
    assert task.top_error.category == "validation_error"


def test_no_slo_alert_below_target_or_under_minimum_volume(db: psycopg.Connection) -> None:
    for i in range(4):
        add_execution(db, task_id="sync", run_id=f"r{i}", state=FAILED)  # 0 %, but only 4 runs
    for i in range(9):
        add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=i)
    add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=9, state=FAILED)  # 90 %: met
    for i in range(7):
        add_execution(db, scraper="kino_krakow", task_id="movie_details", map_index=i)
    for i in (7, 8):  # 78 %: below the 80 % target, above the 75 % alert threshold
        add_execution(db, scraper="kino_krakow", task_id="movie_details", map_index=i, state=FAILED)
    statuses = {(s.scraper, s.task_id): s.status for s in slo_statuses(db, slo.load_config(), now=NOW)}
    assert statuses[("kino_krakow", "movie_details")] == slo.BELOW_TARGET
    assert SloBreachCheck().evaluate(_ctx(db)) == []
