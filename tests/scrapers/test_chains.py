"""Both chains end to end against the demo scenario and every shipped incident scenario, run step
by step as the DAGs run them (task retries included), must report exactly what the scenario
predicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from scrapers.cinema_city import steps as cinema_city
from scrapers.common_steps import collect_matches, plan_films
from scrapers.kino_krakow import steps as kino_krakow
from scrapers.outcome import StepResult
from scrapers.sink import PostgresShowtimeSink
from sitesim import SiteSimulator
from sitesim.scenario import incidents
from tests.fixtures.scrapers import (
    ATTEMPTS,
    TIMEOUT_S,
    TRIES,
    cc_site,
    kk_site,
    serving,
    tmdb_config,
    with_tries,
)
from tests.fixtures.sitesim import ANCHOR, small_scenario

DAYS = 7


@pytest.fixture(scope="module")
def demo():
    with serving("demo") as simulator:
        yield simulator


def run_chain(
    sync: Callable[[], StepResult],
    unit_step: Callable[[dict], StepResult],
    detail_step: Callable[[dict], StepResult],
    showtimes_step: Callable[[dict, dict], StepResult],
) -> dict[str, int]:
    """The DAG's flow: sync -> units (mapped) -> plan_films -> movie_details (mapped) ->
    collect_matches -> showtimes per unit that succeeded; counted as the predictions count."""
    synced, _ = with_tries(sync)
    if synced is None:
        return {"sync_failed": 1}  # nothing downstream runs
    counts: Counter[str] = Counter()
    unit_results: list[dict[str, Any] | None] = []
    for unit in synced.data["units"]:
        result, tries = with_tries(lambda unit=unit: unit_step(unit))
        counts["units_total"] += 1
        if result is None:
            counts["units_failed"] += 1
            counts["showtime_batches_upstream_failed"] += 1
            unit_results.append(None)
            continue
        unit_results.append(result.to_dict())
        if result.skip_reason:
            counts["units_skipped"] += 1
            continue
        counts["units_succeeded"] += 1
        counts["units_retried"] += tries > 1
        counts["units_silent"] += result.counts["showtimes"] == 0
    planned = plan_films(unit_results, synced.data["units"])
    details = [with_tries(lambda film=film: detail_step(film))[0] for film in planned.data["films"]]
    matched = collect_matches([d.to_dict() if d else None for d in details])
    counts["films_total"] = planned.counts["films"]
    counts["films_matched"] = matched.counts["matched"]
    counts["films_not_matched"] = matched.counts["not_matched"]
    counts["films_failed"] = sum(d is None for d in details)
    # Kino Krakow's cross-check: a film whose own page disagrees with the day pages.
    counts["films_silent"] = sum(bool(d and d.counts.get("days_disagreeing")) for d in details)
    for result in unit_results:
        if result is None or result["skip_reason"]:
            continue
        stored = showtimes_step(result, matched.data["matches"]).counts
        assert stored["failed"] == 0
        counts["showtimes_total"] += stored["showtimes"]
        counts["showtimes_created"] += stored["created"]
        counts["showtimes_updated"] += stored["updated"]
        counts["showtimes_skipped"] += stored["skipped"]
    return dict(counts)


def predicted(sim, chain: str, city: str = "Kraków") -> dict[str, int]:
    return sim.scenario.predict(
        chain,
        city_name=city,
        days_ahead=DAYS,
        client_attempts=ATTEMPTS,
        task_tries=TRIES,
        client_timeout=TIMEOUT_S,
        anchor_date=sim.anchor,
    )


def compare(actual: dict[str, int], expected: dict[str, int]) -> None:
    assert {k: actual.get(k, 0) for k in expected} == expected


def run_cinema_city(sim: SiteSimulator, sink: PostgresShowtimeSink, city: str = "Kraków") -> dict[str, int]:
    site, tmdb = cc_site(sim), tmdb_config(sim)
    return run_chain(
        lambda: cinema_city.sync(site, city_name=city, days_ahead=DAYS, scrape_date=sim.anchor),
        lambda unit: cinema_city.cinema_date(site, unit),
        lambda film: cinema_city.movie_details(tmdb, film),
        lambda unit_result, matches: cinema_city.showtimes(unit_result, matches, sink),
    )


def run_kino_krakow(sim: SiteSimulator, sink: PostgresShowtimeSink, city: str = "krakow") -> dict[str, int]:
    site, tmdb = kk_site(sim, city), tmdb_config(sim)
    return run_chain(
        lambda: kino_krakow.sync(site, days_ahead=DAYS, scrape_date=sim.anchor),
        lambda unit: kino_krakow.day_page(site, unit, sim.anchor),
        lambda film: kino_krakow.movie_details(site, tmdb, film, sim.anchor),
        lambda unit_result, matches: kino_krakow.showtimes(unit_result, matches, sink),
    )


def test_cinema_city_chain_reports_what_the_demo_predicts_and_reruns_as_updates(demo, pg_dsn):
    sink = PostgresShowtimeSink(pg_dsn)
    expected = predicted(demo, "cinema_city")
    first = run_cinema_city(demo, sink)
    compare(first, expected)
    assert first.get("showtimes_updated", 0) == 0
    demo.reset()  # the same faults again, as on the next day's run
    second = run_cinema_city(demo, sink)
    compare(second, {**expected, "showtimes_created": 0})
    assert second["showtimes_updated"] == expected["showtimes_created"]


def test_kino_krakow_chain_reports_what_the_demo_predicts(demo, pg_dsn):
    compare(run_kino_krakow(demo, PostgresShowtimeSink(pg_dsn)), predicted(demo, "kino_krakow"))


def test_another_city_reports_what_the_demo_predicts_for_that_city(demo, pg_dsn):
    # Wrocław: its own cinemas and fewer films on both sites, days the cities do not share.
    sink = PostgresShowtimeSink(pg_dsn)
    cinema_city_counts = run_cinema_city(demo, sink, city="Wrocław")
    compare(cinema_city_counts, predicted(demo, "cinema_city", "Wrocław"))
    compare(run_kino_krakow(demo, sink, city="wroclaw"), predicted(demo, "kino_krakow", "Wrocław"))
    assert cinema_city_counts["films_total"] != predicted(demo, "cinema_city")["films_total"]


@pytest.mark.parametrize("name", incidents())
def test_both_chains_report_what_each_incident_scenario_predicts(name: str, pg_dsn) -> None:
    with serving(name) as sim:
        sink = PostgresShowtimeSink(pg_dsn)
        compare(run_cinema_city(sim, sink), predicted(sim, "cinema_city"))
        compare(run_kino_krakow(sim, sink), predicted(sim, "kino_krakow"))


@pytest.mark.parametrize("empty_days", [[], [0]])
def test_kino_krakow_chain_on_a_set_day_that_does_not_switch_reports_what_is_predicted(
    empty_days: list[int], pg_dsn
) -> None:
    """The day page shows day 0: its rows fail the date check; day 0's notice skips the day."""
    fault = {"site": "kino_krakow", "path": "/settings/set_day/1", "kind": "day_not_switched"}
    scenario = small_scenario(faults=[fault], kino_krakow={"empty_days": empty_days})
    with serving(scenario, anchor_date=ANCHOR.isoformat()) as sim:
        compare(run_kino_krakow(sim, PostgresShowtimeSink(pg_dsn)), predicted(sim, "kino_krakow"))
