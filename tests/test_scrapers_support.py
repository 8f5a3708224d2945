"""Helpers for the scraper tests (no tests here): fast client settings, Airflow-like retries, small
scenarios. The simulator fixtures (tests/fixtures/sitesim.py) are loaded by conftest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scrapers.cinema_city.client import CinemaCitySite
from scrapers.errors import ScraperError
from scrapers.http import SiteConfig
from scrapers.outcome import StepResult
from scrapers.tmdb import TmdbConfig
from sitesim import Scenario, SiteSimulator
from sitesim.scenario import from_mapping

#: The client model the predictions are asked about: attempts per try, Airflow tries, timeout.
ATTEMPTS, TRIES, TIMEOUT_S = 2, 3, 0.5


def fast_config(base_url: str, **overrides: Any) -> SiteConfig:
    """Production retry logic with test-sized waits: no polite delay, 10 ms backoff, capped 429s."""
    settings: dict[str, Any] = {
        "timeout_s": TIMEOUT_S,
        "max_attempts": ATTEMPTS,
        "backoff_s": 0.01,
        "polite_delay_s": 0.0,
        "retry_after_cap_s": 0.05,
        **overrides,
    }
    return SiteConfig(base_url=base_url, **settings)


def cc_site(sim: SiteSimulator, **overrides: Any) -> CinemaCitySite:
    return CinemaCitySite(fast_config(sim.base_urls["cinema_city"], **overrides))


def kk_site(sim: SiteSimulator, **overrides: Any) -> SiteConfig:
    return fast_config(sim.base_urls["kino_krakow"], **overrides)


def tmdb_config(sim: SiteSimulator, api_key: str | None = None, **overrides: Any) -> TmdbConfig:
    url = sim.base_urls["tmdb"]
    key = sim.scenario.tmdb_api_key if api_key is None else api_key
    return TmdbConfig(base_url=url, api_key=key, site=fast_config(url, **overrides))


def with_tries(step: Callable[[], StepResult], tries: int = TRIES) -> tuple[StepResult | None, int]:
    """Run a step as Airflow would: up to ``tries`` tries while it raises a ScraperError.

    Returns (result or None when every try failed, tries used)."""
    for attempt in range(1, tries + 1):
        try:
            return step(), attempt
        except ScraperError:
            if attempt == tries:
                return None, attempt
    raise AssertionError("unreachable")


#: A small world: two Kraków cinemas and one elsewhere, two days, a few films of each TMDB kind.
SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 5,
    "films": [
        {"title_pl": "Ciche miasto", "title_original": "The Quiet Town", "year": 2025},
        {
            "title_pl": "Wybieram ciebie",
            "title_original": "Eternity",
            "cc_name": "Eternity. Wybieram ciebie",
            "tmdb": "split_match",
        },
        {"title_pl": "Dom dobry", "language": "pl", "tmdb": "needs_review"},
        {"title_pl": "Sezon na misia", "language": "pl", "tmdb": "low_confidence"},
        {"title_pl": "Maraton Kina Grozy", "language": "pl", "tmdb": "no_result"},
    ],
    "cinema_city": {
        "days": 2,
        "films": 5,
        "films_per_day": 5,
        "showtimes_per_day": 10,
        "cinemas": [
            {"id": "1090", "name": "Kraków - Bonarka", "city": "Kraków"},
            {"id": "1076", "name": "Kraków - Galeria Kazimierz", "city": "Kraków"},
            {"id": "1074", "name": "Warszawa - Arkadia", "city": "Warszawa"},
        ],
        "empty_days": [{"cinema": "1076", "day": 1}],
    },
    "kino_krakow": {
        "films": 5,
        "days": 3,
        "days_per_film": [1, 2],
        "uuid_slugs": 0.5,
        "empty_days": [2],
        "cinemas": [
            {"slug": "cinema-city/bonarka", "name": "Cinema City Bonarka"},
            {"slug": "kino-pod-baranami", "name": "Kino Pod Baranami"},
        ],
    },
}


def small_scenario(*faults: dict[str, Any], **sections: Any) -> Scenario:
    """SMALL with the given fault rules (and section overrides)."""
    return from_mapping({**SMALL, **sections, "faults": list(faults)}, source="small.yaml")


@contextmanager
def serving(scenario: Scenario | str, anchor_date: str | None = None) -> Iterator[SiteSimulator]:
    """A simulator for a whole test module: each start/stop costs the server's 0.5 s shutdown poll."""
    with SiteSimulator(scenario, anchor_date=anchor_date) as simulator:
        yield simulator
