"""Matching rules: Jaro, normalisation, original-title split, confidence and decision bands."""

from __future__ import annotations

import pytest

from scrapers.tmdb import (
    FilmQuery,
    TmdbMovie,
    confidence,
    decide,
    jaro,
    normalize_title,
    split_original_title,
)
from scrapers.tmdb.client import SearchPage
from scrapers.tmdb.matching import language_score, popularity_score, title_score, year_score


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("MARTHA", "MARHTA", 0.9444),
        ("DIXON", "DICKSONX", 0.7667),
        ("JELLYFISH", "SMELLYFISH", 0.8963),
        ("DWAYNE", "DUANE", 0.8222),
        ("CRATE", "TRACE", 0.7333),
        ("abc", "abc", 1.0),
        ("abc", "xyz", 0.0),
        ("", "abc", 0.0),
        ("a", "a", 1.0),
    ],
)
def test_jaro_known_values(a, b, expected):
    assert jaro(a, b) == pytest.approx(expected, abs=1e-4)
    assert jaro(b, a) == pytest.approx(expected, abs=1e-4), "symmetric"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Zwierzogród 2 ukraiński dubbing", "Zwierzogród 2"),
        ("Zwierzogród 2 - dubbing", "Zwierzogród 2"),
        ("Avatar: Ogień i popiół 3D", "Avatar: Ogień i popiół"),
        ("Avatar 3D napisy polskie", "Avatar"),
        ("Wicked: Na dobre wersja polska", "Wicked: Na dobre"),
        ("Gladiator (2000)", "Gladiator"),
        ("Kolekcja Hitchcocka: Psychoza", "Hitchcocka: Psychoza"),
        ("Diuna IMAX", "Diuna"),
        ("Oppenheimer Dolby Atmos", "Oppenheimer"),
        ("Top Gun 4DX", "Top Gun"),
        ("Mission ScreenX", "Mission"),
        ("Amator - NAP", "Amator"),
        ("Amator KNT", "Amator"),
        ("Muminki w kinie: Zima", "Muminki Zima"),
        ("Listy do M. górą!", "Listy do M."),
        ("Grinch: Święta i inne opowieści", "Grinch"),
        ("Święta z Muminkami", "Muminkami"),
        ("The Office - sezon 2", "The Office"),
        ("The Office s01e03", "The Office"),
        ("  Dużo   spacji  ", "Dużo spacji"),
        ("Dzikie róże LEKTOR", "Dzikie róże"),
        ("Diuna - wersja rozszerzona", "Diuna"),
        ("Czas apokalipsy - wersja reżyserska", "Czas apokalipsy"),
        ("3D", "3D"),  # never strips a title to nothing
        ("Snap", "Snap"),
    ],
)
def test_normalize_title(raw, clean):
    assert normalize_title(raw) == clean


@pytest.mark.parametrize(
    ("name", "language", "original"),
    [
        ("Eternity. Wybieram ciebie", "en", "Eternity"),
        ("Wicked: Na dobre", "en", "Wicked"),
        ("Gladiator II - Gladiator 2", "en", "Gladiator II"),
        ("Avatar – Istota wody", "en", "Avatar"),
        ("Inception — Incepcja", "en", "Inception"),
        ("Dune. Part Two: Diuna", "en", "Dune"),  # ". " is tried before ": "
        ("Eternity. Wybieram ciebie", "pl", None),
        ("Eternity. Wybieram ciebie", None, None),
        ("Zwierzogród 2", "en", None),
    ],
)
def test_split_original_title(name, language, original):
    assert split_original_title(name, language) == original


def test_year_popularity_language_scores():
    assert [year_score(2025, y) for y in (2025, 2024, 2027, 2022, None)] == [1.0, 0.8, 0.5, 0.0, 0.5]
    assert year_score(None, 2025) == 0.5
    assert [popularity_score(p) for p in (150, 100, 60, 20, 5, 4.9)] == [1.0, 1.0, 0.8, 0.6, 0.4, 0.2]
    assert language_score(None, "en") == 0.5
    assert language_score("en", "en") == 1.0
    assert language_score("pl", "en") == 0.7
    assert language_score("pl", "fr") == 0.5


