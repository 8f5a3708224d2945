"""Cinema City client, parser and steps against the simulator over HTTP (and the fault kinds)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scrapers.cinema_city import steps
from scrapers.cinema_city.client import CinemaCityClient
from scrapers.cinema_city.parser import parse_cinemas, parse_film_events
from scrapers.errors import (
    FetchTimeout,
    HttpStatusError,
    InvalidJson,
    RateLimited,
    UnexpectedShape,
    ValidationFailed,
)
from sitesim import load
from sitesim.polish import same_city
from tests.fixtures.scrapers import ATTEMPTS, SMALL, cc_site, serving, small_scenario, with_tries

# One cinema per fault, each fault on its own cinema's day-0 film events, so one simulator serves
# every fault test of this module (a simulator start/stop costs half a second).
FAULTS: dict[str, dict] = {
    "503": {"kind": "status", "status": 503},
    "500": {"kind": "status", "status": 500},
    "404": {"kind": "status", "status": 404},
    "403": {"kind": "status", "status": 403},
    "502-once": {"kind": "status", "status": 502, "first_n": 1},
    "503-twice": {"kind": "status", "status": 503, "first_n": 2},
    "429-once": {"kind": "status", "status": 429, "retry_after": 7, "first_n": 1},
    "429": {"kind": "status", "status": 429, "retry_after": 1},
    "slow": {"kind": "delay", "seconds": 1.0},
    "slow-once": {"kind": "delay", "seconds": 1.0, "first_n": 1},
    "truncated_json": {"kind": "truncated_json"},
    "invalid_json": {"kind": "invalid_json"},
    "empty": {"kind": "empty"},
}
FAULT_CINEMA = {name: str(3000 + i) for i, name in enumerate(FAULTS)}
NO_DATES_CINEMA = "2999"


def fault_world():
    cinemas = [
        {"id": cid, "name": f"Testowo - {name}", "city": "Testowo"} for name, cid in FAULT_CINEMA.items()
    ]
    cinemas.append({"id": NO_DATES_CINEMA, "name": "Testowo - no dates", "city": "Testowo"})
    faults = [
        {
            "name": name,
            "site": "cinema_city",
            "path": f"*/film-events/in-cinema/{FAULT_CINEMA[name]}/at-date/{{day}}",
            **rule,
        }
        for name, rule in FAULTS.items()
    ]
    faults.append(
        {
            "name": "no-dates",
            "site": "cinema_city",
            "path": f"*/dates/in-cinema/{NO_DATES_CINEMA}/*",
            "kind": "empty",
        }
    )
    return small_scenario(*faults, cinema_city={**SMALL["cinema_city"], "cinemas": cinemas, "empty_days": []})


@pytest.fixture(scope="module")
def small_sim():
    with serving(small_scenario()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def faulty():
    with serving(fault_world()) as simulator:
        yield simulator


def unit(sim, cinema_id="1090", day=0, listed=True, name="Kraków - Bonarka") -> dict:
    cinema_id = FAULT_CINEMA.get(cinema_id, cinema_id)
    return {
        "cinema_id": cinema_id,
        "cinema_name": name,
        "date": (sim.anchor + timedelta(days=day)).isoformat(),
        "listed": listed,
    }


@pytest.mark.parametrize("city", ["Kraków", "krakow", "KRAKOW", " kraków "])
def test_sync_filters_the_city_without_caring_for_case_or_diacritics(small_sim, city):
    result = steps.sync(
        cc_site(small_sim), city_name=city.strip(), days_ahead=2, scrape_date=small_sim.anchor
    )
    units = result.data["units"]
    assert result.counts == {"cinemas": 2, "units": 4, "units_listed": 3}
    assert {(u["cinema_id"], u["date"], u["listed"]) for u in units} == {
        ("1090", small_sim.anchor.isoformat(), True),
        ("1090", (small_sim.anchor + timedelta(days=1)).isoformat(), True),
        ("1076", small_sim.anchor.isoformat(), True),
        ("1076", (small_sim.anchor + timedelta(days=1)).isoformat(), False),  # empty_days
    }
    assert units[0]["cinema_name"] == "Kraków - Bonarka"


def test_sync_of_a_city_without_cinemas_has_no_units(small_sim):
    result = steps.sync(cc_site(small_sim), city_name="Gdańsk", days_ahead=2, scrape_date=small_sim.anchor)
    assert result.counts == {"cinemas": 0, "units": 0, "units_listed": 0}
    assert result.data["units"] == [] and result.skip_reason is None  # empty, not an error


def test_cinema_date_reads_films_and_showtimes(small_sim):
    result = steps.cinema_date(cc_site(small_sim), unit(small_sim))
    served = small_sim.scenario.catalog.cinema_days[("1090", 0)]
    assert result.skip_reason is None
    assert result.counts == {"films": len(served.films), "showtimes": len(served.events)}
    assert result.data["unit"]["cinema_id"] == "1090"
    showtime = result.data["showtimes"][0]
    event = served.events[0]
    assert showtime["external_id"] == f"cinema_city_showtime_1090_{event.film_id}_{event.id}"
    assert showtime["film_key"] == event.film_id
    assert showtime["cinema"] == "Kraków - Bonarka"
    # Naive local time from the API, made explicit as Warsaw time.
    assert showtime["starts_at"].startswith(f"{small_sim.anchor.isoformat()}T{event.time}:00+0")
    assert showtime["payload"]["booking_url"].endswith(f"/{event.id}")
    films = {f["film_key"]: f for f in result.data["films"]}
    eternity = next(f for f in films.values() if f["title"] == "Eternity. Wybieram ciebie")
    assert eternity["original_title"] == "Eternity"
    assert eternity["original_language"] == "en"
    assert eternity["year"] == 2025 and eternity["runtime"] > 0
    assert eternity["format_info"]["is_2d"] is True
    polish = next(f for f in films.values() if f["title"] == "Dom dobry")
    assert polish["original_language"] == "pl" and polish["original_title"] is None


def test_an_unlisted_empty_day_is_skipped(small_sim):
    kazimierz = unit(small_sim, "1076", day=1, listed=False, name="Kraków - Galeria Kazimierz")
    result = steps.cinema_date(cc_site(small_sim), kazimierz)
    day = (small_sim.anchor + timedelta(days=1)).isoformat()
    assert result.skip_reason == f"no screenings scheduled at Kraków - Galeria Kazimierz on {day}"
    assert result.counts == {"films": 0, "showtimes": 0}


def test_a_listed_day_answering_empty_returns_zero_counts_for_the_monitor(faulty):
    result = steps.cinema_date(cc_site(faulty), unit(faulty, "empty"))
    assert result.skip_reason is None
    assert result.counts == {"films": 0, "showtimes": 0}


def test_an_empty_dates_listing_makes_every_day_unlisted(faulty):
    result = steps.sync(cc_site(faulty), city_name="Testowo", days_ahead=2, scrape_date=faulty.anchor)
    units = result.data["units"]
    assert [u["listed"] for u in units if u["cinema_id"] == NO_DATES_CINEMA] == [False, False]
    assert all(u["listed"] for u in units if u["cinema_id"] == FAULT_CINEMA["503"])


def served(sim, fault: str) -> list:
    return [r for r in sim.request_log if f"/film-events/in-cinema/{FAULT_CINEMA[fault]}/" in r.path]


@pytest.mark.parametrize(
    ("fault", "status", "error_type", "requests"),
    [
        ("503", 503, "http_5xx", ATTEMPTS),
        ("500", 500, "http_5xx", ATTEMPTS),
        ("404", 404, "not_found", 1),
        ("403", 403, "http_auth", 1),
    ],
)
def test_status_faults_raise_typed_errors_after_the_right_number_of_requests(
    faulty, fault, status, error_type, requests
):
    with pytest.raises(HttpStatusError) as caught:
        steps.cinema_date(cc_site(faulty), unit(faulty, fault))
    assert (caught.value.status, caught.value.error_type) == (status, error_type)
    assert f"/film-events/in-cinema/{FAULT_CINEMA[fault]}/at-date/" in caught.value.url
    assert len(served(faulty, fault)) == requests


def test_transient_5xx_is_absorbed_by_the_client_retry(faulty):
    assert steps.cinema_date(cc_site(faulty), unit(faulty, "502-once")).counts["showtimes"] == 10
    assert [r.status for r in served(faulty, "502-once")] == [502, 200]


def test_5xx_beyond_the_client_retries_is_survived_by_a_task_retry(faulty):
    result, tries = with_tries(lambda: steps.cinema_date(cc_site(faulty), unit(faulty, "503-twice")))
    assert result is not None and tries == 2


def test_429_honours_retry_after_capped(faulty):
    sleeps: list[float] = []
    with CinemaCityClient(cc_site(faulty, retry_after_cap_s=5.0), sleep=sleeps.append) as client:
        answer = client.film_events(FAULT_CINEMA["429-once"], faulty.anchor)
    assert len(answer.events) == 10
    assert sleeps == [5.0], "Retry-After 7 s, capped at 5 s"


def test_429_that_persists_raises_rate_limited(faulty):
    with pytest.raises(RateLimited) as caught:
        steps.cinema_date(cc_site(faulty), unit(faulty, "429"))
    assert caught.value.retry_after == 1.0
    assert (caught.value.error_type, caught.value.retryable) == ("rate_limited", True)
    assert [r.status for r in served(faulty, "429")] == [429] * ATTEMPTS


def test_a_response_slower_than_the_timeout_is_a_fetch_timeout(faulty):
    with pytest.raises(FetchTimeout) as caught:
        steps.cinema_date(cc_site(faulty, timeout_s=0.2, max_attempts=1), unit(faulty, "slow"))
    assert caught.value.error_type == "timeout" and "/at-date/" in caught.value.url


def test_a_slow_response_once_is_retried(faulty):
    assert (
        steps.cinema_date(cc_site(faulty, timeout_s=0.2), unit(faulty, "slow-once")).counts["showtimes"] == 10
    )


@pytest.mark.parametrize("kind", ["truncated_json", "invalid_json"])
def test_broken_json_is_invalid_json_with_the_url(faulty, kind):
    with pytest.raises(InvalidJson) as caught:
        steps.cinema_date(cc_site(faulty), unit(faulty, kind))
    assert caught.value.category == "data_quality_error"
    cinema = FAULT_CINEMA[kind]
    assert caught.value.url.endswith(f"/film-events/in-cinema/{cinema}/at-date/{faulty.anchor.isoformat()}")
    assert len(served(faulty, kind)) == 1, "a parse error is not retried by the client"


def test_broken_json_in_the_cinema_list_fails_sync(sitesim_factory):
    fault = {"name": "bad", "site": "cinema_city", "path": "*/cinemas/with-event/*", "kind": "invalid_json"}
    sim = sitesim_factory(small_scenario(fault))
    with pytest.raises(InvalidJson):
        steps.sync(cc_site(sim), city_name="Kraków", days_ahead=2, scrape_date=sim.anchor)


# --- parser on shapes the simulator does not serve --------------------------------------------

URL = "https://example.invalid/api"


def test_missing_body_is_unexpected_shape():
    with pytest.raises(UnexpectedShape) as caught:
        parse_film_events({"films": []}, url=URL)
    assert (caught.value.field, caught.value.url) == ("body", URL)
    with pytest.raises(UnexpectedShape) as caught:
        parse_cinemas({"body": {"cinemas": "none"}}, url=URL)
    assert caught.value.field == "body.cinemas"


def test_a_missing_list_in_body_is_empty():
    answer = parse_film_events({"body": {"films": [{"id": "f1", "name": "X"}]}}, url=URL)
    assert answer.events == [] and answer.films == [], "a film without events is dropped"


def test_film_without_name_is_a_validation_failure():
    payload = {"body": {"films": [{"id": "f1"}], "events": [{"id": "e1", "filmId": "f1"}]}}
    with pytest.raises(ValidationFailed) as caught:
        parse_film_events(payload, url=URL)
    assert caught.value.field == "body.films[0].name"


def test_both_address_formats_and_numeric_ids():
    payload = {
        "body": {
            "cinemas": [
                {
                    "id": 1090,
                    "displayName": "Kraków - Bonarka",
                    "latitude": "50.0285",
                    "longitude": 19.9489,
                    "addressInfo": {
                        "address1": "ul. Kamieńskiego 11",
                        "city": "Kraków",
                        "postalCode": "30-644",
                    },
                },
                {
                    "id": "1088",
                    "name": "Kraków - Plaza",
                    "addressLine1": "al. Pokoju 44",
                    "city": "KRAKOW",
                    "postalCode": "31-564",
                },
                {"id": "1074", "displayName": "Warszawa - Arkadia", "addressInfo": {"city": "Warszawa"}},
            ]
        }
    }
    bonarka, plaza = parse_cinemas(payload, url=URL, city_name="Kraków")
    assert (bonarka.id, bonarka.address, bonarka.postal_code, bonarka.latitude) == (
        "1090", "ul. Kamieńskiego 11", "30-644", 50.0285,
    )  # fmt: skip
    assert (plaza.id, plaza.name, plaza.address, plaza.city) == (
        "1088",
        "Kraków - Plaza",
        "al. Pokoju 44",
        "KRAKOW",
    )


def test_events_keep_gaps_for_the_showtimes_step_to_report():
    payload = {
        "body": {
            "films": [
                {"id": "f1", "name": "X", "attributeIds": ["3d", "dubbed-lang-pl", "original-lang-en-us"]}
            ],
            "events": [
                {"id": "e1", "filmId": "f1", "eventDateTime": "2025-11-24T18:30:00"},
                {"id": "e2", "filmId": "f1", "eventDateTime": "not a time"},
                {"filmId": "f1", "eventDateTime": "2025-11-24T20:00:00"},
                {"id": "e4", "filmId": "f1", "eventDateTime": "2025-07-01T20:00:00"},  # summer time
                {"id": "e5", "filmId": "f1", "eventDateTime": "2025-07-01T20:00:00Z"},  # explicit offset kept
            ],
        }
    }
    answer = parse_film_events(payload, url=URL)
    assert [e.starts_at for e in answer.events] == [
        "2025-11-24T18:30:00+01:00",
        None,
        "2025-11-24T20:00:00+01:00",
        "2025-07-01T20:00:00+02:00",
        "2025-07-01T20:00:00+00:00",
    ]
    assert answer.events[2].id is None
    film = answer.films[0]
    assert film.language.is_dubbed and film.language.dubbed_language == "pl"
    assert film.language.original_language == "en" and film.format.is_3d and not film.format.is_2d


def _multi_version_day() -> dict:
    """A film screened dubbed in 3D/4DX and subtitled in 2D, as the real API lists it: the film's
    attributeIds are the union of its screenings', each event carries its own (no "2d" on 3D ones)."""
    return {
        "body": {
            "films": [
                {
                    "id": "7592s3r",
                    "name": "Zwierzogród 2",
                    "releaseYear": None,
                    "releaseDate": "2025-11-28T00:00:00",
                    "link": "https://www.cinema-city.pl/filmy/zwierzogrod-2/7592s3r",
                    "attributeIds": [
                        "2d", "3d", "4dx", "imax", "vip", "dubbed", "dubbed-lang-pl", "subbed",
                        "original-lang-en-us", "animation", "7-plus", "dolby-atmos",
                    ],
                }
            ],
            "events": [
                {
                    "id": "e-dub-3d", "filmId": "7592s3r", "eventDateTime": "2025-11-29T12:00:00",
                    "attributeIds": ["3d", "4dx", "dubbed", "dubbed-lang-pl"],
                    "soldOut": True, "availabilityRatio": 0, "auditoriumTinyName": "4DX",
                },
                {
                    "id": "e-sub-2d", "filmId": "7592s3r", "eventDateTime": "2025-11-29T20:30:00",
                    "attributeIds": ["2d", "subbed"], "soldOut": False, "availabilityRatio": 0.62,
                },
                {"id": "e-bare", "filmId": "7592s3r", "eventDateTime": "2025-11-30T00:15:00"},
            ],
        }
    }  # fmt: skip


