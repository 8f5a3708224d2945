"""Kino Krakow as a family of cities: which site the connection places for a city, and the steps
against another city's site of the simulator, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scraper_monitor.category import categorize
from scrapers.common_steps import plan_films
from scrapers.errors import SiteNotConfigured
from scrapers.kino_krakow import steps
from scrapers.kino_krakow.cities import city_base_url
from sitesim import load
from tests.fixtures.scrapers import kk_site, serving, tmdb_config

FAMILY = {
    "city_url_template": "https://{city}.repertuary.pl",
    "city_urls": {"krakow": "https://www.kino.krakow.pl"},
}
HOST = "https://www.kino.krakow.pl"


def place(city: str, extras: dict) -> str:
    return city_base_url(city, host_url=HOST, extras=extras, source="connection kino_krakow_site")


def test_the_template_places_any_city_and_the_exceptions_win():
    assert place("warszawa", FAMILY) == "https://warszawa.repertuary.pl"
    assert place("bielsko-biala", FAMILY) == "https://bielsko-biala.repertuary.pl"
    assert place("krakow", FAMILY) == "https://www.kino.krakow.pl"
    assert place("krakow", {"city_urls": {"krakow": "http://127.0.0.1:8765/kino-krakow/"}}) == (
        "http://127.0.0.1:8765/kino-krakow"
    )


def test_a_connection_without_city_extras_is_the_one_site_of_krakow():
    assert place("krakow", {"timeout_s": 3}) == HOST
    with pytest.raises(SiteNotConfigured, match="city 'warszawa' is not configured: the connection has no"):
        place("warszawa", {})


@pytest.mark.parametrize(
    ("city", "extras", "message"),
    [
        ("gdansk", {"city_urls": {"krakow": HOST}}, "kino_krakow_site: city 'gdansk' is not configured"),
        ("warszawa", {"city_url_template": "https://repertuary.pl"}, r"must be a URL containing \{city\}"),
        ("warszawa", {"city_urls": ["krakow"]}, "city_urls must map city slugs to base URLs"),
        ("Kraków", FAMILY, "'Kraków' is not a city slug"),
        ("evil.com/x", FAMILY, "is not a city slug"),
        ("", FAMILY, "is not a city slug"),
    ],
)
def test_a_city_the_connection_cannot_place_is_a_config_error(city, extras, message):
    with pytest.raises(SiteNotConfigured, match=message) as caught:
        place(city, extras)
    filed = categorize(caught.value)
    assert (filed.category, filed.error_type) == ("validation_error", "missing_config")


# --- another city's site, over HTTP -----------------------------------------------------------


@pytest.fixture(scope="module")
def clean():
    with serving(load("clean")) as simulator:
        yield simulator


def test_steps_scrape_the_asked_city_and_only_it(clean):
    catalog = clean.scenario.catalog.kk_cities["warszawa"]
    site = kk_site(clean, "warszawa")

    synced = steps.sync(site, days_ahead=2, scrape_date=clean.anchor)
    linked = {fd.film.slug for fd in catalog.programme[0]} | {f.slug for f in catalog.without_showtimes}
    assert {f["film_key"] for f in synced.data["films"]} == linked

    days = [steps.day_page(site, unit, clean.anchor) for unit in synced.data["units"]]
    for day, result in enumerate(days):
        served = catalog.programme[day]
        assert result.counts == {"films": len(served), "showtimes": sum(fd.showtimes for fd in served)}
        when = (clean.anchor + timedelta(days=day)).isoformat()
        assert all(s["starts_at"].startswith(when) for s in result.data["showtimes"])
    # Warsaw's own cinemas, none of Kraków's.
    cinemas = {s["payload"]["cinema_slug"] for d in days for s in d.data["showtimes"]}
    assert cinemas <= {c.slug for c in catalog.spec.cinemas}
    assert not cinemas & {c.slug for c in clean.scenario.catalog.kk_cities["krakow"].spec.cinemas}

    # The film pages are Warsaw's too: they agree with Warsaw's day pages.
    films = plan_films([d.to_dict() for d in days], synced.data["units"]).data["films"]
    details = steps.movie_details(site, tmdb_config(clean), films[0], clean.anchor)
    assert details.counts["film_page_showtimes"] == details.counts["listed_showtimes"] > 0

    paths = {r.path for r in clean.request_log if r.site == "kino_krakow"}
    assert paths and all(p.startswith("/cities/warszawa/") for p in paths)
