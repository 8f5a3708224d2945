"""Scenario files: loading, validation messages that name the field, deterministic generation."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sitesim.scenario import MATCHED_KINDS, SCENARIO_DIR, ScenarioError, bundled, load, parse
from tests.fixtures.sitesim import small_scenario


def test_bundled_scenarios_load_by_name_and_by_path() -> None:
    assert {"demo", "clean"} <= set(bundled())
    demo = load("demo")
    assert demo.name == "demo"
    assert load(SCENARIO_DIR / "demo.yaml") == demo


def test_unknown_name_lists_the_bundled_scenarios() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'; bundled: .*demo"):
        load("nope")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"faults": [{"site": "cinema_city", "kind": "status"}]}, r"faults\[0\]\.status: is required"),
        (
            {"faults": [{"site": "cinema_city", "kind": "status", "status": 700}]},
            r"faults\[0\]\.status: must be an integer between 100 and 599",
        ),
        ({"faults": [{"site": "imdb", "kind": "delay", "seconds": 1}]}, r"faults\[0\]\.site: must be one of"),
        (
            {"faults": [{"site": "cinema_city", "kind": "selector_removed"}]},
            r"faults\[0\]\.kind: selector_removed cannot apply to cinema_city",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "delay", "seconds": 1, "fist_n": 2}]},
            r"faults\[0\]\.fist_n: unknown field",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "status", "status": 503, "day": 2}]},
            r"faults\[0\]\.day: only Kino Krakow",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "status", "status": 503, "retry_after": 1}]},
            r"faults\[0\]\.retry_after: only applies to status 429",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "status", "status": 503, "first_n": 1, "requests": [1, 2]}]},
            r"faults\[0\]\.requests: give either first_n or requests",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "status", "status": 503, "requests": [3, 2]}]},
            r"faults\[0\]\.requests: must be \[from, to\]",
        ),
        (
            {"faults": [{"site": "tmdb", "kind": "status", "status": 503, "from_s": 60, "until_s": 30}]},
            r"faults\[0\]\.until_s: must be greater than from_s",
        ),
        (
            {"faults": [{"site": "cinema_city", "kind": "drop_field"}]},
            r"faults\[0\]\.field: is required for kinds drop_field and garble_field",
        ),
        (
            {"faults": [{"site": "kino_krakow", "kind": "garble_field", "field": "event_attributes"}]},
            r"faults\[0\]\.field: must be one of showtime_time, film_title for kino_krakow",
        ),
        (
            {"faults": [{"site": "cinema_city", "kind": "day_not_switched"}]},
            r"faults\[0\]\.kind: day_not_switched cannot apply to cinema_city",
        ),
        ({"films": [{"title_pl": "X", "tmdb": "maybe"}]}, r"films\[0\]\.tmdb: must be one of"),
        (
            {"films": [{"title_pl": "X", "language": "pl", "tmdb": "split_match"}]},
            r"films\[0\]\.cc_name: a split_match film needs language en",
        ),
        ({"anchor_date": "24.11.2025"}, r"anchor_date: must be a date YYYY-MM-DD"),
        ({"cinema_city": {"cinemas": "1090"}}, r"cinema_city\.cinemas: must be a list"),
        (
            {"cinema_city": {"empty_days": [{"cinema": "9999", "day": 1}]}},
            r"cinema_city\.empty_days\[0\]\.cinema: unknown cinema id '9999'",
        ),
        ({"kino_krakow": {"days": 9}}, r"kino_krakow\.days: must be an integer between 0 and 7"),
        ({"kino_krakow": {"films": 40}}, r"kino_krakow\.films: needs 40 films"),
    ],
)
def test_a_bad_field_is_named_in_the_error(overrides: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^small\.yaml: {message}"):
        small_scenario(**overrides)


def test_invalid_yaml_is_reported_with_the_file_name() -> None:
    with pytest.raises(ScenarioError, match=r"^x\.yaml: not valid YAML"):
        parse("films: [unclosed", source="x.yaml")


def test_the_same_seed_generates_the_same_data_and_another_seed_does_not() -> None:
    assert load("demo").catalog == load("demo").catalog
    assert small_scenario().catalog == small_scenario().catalog
    assert small_scenario(seed=4).catalog.cinema_days != small_scenario().catalog.cinema_days


def test_anchor_is_today_in_warsaw_unless_given() -> None:
    scenario = small_scenario()
    before = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    assert scenario.anchor() in {before, datetime.now(ZoneInfo("Europe/Warsaw")).date()}
    assert scenario.anchor(date(2025, 1, 2)) == date(2025, 1, 2)
    assert small_scenario(anchor_date="2025-03-04").anchor() == date(2025, 3, 4)


def test_demo_has_the_promised_volumes() -> None:
    demo = load("demo")
    catalog = demo.catalog
    krakow = {c.id: c.name for c in demo.cinema_city.cinemas if c.city == "Kraków"}
    assert krakow == {
        "1090": "Kraków - Bonarka",
        "1076": "Kraków - Galeria Kazimierz",
        "1064": "Kraków - Zakopianka",
    }
    assert len(demo.cinema_city.cinemas) > len(krakow)  # other cities, so the city filter matters
    krakow_days = [cd for (cid, _), cd in catalog.cinema_days.items() if cid in krakow]
    assert all(17 <= len(cd.films) <= 20 and 44 <= len(cd.events) <= 52 for cd in krakow_days)
    assert demo.cinema_city.days == demo.kino_krakow.days == 7

    assert len(catalog.kk_films) == 100
    assert len(catalog.kk_without_showtimes) == 33
    split = [f for f in catalog.cc_films if f.tmdb == "split_match"]
    assert len(split) >= 3 and all(
        ". " in f.cc_name or ": " in f.cc_name or " - " in f.cc_name for f in split
    )
    assert any(f.link_slug != f.slug for f in catalog.kk_films)  # some programme links carry a UUID
    for films in (catalog.cc_films, [fd.film for day in catalog.programme.values() for fd in day]):
        kinds = Counter(f.tmdb for f in set(films))
        not_matched = sum(n for kind, n in kinds.items() if kind not in MATCHED_KINDS) / sum(kinds.values())
        assert 0.25 <= not_matched <= 0.35
        assert {"no_result", "needs_review", "low_confidence"} <= set(kinds)


def test_day_zero_is_today_in_the_sites_time_zone() -> None:
    # 14 hours ahead of UTC and 11 behind: at most moments of the day they are on different dates.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Warsaw"):
        scenario = small_scenario(timezone=zone)
        assert scenario.timezone == zone
        before = datetime.now(ZoneInfo(zone)).date()
        assert scenario.anchor() in {before, datetime.now(ZoneInfo(zone)).date()}
    assert small_scenario().timezone == "Europe/Warsaw"
    assert small_scenario(timezone="Pacific/Kiritimati").anchor(date(2026, 1, 2)) == date(2026, 1, 2)
    with pytest.raises(ScenarioError, match="small.yaml: timezone: 'Mars/Olympus' is not an IANA time zone"):
        small_scenario(timezone="Mars/Olympus")


# --- cities -----------------------------------------------------------------------------------

WARSAW = {"name": "Warszawa", "films": 2, "films_per_day": 1, "showtimes_per_day": 2}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cinema_city": {"cities": {"Warszawa": {}}}}, r"cinema_city\.cities: must be a list"),
        ({"cinema_city": {"cities": [{"films": 2}]}}, r"cinema_city\.cities\[0\]\.name: is required"),
        (
            {"cinema_city": {"cities": [{**WARSAW, "films": 9}]}},
            r"cinema_city\.cities\[0\]\.films: must be an integer between 0 and 3",
        ),
        (
            {"cinema_city": {"cities": [{"name": "Warszawa", "films": 1}]}},
            r"cinema_city\.cities\[0\]\.films_per_day: cannot exceed the films screened \(1\)",
        ),
        (
            {"cinema_city": {"cities": [{"name": "Gdańsk"}]}},
            r"cinema_city\.cities\[0\]\.cinemas: no cinema in Gdańsk",
        ),
        (
            {"cinema_city": {"cities": [WARSAW, {**WARSAW, "name": "warszawa"}]}},
            r"cinema_city\.cities\[1\]\.name: 'warszawa' is listed twice",
        ),
        (
            {"cinema_city": {"cities": [{**WARSAW, "cinemas": [{"id": "1090", "name": "Warszawa - X"}]}]}},
            r"cinema_city\.cinemas: cinema ids must be unique",
        ),
        (
            {"cinema_city": {"cities": [{**WARSAW, "cinemas": [{"id": "1", "name": "X", "city": "Łódź"}]}]}},
            r"cinema_city\.cities\[0\]\.cinemas\[0\]\.city: unknown field",
        ),
        ({"kino_krakow": {"cities": []}}, r"kino_krakow\.cities: must list at least one city"),
        ({"kino_krakow": {"cities": [{"name": "Warszawa"}]}}, r"kino_krakow\.cities\[0\]\.slug: is required"),
        (
            {"kino_krakow": {"cities": [{"slug": "Warszawa"}]}},
            r"kino_krakow\.cities\[0\]\.slug: 'Warszawa' is not a",
        ),
        (
            {"kino_krakow": {"cities": [{"slug": "lodz"}, {"slug": "lodz"}]}},
            r"kino_krakow\.cities\[1\]\.slug: 'lodz' is listed twice",
        ),
        (
            {"kino_krakow": {"cities": [{"slug": "lodz", "films": 5}]}},
            r"kino_krakow\.cities\[0\]\.films: must be an integer between 0 and 4",
        ),
        (
            {"kino_krakow": {"cities": [{"slug": "lodz", "cinemas_per_film_day": 3}]}},
            r"kino_krakow\.cities\[0\]\.cinemas_per_film_day: cannot exceed the number of cinemas \(2\)",
        ),
        (
            {"kino_krakow": {"cities": [{"slug": "lodz", "empty_days": [8]}]}},
            r"kino_krakow\.cities\[0\]\.empty_days: must be a list of integers between 0 and 6",
        ),
        (
            {"kino_krakow": {"cities": [{"slug": "lodz", "days_ahead": 3}]}},
            r"kino_krakow\.cities\[0\]\.days_ahead: unknown field",
        ),
    ],
)
def test_a_bad_city_list_is_named_in_the_error(overrides: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^small\.yaml: {message}"):
        small_scenario(**overrides)


def test_without_a_city_list_kino_krakow_is_krakow_only_and_unchanged() -> None:
    plain = small_scenario()
    listed = small_scenario(kino_krakow={"cities": [{"slug": "krakow"}, {"slug": "lodz", "name": "Łódź"}]})
    assert list(plain.catalog.kk_cities) == ["krakow"]
    assert list(listed.catalog.kk_cities) == ["krakow", "lodz"]
    # Adding a city changes nothing of Kraków's; the new city draws its own programme.
    assert listed.catalog.kk_cities["krakow"] == plain.catalog.kk_cities["krakow"]
    assert listed.catalog.kk_cities["lodz"].programme != plain.catalog.programme


def test_the_shipped_scenarios_have_three_cities_with_data_of_their_own() -> None:
    for name in ("demo", "clean"):
        scenario = load(name)
        cities = {c.name: c for c in scenario.cinema_city.cities}
        assert {"Kraków", "Warszawa", "Wrocław"} <= set(cities)
        assert len({(c.films, c.films_per_day, c.showtimes_per_day) for c in cities.values()}) >= 3
        kk = scenario.catalog.kk_cities
        assert {"krakow", "warszawa", "wroclaw"} <= set(kk)
        cinemas = [
            frozenset(c.slug for c in kk[slug].spec.cinemas) for slug in ("krakow", "warszawa", "wroclaw")
        ]
        assert len(set(cinemas)) == 3 and not cinemas[0] & cinemas[1]
        assert len({len(kk[slug].films) for slug in ("krakow", "warszawa", "wroclaw")}) == 3


def test_the_shortest_window_reaches_every_day_the_faults_and_empty_days_name() -> None:
    def window(faults: list[dict], kk_empty: tuple[int, ...] = ()) -> int:
        no_empty = {"cinema_city": {"empty_days": []}, "kino_krakow": {"empty_days": list(kk_empty)}}
        return small_scenario(faults=faults, **no_empty).window_days()

    regex = {
        "name": "r",
        "site": "cinema_city",
        "regex": r".*/at-date/{day+1}$",
        "kind": "status",
        "status": 503,
    }
    kk_day = {
        "name": "k",
        "site": "kino_krakow",
        "path": "/cinema_program/by_movie",
        "day": 2,
        "kind": "empty",
    }
    assert window([]) == 1
    assert window([regex]) == 2
    assert window([regex, kk_day]) == 3
    assert window([], kk_empty=(2,)) == 3
    assert small_scenario().window_days() == 3  # SMALL's empty days are day 2 of both sites
    # Faults on every day (no day named) need no more than day 0.
    assert load("incidents/tmdb-outage").window_days() == 1
    assert load("incidents/edge-timeouts").window_days() == 7  # Galeria Kazimierz's last day times out