def test_each_screening_keeps_its_own_language_and_format():
    answer = parse_film_events(_multi_version_day(), url=URL)
    films = {f.id: f for f in answer.films}
    unit = {"cinema_id": "1090", "cinema_name": "Kraków - Bonarka"}
    showtimes = [steps._showtime_dict(e, unit, films) for e in answer.events]
    dub, sub, bare = (s["payload"] for s in showtimes)
    # The short label the chain's item outcomes show for each stored screening.
    assert [s["version"] for s in showtimes] == [
        "dubbed 3D 4DX",
        "subtitled 2D",
        "dubbed 2D 3D IMAX 4DX VIP",  # nothing of its own: the film's union
    ]

    assert (dub["language_info"]["version"], dub["language_info"]["dubbed_language"]) == ("dubbed", "pl")
    assert dub["format_info"] == {
        "is_2d": False,
        "is_3d": True,
        "is_imax": False,
        "is_4dx": True,
        "is_vip": False,
    }
    assert (dub["sold_out"], dub["availability_ratio"], dub["auditorium_tiny_name"]) == (True, 0.0, "4DX")
    assert sub["language_info"]["version"] == "subtitled" and not sub["language_info"]["is_dubbed"]
    assert sub["format_info"] == {
        "is_2d": True,
        "is_3d": False,
        "is_imax": False,
        "is_4dx": False,
        "is_vip": False,
    }
    assert sub["language_info"]["original_language"] == "en"  # from the film: events do not repeat it
    assert (sub["sold_out"], sub["availability_ratio"]) == (False, 0.62)
    # An event that says nothing of its own falls back to the film's union.
    assert bare["format_info"]["is_3d"] and bare["format_info"]["is_2d"]


