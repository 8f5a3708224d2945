"""Prometheus metrics from a real store: values, and the pre-initialised zero series the rules need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scraper_monitor import metrics, settings, slo
from scraper_monitor.category import CATEGORIES
from scraper_monitor.state import FAILED, RETRYING, STATES, SUCCESS, UPSTREAM_FAILED
from scrapers.outcome import OUTCOMES
from tests.factories import NOW, add_execution, add_items
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(store: str) -> Samples:
    body = metrics.render_metrics(store, slo_config=slo.load_config(), now=NOW)[0].decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum of the series with these labels, as PromQL's ``sum`` over the labels not given (the
    ``city`` label splits a scraper's series); None when there is no such series."""
    wanted = frozenset(labels.items())
    found = [v for (n, have), v in samples.items() if n == name and wanted <= have]
    return sum(found) if found else None


def test_empty_store_has_zero_series_for_every_configured_scraper(store: str) -> None:
    samples = scrape(store)
    for scraper, tasks in slo.load_config().configured_tasks().items():
        for task in tasks:
            for state in STATES:
                assert (
                    value(samples, "scraper_monitor_task_executions", scraper=scraper, task=task, state=state)
                    == 0
                )
        for category in CATEGORIES:
            assert value(samples, "scraper_monitor_errors", scraper=scraper, category=category) == 0
        for outcome in OUTCOMES:
            assert value(samples, "scraper_monitor_items", scraper=scraper, outcome=outcome) == 0
        assert value(samples, "scraper_monitor_items_expected", scraper=scraper) == 0
        assert value(samples, "scraper_monitor_silent_failures", scraper=scraper) == 0
        # Never succeeded: 0, so "time() - last success > 26 h" fires instead of having no series.
        assert value(samples, "scraper_monitor_last_success_timestamp_seconds", scraper=scraper) == 0
        # cinema_city's own SLO (seed 000); kino_krakow declares none for the scraper as a whole.
        target, threshold = {"cinema_city": (0.90, 0.80), "kino_krakow": (0.85, 0.75)}[scraper]
        assert value(samples, "scraper_monitor_slo_target_ratio", scraper=scraper) == target
        assert value(samples, "scraper_monitor_slo_alert_threshold_ratio", scraper=scraper) == threshold
        # No verdict without data: no ratio, so the SLO rules cannot fire on nothing.
        assert value(samples, "scraper_monitor_slo_success_ratio", scraper=scraper) is None


