"""The city of a run, one key whichever param spelled it, and the city as a dimension of the monitor:
the listings, trends, SLO statuses and Prometheus series of one city (real PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scraper_monitor import metrics, slo
from scraper_monitor.city import city_of, parse_city
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reports import executions, overview, trends
from scraper_monitor.reports.slo import slo_statuses
from scraper_monitor.state import FAILED, SUCCESS
from scraper_monitor.store import rollup
from scraper_monitor.store.filters import ExecutionFilter
from tests.factories import NOW, add_execution, make_summary
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"city": "krakow"}, "krakow"),  # Kino Krakow's param
        ({"city_name": "Kraków"}, "krakow"),  # Cinema City's, as its API spells it
        ({"city_name": "KRAKÓW "}, "krakow"),
        ({"city_name": "Łódź"}, "lodz"),  # ł has no Unicode decomposition
        ({"city_name": "Bielsko-Biała"}, "bielsko-biala"),
        ({"city_name": "Nowy  Sącz"}, "nowy-sacz"),
        ({"city": "wroclaw", "city_name": "Kraków"}, "wroclaw"),  # the slug param wins
        ({"days_ahead": 7}, None),  # a DAG without a city
        ({"city_name": "???"}, None),  # nothing of a name left
        ({"city": 3}, None),
        (None, None),
    ],
)
def test_a_runs_city_is_one_key_whichever_param_spells_it(params: dict | None, key: str | None) -> None:
    assert city_of(params) == key


def test_a_city_filter_takes_either_spelling_and_refuses_what_is_not_a_city() -> None:
    assert parse_city("Kraków") == parse_city("krakow") == "krakow"
    assert ExecutionFilter(city="Wrocław").city == "wroclaw"
    for bad in ("", "<script>", "krakow'; DROP TABLE x", "x" * 101, "---"):
        with pytest.raises(ValueError, match="city must be"):
            parse_city(bad)


def test_a_summary_carries_the_key_and_an_old_spooled_one_none() -> None:
    assert make_summary(city="Kraków").city == "krakow"
    old = make_summary().to_json()
    del old["city"]  # written before cities were recorded
    assert ExecutionSummary.from_json(old).city is None


# --- the dimension, on a real store --------------------------------------------------------------


@pytest.fixture
def cities(db: psycopg.Connection) -> psycopg.Connection:
    """cinema_city in Kraków (2 successes, 1 failure) and Wrocław (2 failures, 1 silent success),
    and a DAG without a city (1 success)."""
    for n, state in enumerate([SUCCESS, SUCCESS, FAILED]):
        add_execution(db, run_id=f"krk-{n}", state=state, city="krakow", error_category=_category(state))
    for n, state in enumerate([FAILED, FAILED]):
        add_execution(db, run_id=f"wro-{n}", state=state, city="wroclaw", error_category=_category(state))
    add_execution(db, run_id="wro-silent", city="wroclaw", silent=True, silent_reason="showtimes = 0")
    add_execution(db, scraper="failing_pair", task_id="works", run_id="no-city")
    rollup.refresh(db, NOW.date() - timedelta(days=1), NOW.date())
    return db


def _category(state: str) -> str | None:
    return "network_error" if state == FAILED else None


def test_listings_and_stats_of_one_city_and_runs_without_a_city_show(cities: psycopg.Connection) -> None:
    krakow = executions.list_executions(cities, ExecutionFilter(city="Kraków"))
    assert sorted(e.run_id for e in krakow) == ["krk-0", "krk-1", "krk-2"]
    everything = executions.list_executions(cities, ExecutionFilter())
    assert "no-city" in {e.run_id for e in everything} and len(everything) == 7
    (wroclaw,) = overview.stats(cities, hours=24, now=NOW, city="wroclaw")
    assert (wroclaw.scraper, wroclaw.failed, wroclaw.success, wroclaw.silent) == ("cinema_city", 2, 1, 1)
    assert executions.city_names(cities) == ["krakow", "wroclaw"]


def test_trends_of_one_city_and_of_all_together(cities: psycopg.Connection) -> None:
    wroclaw = trends.trends(cities, 7, today=NOW.date(), city="Wrocław")
    assert wroclaw.city == "wroclaw"
    assert [(s.scraper, s.executions, s.errors) for s in wroclaw.scrapers] == [("cinema_city", 3, 2)]
    assert wroclaw.by_day[-1].errors == {"network_error": 2}
    every = trends.trends(cities, 7, today=NOW.date())
    # The cities of a scraper add up, their failures per category too (one key each in the day).
    assert {(s.scraper, s.executions, s.errors) for s in every.scrapers} == {
        ("cinema_city", 6, 3),
        ("failing_pair", 1, 0),
    }
    assert every.by_day[-1].errors == {"network_error": 3}


def test_slo_status_of_one_city(cities: psycopg.Connection) -> None:
    config = slo.load_config()
    (krakow, *_) = slo_statuses(cities, config, now=NOW, scraper="cinema_city", city="Kraków")
    (wroclaw, *_) = slo_statuses(cities, config, now=NOW, scraper="cinema_city", city="wroclaw")
    assert (krakow.city, krakow.task_id, krakow.succeeded, krakow.failed) == ("krakow", None, 2, 1)
    assert (wroclaw.city, wroclaw.succeeded, wroclaw.silent, wroclaw.failed) == ("wroclaw", 0, 1, 2)
    assert wroclaw.success_rate == 0


def _series(store: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body = metrics.render_metrics(store, slo_config=slo.load_config(), now=NOW)[0].decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_prometheus_series_carry_the_city(store: str, cities: psycopg.Connection) -> None:
    found = _series(store)

    def executions_of(city: str, state: str) -> float | None:
        labels = {"scraper": "cinema_city", "task": "sync", "state": state, "city": city}
        return found.get(("scraper_monitor_task_executions", frozenset(labels.items())))

    assert (executions_of("krakow", SUCCESS), executions_of("krakow", FAILED)) == (2, 1)
    assert (executions_of("wroclaw", SUCCESS), executions_of("wroclaw", FAILED)) == (1, 2)
    assert executions_of("", SUCCESS) == 0  # the zero series of a scraper without a city stays
    no_city = {"scraper": "failing_pair", "task": "works", "state": SUCCESS, "city": ""}
    assert found[("scraper_monitor_task_executions", frozenset(no_city.items()))] == 1
    silent = {"scraper": "cinema_city", "city": "wroclaw"}
    assert found[("scraper_monitor_silent_failures", frozenset(silent.items()))] == 1
    errors = {"scraper": "cinema_city", "category": "network_error", "city": "wroclaw"}
    assert found[("scraper_monitor_errors", frozenset(errors.items()))] == 2


def test_the_city_label_is_bounded(
    store: str, cities: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "MAX_CITY_LABELS", 1)
    for n in range(3):  # Wrocław has the most tries now: it keeps its label
        add_execution(cities, run_id=f"wro-more-{n}", city="wroclaw")
    family = "scraper_monitor_task_executions"
    cities_seen = {dict(labels).get("city") for name, labels in _series(store) if name == family}
    assert cities_seen == {"", "wroclaw", metrics.OTHER_CITY}
