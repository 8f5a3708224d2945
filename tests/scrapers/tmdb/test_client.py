"""TMDB client and matching against the simulator's TMDB-compatible search over HTTP."""

from __future__ import annotations

import traceback

import pytest

from scrapers.cinema_city import steps as cinema_city
from scrapers.errors import HttpStatusError, TmdbAuthError
from scrapers.tmdb import FilmQuery, TmdbClient, match_film, matching
from tests.fixtures.scrapers import ATTEMPTS, cc_site, serving, small_scenario, tmdb_config

# TMDB answers 503 to every search for one title: that film's task must fail, not "not match".
TMDB_DOWN = {
    "name": "tmdb-down",
    "site": "tmdb",
    "path": "/3/search/movie",
    "query": {"query": "Ciche*"},
    "kind": "status",
    "status": 503,
}
ONE_CINEMA_DAY = {
    "days": 1,
    "films": 7,
    "films_per_day": 7,
    "showtimes_per_day": 7,
    "cinemas": [{"id": "1090", "name": "Kraków - Bonarka", "city": "Kraków"}],
}


@pytest.fixture(scope="module")
def sim():
    scenario = small_scenario(TMDB_DOWN, generated_films={"count": 2}, cinema_city=ONE_CINEMA_DAY)
    with serving(scenario) as simulator:
        yield simulator


def film(sim, title_pl: str):
    return next(f for f in sim.scenario.catalog.films if f.title_pl == title_pl)


def cc_film(sim, title_pl: str) -> dict:
    """The film as the Cinema City unit step hands it on (from the API, over HTTP)."""
    result = cinema_city.cinema_date(
        cc_site(sim),
        {"cinema_id": "1090", "cinema_name": "B", "date": sim.anchor.isoformat(), "listed": True},
    )
    return next(f for f in result.data["films"] if f["title"] == film(sim, title_pl).cc_name)


@pytest.mark.parametrize(
    ("title_pl", "matched", "reason", "band"),
    [
        ("Wybieram ciebie", True, None, (0.70, 1.0)),
        ("Dom dobry", False, "tmdb_needs_review", (0.50, 0.70)),
        ("Sezon na misia", False, "tmdb_low_confidence", (0.0, 0.50)),
        ("Maraton Kina Grozy", False, "tmdb_no_results", (0.0, 0.0)),
    ],
)
def test_cinema_city_movie_details_lands_each_film_in_its_band(sim, title_pl, matched, reason, band):
    result = cinema_city.movie_details(tmdb_config(sim), cc_film(sim, title_pl))
    data = result.data
    assert (data["matched"], data["reason"]) == (matched, reason)
    assert band[0] <= data["confidence"] <= band[1]
    assert (data["tmdb_id"] is not None) == matched
    item = result.items[0]
    assert item.entity_type == "film" and item.external_id == f"cinema_city_film_{data['film_key']}"
    if matched:
        assert item.outcome == "created" and result.counts == {"matched": 1, "not_matched": 0}
    else:
        assert (item.outcome, item.category, item.reason) == ("failed", "validation_error", reason)
        assert result.counts == {"matched": 0, "not_matched": 1}


def test_the_original_title_split_is_what_finds_an_english_film(sim):
    eternity = cc_film(sim, "Wybieram ciebie")
    assert (eternity["title"], eternity["original_title"]) == ("Eternity. Wybieram ciebie", "Eternity")
    with TmdbClient(tmdb_config(sim)) as client:
        with_split = match_film(client, FilmQuery("Eternity. Wybieram ciebie", "Eternity", 2025, "en"))
        without = match_film(client, FilmQuery("Eternity. Wybieram ciebie", None, 2025, "en"))
    assert with_split.matched and with_split.confidence >= 0.70
    assert without.reason == "tmdb_no_results"


def test_searches_send_the_original_title_then_the_polish_one(sim):
    def queries_of(query: FilmQuery) -> list[str]:
        before = len(sim.request_log)
        with TmdbClient(tmdb_config(sim)) as client:
            match_film(client, query)
        return [r.query for r in sim.request_log[before:] if r.site == "tmdb"]

    # "Dom dobry 3D" normalises to the original title: searched once. TMDB's year filter hides its
    # only namesake (12+ years older), so the search is asked again without the year.
    assert queries_of(FilmQuery("Dom dobry 3D", "Dom dobry", 2025, "pl")) == [
        "api_key=%2A%2A%2A&query=Dom+dobry&year=2025",
        "api_key=%2A%2A%2A&query=Dom+dobry",
    ]
    assert queries_of(FilmQuery("Eternity. Wybieram ciebie", "Eternity", 2025, "en")) == [
        "api_key=%2A%2A%2A&query=Eternity&year=2025",
        "api_key=%2A%2A%2A&query=Eternity.+Wybieram+ciebie&year=2025&language=pl-PL",
        "api_key=%2A%2A%2A&query=Eternity.+Wybieram+ciebie&language=pl-PL",
    ]


def test_a_wrong_api_key_is_a_clear_typed_error_without_the_key(sim):
    wrong_key = "".join(["not-", "the-key"])
    with pytest.raises(TmdbAuthError) as caught:
        cinema_city.movie_details(tmdb_config(sim, api_key=wrong_key), cc_film(sim, "Dom dobry"))
    error = caught.value
    assert (error.status, error.error_type, error.retryable) == (401, "http_auth", False)
    assert "API key" in error.message
    assert wrong_key not in "".join(traceback.format_exception(error))
    assert "api_key=***" in error.url


def test_tmdb_failing_raises_so_the_task_retries(sim):
    before = sum("Ciche" in r.query for r in sim.request_log)
    with pytest.raises(HttpStatusError) as caught:
        cinema_city.movie_details(tmdb_config(sim), cc_film(sim, "Ciche miasto"))
    assert caught.value.status == 503 and caught.value.retryable
    assert sum("Ciche" in r.query for r in sim.request_log) - before == ATTEMPTS


def test_a_film_behind_a_page_of_more_popular_namesakes_is_found_on_page_2(sitesim_factory, monkeypatch):
    """The demo's Franz Kafka (original "Franz"): TMDB lists 22 older, more popular "Franz"es first."""
    sim = sitesim_factory("demo")
    own = next(m for m in sim.scenario.catalog.tmdb.search("Franz") if m.original_language == "cs")
    query = FilmQuery("Franz Kafka", "Franz", 2025, "cs")  # as its Kino Krakow page gives it
    with TmdbClient(tmdb_config(sim)) as client:
        first_page = client.search_page("Franz")
        found = match_film(client, query)
        monkeypatch.setattr(matching, "MAX_SEARCH_PAGES", 1)  # a client that never reads on
        first_page_only = match_film(client, query)
    assert (len(first_page.results), first_page.total_pages) == (20, 2)
    assert own.id not in {m.id for m in first_page.results}
    assert found.matched and found.tmdb_id == own.id and found.confidence >= 0.80
    assert any("page=2" in r.query for r in sim.request_log if r.site == "tmdb")
    assert (first_page_only.matched, first_page_only.reason) == (False, "tmdb_needs_review")