def test_values_from_the_store(store: str, db: psycopg.Connection) -> None:
    # Run 1 (5 h ago): everything fine, 3 showtimes created, 1 updated.
    add_execution(db, run_id="r1", task_id="sync", ago=timedelta(hours=5), duration_ms=1500)
    showtimes = add_execution(
        db,
        run_id="r1",
        task_id="cinema_day.showtimes",
        map_index=0,
        ago=timedelta(hours=5),
        duration_ms=45_000,
    )
    add_items(db, showtimes, outcome="created", count=3)
    add_items(db, showtimes, outcome="updated", count=1)
    # Run 2 (1 h ago): one cinema-day failed after a retry, its batch never ran, one sync was silent.
    add_execution(
        db, run_id="r2", task_id="sync", ago=timedelta(hours=1), silent=True, silent_reason="0 cinemas"
    )
    add_execution(
        db, run_id="r2", task_id="cinema_day.cinema_dates", state=RETRYING, error_category="network_error"
    )
    add_execution(
        db,
        run_id="r2",
        task_id="cinema_day.cinema_dates",
        try_number=2,
        state=FAILED,
        duration_ms=700_000,
        error_category="network_error",
    )
    add_execution(
        db,
        run_id="r2",
        task_id="cinema_day.showtimes",
        state=UPSTREAM_FAILED,
        duration_ms=None,
        started_at=None,
    )
    add_execution(db, run_id="r2", task_id="movie_details", state=FAILED, error_category=None)
    # Outside the 24 h window: counts nowhere except the last success.
    add_execution(db, run_id="r0", task_id="sync", ago=timedelta(days=2))
    # Another DAG, not in slo.yaml: still gets its series.
    add_execution(db, scraper="scraper_monitor_alerts", task_id="evaluate", run_id="a1")

    s = scrape(store)
    executions = "scraper_monitor_task_executions"
    assert value(s, executions, scraper="cinema_city", task="sync", state=SUCCESS) == 2
    assert value(s, executions, scraper="cinema_city", task="cinema_day.cinema_dates", state=RETRYING) == 1
    assert value(s, executions, scraper="cinema_city", task="cinema_day.cinema_dates", state=FAILED) == 1
    assert (
        value(s, executions, scraper="cinema_city", task="cinema_day.showtimes", state=UPSTREAM_FAILED) == 1
    )
    assert value(s, executions, scraper="scraper_monitor_alerts", task="evaluate", state=SUCCESS) == 1
    assert value(s, executions, scraper="scraper_monitor_alerts", task="evaluate", state=FAILED) == 0
    assert value(s, "scraper_monitor_errors", scraper="cinema_city", category="network_error") == 2
    assert (
        value(s, "scraper_monitor_errors", scraper="cinema_city", category="unknown_error") == 1
    )  # no category
    assert value(s, "scraper_monitor_silent_failures", scraper="cinema_city") == 1
    assert value(s, "scraper_monitor_items", scraper="cinema_city", outcome="created") == 3
    assert value(s, "scraper_monitor_items", scraper="cinema_city", outcome="updated") == 1
    assert value(s, "scraper_monitor_items", scraper="cinema_city", outcome="failed") == 0
    assert value(s, "scraper_monitor_items_expected", scraper="cinema_city") == 1
    assert value(s, "scraper_monitor_items_expected", scraper="scraper_monitor_alerts") == 0
    # Run 1 is the newest run that fully succeeded (run 2 failed): it ended 5 h ago plus 45 s.
    last = value(s, "scraper_monitor_last_success_timestamp_seconds", scraper="cinema_city")
    assert last == (NOW - timedelta(hours=5) + timedelta(seconds=45)).timestamp()
    assert value(s, "scraper_monitor_last_success_timestamp_seconds", scraper="kino_krakow") == 0

    histogram = "scraper_monitor_task_duration_seconds_bucket"
    assert value(s, histogram, scraper="cinema_city", task="cinema_day.showtimes", le="30.0") == 0
    assert value(s, histogram, scraper="cinema_city", task="cinema_day.showtimes", le="60.0") == 1
    assert value(s, histogram, scraper="cinema_city", task="cinema_day.cinema_dates", le="600.0") == 1
    assert value(s, histogram, scraper="cinema_city", task="cinema_day.cinema_dates", le="+Inf") == 2
    assert (
        value(s, "scraper_monitor_task_duration_seconds_gsum", scraper="cinema_city", task="sync") == 2.5
    )  # 1.5 s + 1 s


def test_slo_ratio(store: str, db: psycopg.Connection) -> None:
    for i in range(8):
        add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=i)
    add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=8, state=FAILED)
    add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=9, silent=True)
    samples = scrape(store)
    assert value(samples, "scraper_monitor_slo_success_ratio", scraper="kino_krakow") == pytest.approx(0.8)


def test_render_metrics(store: str) -> None:
    body, content_type = metrics.render_metrics(store)
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE scraper_monitor_task_executions gauge" in body


def test_a_broken_slo_file_leaves_out_the_slo_series_not_the_endpoint(
    store: str, db: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_execution(db, state=FAILED, started_at=datetime.now(UTC) - timedelta(hours=1))
    broken = tmp_path / "slo.yaml"
    broken.write_text("window_hours: [not, a, number]\n")
    monkeypatch.setenv(settings.SLO_CONFIG_ENV, str(broken))
    body, _ = metrics.render_metrics(store)  # no snapshot: computed now, with the file unreadable
    families = text_string_to_metric_families(body.decode())
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    assert samples[("scraper_monitor_config_valid", (("file", "slo"),))] == 0
    failed = (("city", ""), ("scraper", "cinema_city"), ("state", "failed"), ("task", "sync"))
    assert samples[("scraper_monitor_task_executions", failed)] == 1
    assert not any(name.startswith("scraper_monitor_slo_") for name, _ in samples)
    monkeypatch.delenv(settings.SLO_CONFIG_ENV)
    assert b'scraper_monitor_config_valid{file="slo"} 1.0' in metrics.render_metrics(store)[0]
