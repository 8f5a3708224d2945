"""Fingerprints: messages that differ only in ids, numbers, dates and URLs group; others do not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from scraper_monitor.category import categorize
from scraper_monitor.fingerprint import NORMALIZED_MAX_CHARS, fingerprint, normalize_message

CORPUS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "error_corpus.yaml").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize(
    ("message", "normalized"),
    [
        (
            "404 Client Error: Not Found for url: https://www.kino.krakow.pl/film/wicked-2025.html?x=1",
            "<n> Client Error: Not Found for url: <url>",
        ),
        ("mail admin@kino.krakow.pl now", "mail <email> now"),
        ("film wicked-0f8b5c1e-4d3a-4b2c-9e1f-2a3b4c5d6e7f", "film wicked-<uuid>"),
        ("at 2025-11-24T18:30:00+01:00 and 2025-11-25", "at <date> and <date>"),
        ("header 'wtorek, 24 listopada' and 3 grudnia 2025", "header <str> and <date>"),
        ("no table on wtorek, 24 listopada", "no table on <date>"),
        ("show at 18:30", "show at <time>"),
        ("GET /settings/set_day/3 failed", "GET <path> failed"),
        ("object at 0x7f3a1c2b4d90, hash 9f86d081884c7d65", "object at <hex>, hash <hex>"),
        ("film 7592s3r in cinema 1090", "film <id> in cinema <n>"),
        ("cinema_city_showtime_1090_7592s3r_512345 exists", "cinema_city_showtime_<n>_<id>_<n> exists"),
        ("host 127.0.0.1:5432 down", "host <ip> down"),
        ("took 1.5s of 30s, 100ms", "took <n>s of <n>s, <n>ms"),
        ("No TMDB match for 'Zwierzogród 2' „Wicked”", "No TMDB match for <str> <str>"),
        ("KeyError: 'venue_id' in 'body.films'", "KeyError: 'venue_id' in 'body.films'"),
        ('column "title" of relation "showtimes"', 'column "title" of relation "showtimes"'),
        ("utf8 x86 sha256 codec", "utf8 x86 sha256 codec"),
        ("[Errno 111] Connection refused, after 3 tries", "[Errno 111] Connection refused, after <n> tries"),
        (
            '{"status_code":34,"status_message":"The resource you requested could not be found."}',
            '{"status_code":34,"status_message":<str>}',
        ),
        ("'latin-1' codec can't encode character 'ł'", "<str> codec can't encode character <str>"),
        ("No TMDB match for 'Don't Look Up' (2021)", "No TMDB match for <str> (<n>)"),
        ("  many \n\t spaces  ", "many spaces"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_message(message: str | None, normalized: str) -> None:
    assert normalize_message(message) == normalized


GROUPED = [
    (
        "HTTPSConnectionPool(host='www.cinema-city.pl', port=443): Read timed out. (read timeout=30)",
        "HTTPSConnectionPool(host='www.cinema-city.pl', port=443): Read timed out. (read timeout=10)",
    ),
    (
        "503 Server Error: Service Unavailable for url: https://www.cinema-city.pl/pl/data-api-service/v1/"
        "quickbook/10103/film-events/in-cinema/1090/at-date/2025-11-24",
        "503 Server Error: Service Unavailable for url: https://www.cinema-city.pl/pl/data-api-service/v1/"
        "quickbook/10103/film-events/in-cinema/1097/at-date/2025-11-27",
    ),
    ("No TMDB match for 'Zwierzogród 2' (2025)", "No TMDB match for 'Eternity. Wybieram ciebie' (2024)"),
    ("Could not parse date 'wtorek, 31 listopada'", "Could not parse date 'środa, 3 grudnia'"),
    ("No program table for wtorek, 24 listopada", "No program table for czwartek, 2 października"),
    (
        'duplicate key value violates unique constraint "showtimes_external_id_key"\nDETAIL:  Key '
        "(external_id)=(cinema_city_showtime_1090_7592s3r_512345) already exists.",
        'duplicate key value violates unique constraint "showtimes_external_id_key"\nDETAIL:  Key '
        "(external_id)=(cinema_city_showtime_1097_6139d2r_777001) already exists.",
    ),
    (
        "Movie not ready for film 7592s3r: movie_details has not completed",
        "Movie not ready for film 4219o2r: movie_details has not completed",
    ),
    (
        "<urllib3.connection.HTTPSConnection object at 0x7f3a1c2b4d90>: Failed to establish a new connection",
        "<urllib3.connection.HTTPSConnection object at 0x7f51d0a2e9d0>: Failed to establish a new connection",
    ),
    ("GET /film/wicked-2025.html returned 404", "GET /film/gladiator-ii.html returned 404"),
    ("AirflowTaskTimeout: Timeout, PID: 48213", "AirflowTaskTimeout: Timeout, PID: 1207"),
]

SEPARATED = [
    ("KeyError: 'eventDateTime'", "KeyError: 'cinemaId'"),
    ("KeyError: 'venue_id'", "KeyError: 'film_id'"),
    ('null value in column "title" violates not-null', 'null value in column "runtime" violates not-null'),
    ("Read timed out. (read timeout=30)", "Connection refused"),
    ("Selector table.repert not found", "Selector th.date not found"),
    ("HTTP 503", "HTTP 429"),  # same text once normalized, but different error types
    ("Venue not found", "Performer not found"),
    # TMDB's status_code and errno identify the error: not variables.
    (
        '{"status_code":7,"status_message":"Invalid API key: You must be granted a valid key."}',
        '{"status_code":3,"status_message":"Authentication failed: You do not have permissions."}',
    ),
    ("[Errno 104] Connection reset by peer", "[Errno 54] Connection reset by peer"),
]


@pytest.mark.parametrize(("first", "second"), GROUPED)
def test_variants_share_a_fingerprint(first: str, second: str) -> None:
    assert categorize(first).fingerprint == categorize(second).fingerprint


@pytest.mark.parametrize(("first", "second"), SEPARATED)
def test_different_errors_do_not(first: str, second: str) -> None:
    assert categorize(first).fingerprint != categorize(second).fingerprint


def test_category_and_type_are_part_of_the_fingerprint() -> None:
    assert fingerprint("network_error", "timeout", "x") != fingerprint("network_error", "http_5xx", "x")
    assert fingerprint("network_error", "timeout", "x") != fingerprint("unknown_error", "timeout", "x")


def test_fingerprint_is_stable_across_releases() -> None:
    # Stored fingerprints group history: changing the hash or the normalization splits every group.
    assert fingerprint("network_error", "timeout", "Read timed out. (read timeout=30)") == "b94c7ab254a7cccf"
    assert len(fingerprint("a", "b", "c")) == 16


def test_normalization_is_idempotent_on_the_corpus() -> None:
    for case in CORPUS:
        once = normalize_message(case["message"])
        assert normalize_message(once) == once, case["message"]
        result = categorize(case["message"])
        assert result.fingerprint == fingerprint(result.category, result.error_type, case["message"])


def test_length_and_cost_are_bounded() -> None:
    huge = "<html>" + "<div class='x'>Błąd 1234 " * 50_000 + "</html>"
    started = time.perf_counter()
    result = categorize(huge)
    assert time.perf_counter() - started < 0.5
    assert len(result.message) <= NORMALIZED_MAX_CHARS
    assert result.message.endswith("…")