def movie(title="Eternity", original_title="Eternity", year=2025, popularity=42.0, language="en"):
    return TmdbMovie(1, title, original_title, year, popularity, language)


def test_confidence_formula():
    film = FilmQuery(
        polish_title="Eternity. Wybieram ciebie", original_title="Eternity", year=2025, original_language="en"
    )
    # title 1.0 (original title equal), year 1.0, popularity 42 -> 0.6, language equal 1.0
    assert confidence(film, movie()) == pytest.approx(0.40 + 0.30 + 0.15 * 0.6 + 0.15)
    # unknown year and language: 0.5 each
    unknown = FilmQuery(polish_title="Eternity")
    assert confidence(unknown, movie(popularity=1)) == pytest.approx(0.40 + 0.15 + 0.03 + 0.075)


def test_title_score_is_case_insensitive_max_over_both_titles():
    assert title_score(["ETERNITY"], movie(title="Wieczność", original_title="Eternity")) == 1.0
    assert title_score(["Wieczność"], movie(title="Wieczność", original_title="Eternity")) == 1.0


def test_query_titles_are_normalised_original_first_then_polish():
    film = FilmQuery(polish_title="Avatar: Ogień i popiół 3D", original_title="Avatar: Fire and Ash IMAX")
    assert film.query_titles() == [("Avatar: Fire and Ash", None), ("Avatar: Ogień i popiół", "pl-PL")]
    assert FilmQuery(polish_title="Diuna", original_title="Diuna").query_titles() == [("Diuna", None)]
    assert FilmQuery(polish_title=None).query_titles() == []


@pytest.mark.parametrize(
    ("best", "reason"),
    [
        (1.0, None),
        (0.70, None),
        (0.6999, "tmdb_needs_review"),
        (0.50, "tmdb_needs_review"),
        (0.4999, "tmdb_low_confidence"),
        (0.0, "tmdb_low_confidence"),
    ],
)
def test_decision_bands(best, reason):
    assert decide(best) == reason


class _Search:
    """TMDB's search, answering each query title from a fixed table (what the real API returns for the
    franchise: the first film for "Avatar", the sequel for its Polish title)."""

    def __init__(self, answers: dict[str, list[TmdbMovie]]) -> None:
        self.answers = answers

    def search_page(
        self, query: str, year: int | None = None, language: str | None = None, page: int = 1
    ) -> SearchPage:
        return SearchPage(self.answers.get(query, []), total_pages=1)


AVATAR = TmdbMovie(19995, "Avatar", "Avatar", 2009, 180.0, "en")
WAY_OF_WATER = TmdbMovie(76600, "Avatar: Istota wody", "Avatar: The Way of Water", 2022, 150.0, "en")


@pytest.mark.parametrize("year", [None, 2022])
def test_a_franchise_subtitle_is_not_taken_for_the_original_title(year):
    """ ": " usually separates a franchise from its subtitle: "Avatar" is searched, but the film whose
    title is the whole name wins, even when the listing has no year (releaseYear: null)."""
    from scrapers.cinema_city.steps import movie_details_query
    from scrapers.tmdb.matching import match_film

    name = "Avatar: Istota wody"
    film = {
        "title": name,
        "original_language": "en",
        "year": year,
        "original_title": split_original_title(name, "en"),
    }
    film["original_title_guessed"] = True
    client = _Search({"Avatar": [AVATAR], name: [WAY_OF_WATER, AVATAR]})
    result = match_film(client, movie_details_query(film))  # type: ignore[arg-type]
    assert (result.matched, result.tmdb_id) == (True, WAY_OF_WATER.id)


def test_a_split_at_a_period_is_certain_and_finds_an_english_only_film():
    from scrapers.tmdb.normalize import split_is_guess

    assert not split_is_guess("Eternity. Wybieram ciebie")
    assert split_is_guess("The Smashing Machine: Serce wojownika")
    assert split_is_guess("Roofman - Człowiek z dachu")