def test_a_film_without_a_release_year_takes_it_from_its_release_date_and_keeps_its_link():
    [film] = parse_film_events(_multi_version_day(), url=URL).films
    assert (film.release_year, film.release_date) == (2025, "2025-11-28T00:00:00")
    assert film.link == "https://www.cinema-city.pl/filmy/zwierzogrod-2/7592s3r"
    assert film.language.original_language == "en"


def test_the_simulators_multi_version_films_keep_each_screenings_own_version(small_sim):
    """Across the simulated week every film shown in two versions (dubbed 3D and subtitled 2D, or dubbed
    2D and 3D) stores showtimes whose language and format are each event's, never the film's union."""
    versions_seen: dict[str, set[tuple[str, bool, bool]]] = {}
    for (cinema_id, day), served in small_sim.scenario.catalog.cinema_days.items():
        if day < 0:
            continue
        result = steps.cinema_date(cc_site(small_sim), unit(small_sim, cinema_id, day))
        by_event = {s["payload"]["event_id"]: s["payload"] for s in result.data["showtimes"]}
        for event in served.events:
            payload = by_event[event.id]
            expected = (
                "dubbed"
                if "dubbed" in event.attributes
                else "subtitled"
                if "subbed" in event.attributes
                else "original",
                "3d" in event.attributes,
                "2d" in event.attributes,
            )
            got = (
                payload["language_info"]["version"],
                payload["format_info"]["is_3d"],
                payload["format_info"]["is_2d"],
            )
            assert got == expected, (event, payload)
            assert (
                payload["sold_out"] is event.sold_out and payload["availability_ratio"] == event.availability
            )
            versions_seen.setdefault(event.film_id, set()).add(got)
    assert any(len(v) > 1 for v in versions_seen.values()), "the simulator served no multi-version film"


# --- cities -----------------------------------------------------------------------------------


def test_each_city_gets_its_own_cinemas_and_programme():
    with serving(load("clean")) as sim:
        scenario, seen = sim.scenario, {}
        for city in ("Warszawa", "wroclaw"):  # as the API spells it, or not: the filter folds both
            cinemas = {c.id for c in scenario.cinema_city.cinemas if same_city(c.city, city)}
            synced = steps.sync(cc_site(sim), city_name=city, days_ahead=2, scrape_date=sim.anchor)
            assert {u["cinema_id"] for u in synced.data["units"]} == cinemas
            for unit in synced.data["units"]:
                day = (date.fromisoformat(unit["date"]) - sim.anchor).days
                served = scenario.catalog.cinema_days[(unit["cinema_id"], day)]
                result = steps.cinema_date(cc_site(sim), unit)
                assert result.counts == {"films": len(served.films), "showtimes": len(served.events)}
                seen.setdefault(city, set()).update(s["film_key"] for s in result.data["showtimes"])
        assert seen["Warszawa"] != seen["wroclaw"]  # the cities screen different films
