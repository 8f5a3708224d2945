"""The parsed, validated content of a scenario file (parsing lives in ``sitesim.scenario``).

Plain frozen dataclasses, shared by the generator, the server and the predictions, so none of them
depends on YAML or on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

TMDB_KINDS: tuple[str, ...] = (
    "match", "split_match", "paged_match", "needs_review", "low_confidence", "no_result",
)  # fmt: skip
#: TMDB kinds a correct scraper matches (confidence >= 0.70).
MATCHED_KINDS: frozenset[str] = frozenset({"match", "split_match", "paged_match"})

#: The Kino Krakow city served at the site root (the real www.kino.krakow.pl); every other city of
#: the family is served under /cities/{slug} (the real {slug}.repertuary.pl).
DEFAULT_CITY = "krakow"
DEFAULT_CITY_NAME = "Kraków"
CITY_SLUG_PATTERN = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"


@dataclass(frozen=True)
class IntRange:
    """An inclusive range, written in YAML as a number (``19``) or a pair (``[17, 20]``)."""

    lo: int
    hi: int


@dataclass(frozen=True)
class FilmSpec:
    title_pl: str
    title_original: str
    language: str  # ISO 639-1 code of the original language, e.g. "en"
    year: int
    runtime: int  # minutes
    tmdb: str  # one of TMDB_KINDS
    cc_name: str  # the Cinema City "name": Polish, or "Original. Polish"
    country: str  # Kino Krakow "Produkcja" country
    director: str
    genres: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedFilms:
    count: int
    tmdb_mix: tuple[tuple[str, float], ...]  # (kind, weight), weights need not sum to 1


@dataclass(frozen=True)
class CinemaSpec:
    id: str
    name: str
    city: str
    address: str
    postal_code: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class CinemaCityCity:
    """One city's data knobs: the section's, or the city's own overrides (``cinema_city.cities``)."""

    name: str  # as addressInfo.city spells it
    days: int
    films: int  # its cinemas screen the first N films of the pool
    films_per_day: IntRange
    showtimes_per_day: IntRange


@dataclass(frozen=True)
class CinemaCitySpec:
    tenant: str
    cinemas: tuple[CinemaSpec, ...]
    days: int
    days_before: int
    films: int
    films_per_day: IntRange
    showtimes_per_day: IntRange
    empty_days: frozenset[tuple[str, int]]  # (cinema id, day offset): not listed, answers empty
    #: Every city of the cinemas, resolved (knobs filled in from the section when not overridden).
    cities: tuple[CinemaCityCity, ...] = ()

    def city_of(self, cinema: CinemaSpec) -> CinemaCityCity:
        return next(c for c in self.cities if c.name == cinema.city)


@dataclass(frozen=True)
class KinoKrakowCinema:
    slug: str
    name: str


@dataclass(frozen=True)
class KinoKrakowCity:
    """One site of the family, its knobs resolved (the section's unless the city overrides them)."""

    slug: str  # krakow at the site root, any other under /cities/{slug}
    name: str
    films: int
    without_showtimes: float
    days: int
    days_per_film: IntRange
    cinemas_per_film_day: IntRange
    times_per_cinema: IntRange
    cinemas: tuple[KinoKrakowCinema, ...]
    empty_days: frozenset[int]


@dataclass(frozen=True)
class KinoKrakowSpec:
    films: int
    without_showtimes: float
    days: int
    days_per_film: IntRange
    cinemas_per_film_day: IntRange
    times_per_cinema: IntRange
    uuid_slugs: float
    cinemas: tuple[KinoKrakowCinema, ...]
    empty_days: frozenset[int]
    #: The sites served, resolved; a scenario without ``cities`` serves Kraków only.
    cities: tuple[KinoKrakowCity, ...] = ()