def test_a_guessed_split_that_is_the_polish_title_is_searched_in_polish_only():
    name = "Jedna bitwa po drugiej - wersja rozszerzona"
    film = FilmQuery(name, split_original_title(name, "en"), 2025, "en", original_is_guess=True)
    assert film.query_titles() == [("Jedna bitwa po drugiej", "pl-PL")]


def test_the_polish_answers_title_counts_for_the_polish_listing_name():
    """TMDB localises `title` to the search language; the Polish answer's title is the one a Polish
    listing name matches, whatever the first (English) answer for the same film said."""
    from scrapers.tmdb.matching import match_film

    english = TmdbMovie(5, "One Battle After Another", "One Battle After Another", 2025, 300.0, "en")
    polish = TmdbMovie(5, "Jedna bitwa po drugiej", "One Battle After Another", 2025, 300.0, "en")

    class Localised(_Search):
        def search_page(self, query, year=None, language=None, page=1):  # type: ignore[no-untyped-def]
            return SearchPage([polish if language == "pl-PL" else english], total_pages=1)

    film = FilmQuery("Jedna bitwa po drugiej", "Jedna bitwa", 2025, "en", original_is_guess=True)
    result = match_film(Localised({}), film)  # type: ignore[arg-type]
    assert (result.matched, result.tmdb_id, result.confidence) == (True, 5, 1.0)


ZOOTOPIA = TmdbMovie(1, "Zootopia 2", "Zootopia 2", 2025, 300.0, "en")
VINCI = TmdbMovie(2, "Vinci 2", "Vinci 2", 2025, 40.0, "pl")
ETERNITY = TmdbMovie(3, "Eternity", "Eternity", 2025, 80.0, "en")
ROOFMAN = TmdbMovie(4, "Roofman", "Roofman", 2025, 80.0, "en")
BLACK_PHONE = TmdbMovie(5, "Czarny telefon 2", "Black Phone 2", 2025, 120.0, "en")


@pytest.mark.parametrize(
    ("film", "answers", "method"),
    [
        (FilmQuery("Zwierzogród 2", "Zootopia 2", 2025), {"Zootopia 2": [ZOOTOPIA]}, "original_exact"),
        (FilmQuery("Vinci 2", None, 2025), {"Vinci 2": [VINCI]}, "polish_exact"),
        (
            FilmQuery("Eternity. Wybieram ciebie", "Eternity", 2025, "en", original_is_split=True),
            {"Eternity": [ETERNITY]},
            "split_exact",
        ),
        (
            FilmQuery("Roofman - Człowiek z dachu", "Roofman", 2025, "en", True, original_is_split=True),
            {"Roofman": [ROOFMAN]},
            "guessed_split_exact",
        ),
        (FilmQuery("Czarny telefon", None, 2025), {"Czarny telefon": [BLACK_PHONE]}, "polish_fuzzy"),
    ],
)
def test_the_match_says_how_it_was_found(film: FilmQuery, answers: dict, method: str) -> None:
    from scrapers.tmdb.matching import match_film

    result = match_film(_Search(answers), film)  # type: ignore[arg-type]
    assert (result.matched, result.method) == (True, method)


def test_a_film_found_without_the_year_on_page_two_says_so() -> None:
    """TMDB filters on the year strictly (a Polish release a year after the premiere hides the film),
    and a common title's older namesakes fill the first page."""
    from scrapers.tmdb.matching import match_film

    namesake = TmdbMovie(10, "Franz", "Franz", 1990, 200.0, "de")
    franz = TmdbMovie(11, "Franz", "Franz", 2024, 50.0, "cs")

    class Paged(_Search):
        def search_page(self, query, year=None, language=None, page=1):  # type: ignore[no-untyped-def]
            if year is not None:
                return SearchPage([], total_pages=1)
            return SearchPage([namesake] if page == 1 else [franz], total_pages=2)

    result = match_film(Paged({}), FilmQuery("Franz Kafka", "Franz", 2025))  # type: ignore[arg-type]
    assert (result.matched, result.tmdb_id, result.method) == (True, 11, "original_exact+any_year+page2")
    no_title = match_film(Paged({}), FilmQuery(None))  # type: ignore[arg-type]
    assert (no_title.reason, no_title.method) == ("missing_title", None)
