"""Polish program dates without a year, slugs and showtime ids (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from scrapers.kino_krakow.parser import film_slug, parse_polish_date, strip_uuid
from scrapers.kino_krakow.steps import showtime_external_id


@pytest.mark.parametrize(
    ("text", "scrape_date", "expected"),
    [
        ("wtorek, 24 listopada", date(2025, 11, 24), date(2025, 11, 24)),
        ("czwartek, 2 października", date(2025, 9, 30), date(2025, 10, 2)),
        ("środa, 3 września", date(2025, 9, 1), date(2025, 9, 3)),
        ("sobota, 14 lutego", date(2026, 2, 10), date(2026, 2, 14)),
        ("Piątek, 2 STYCZNIA", date(2025, 12, 29), date(2026, 1, 2)),  # across New Year
        ("środa, 31 grudnia", date(2026, 1, 1), date(2025, 12, 31)),  # a late page read on 1 January
        ("poniedzialek, 5 pazdziernika", date(2026, 10, 1), date(2026, 10, 5)),  # without diacritics
        ("niedziela, 29 lutego", date(2028, 2, 27), date(2028, 2, 29)),
    ],
)
def test_parse_polish_date_infers_the_nearest_year(text, scrape_date, expected):
    assert parse_polish_date(text, scrape_date) == expected


@pytest.mark.parametrize("text", ["wtorek", "24 brumaire", "", "32 listopada"])
def test_parse_polish_date_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_polish_date(text, date(2025, 11, 24))


def test_slugs_lose_their_uuid_suffix():
    assert strip_uuid("wicked-na-dobre-0b5c7c2e-1d2f-4a3b-9c8d-7e6f5a4b3c2d") == "wicked-na-dobre"
    assert strip_uuid("wicked-na-dobre") == "wicked-na-dobre"
    assert film_slug("/film/dune-2-123e4567-e89b-12d3-a456-426614174000.html") == "dune-2"
    assert film_slug("/cinema_program/by_movie") is None


def test_showtime_external_id_replaces_unsafe_characters():
    assert showtime_external_id("diuna", "cinema-city/kazimierz", date(2025, 11, 24), "18:30") == (
        "kino_krakow_showtime_diuna_cinema-city_kazimierz_2025-11-24_18_30"
    )
