"""The incident scenarios shipped in sitesim/scenarios/incidents: each loads, says what it
reproduces, and predicts (no "cannot predict") the headline numbers of its incident.

tests/scrapers/test_chains.py runs the real scrapers on each of them against the live simulator."""

from __future__ import annotations

import pytest

from sitesim import load
from sitesim.scenario import SCENARIO_DIR, incidents
from tests.fixtures.sitesim import ANCHOR

KEYS = (
    "sync_failed", "units_total", "units_succeeded", "units_failed", "units_skipped", "units_silent",
    "films_total", "films_matched", "films_failed", "showtimes_created", "showtimes_skipped",
)  # fmt: skip

#: KEYS for (cinema_city, kino_krakow), with the demo stack's client: days_ahead 7, 2 attempts,
#: 3 tries, 3 s timeout.
HEADLINES = {
    "incidents/coordinator-empty": ((0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), (0, 7, 7, 0, 0, 0, 6, 4, 0, 24, 8)),
    "incidents/site-redesign": ((1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
    "incidents/tmdb-outage": ((0, 14, 14, 0, 0, 0, 4, 0, 4, 0, 56), (0, 7, 7, 0, 0, 0, 6, 0, 6, 0, 32)),
    "incidents/csrf-gone": ((0, 14, 14, 0, 0, 0, 4, 3, 0, 41, 15), (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
    "incidents/edge-timeouts": ((0, 14, 13, 1, 0, 0, 4, 3, 0, 37, 15), (0, 7, 6, 1, 0, 0, 6, 4, 0, 18, 8)),
    "incidents/empty-next-to-broken": (
        (0, 14, 11, 1, 2, 1, 4, 3, 0, 29, 11),
        (0, 7, 6, 0, 1, 1, 6, 4, 0, 20, 9),
    ),
}


def test_every_shipped_incident_has_headline_numbers() -> None:
    assert incidents() == sorted(HEADLINES)


@pytest.mark.parametrize("name", sorted(HEADLINES))
def test_each_incident_predicts_its_headline_numbers(name: str) -> None:
    scenario = load(name)
    for chain, headline in zip(("cinema_city", "kino_krakow"), HEADLINES[name], strict=True):
        counts = scenario.predict(chain, anchor_date=ANCHOR)
        assert dict(zip(KEYS, headline, strict=True)) == {k: counts[k] for k in KEYS}, chain


@pytest.mark.parametrize("name", sorted(HEADLINES))
def test_each_incident_says_what_it_reproduces(name: str) -> None:
    text = (SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Reproduces: ")
