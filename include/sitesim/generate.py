"""Deterministic data generation: the film pool, both sites' programmes and TMDB's answers.

Everything is derived from the scenario's seed through ``random.Random`` instances seeded with
strings (stable across Python processes, unlike ``hash()``), one per piece of data, so changing
one cinema's volume does not reshuffle another's. Data is keyed by day *offsets*: the anchor date
only turns offsets into dates when a response is rendered, so the same scenario gives the same
films and showtimes whatever day it is run on.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sitesim import titles
from sitesim.polish import search_key, slugify, strip_diacritics
from sitesim.spec import DEFAULT_CITY, FilmSpec, KinoKrakowCinema, KinoKrakowCity
from sitesim.tmdb import TmdbCatalog, build_tmdb

if TYPE_CHECKING:
    from sitesim.scenario import Scenario

# Screening times: a 5-minute grid from 09:30 to 23:30.
TIME_GRID: tuple[str, ...] = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(9 * 60 + 30, 23 * 60 + 31, 5))


@dataclass(frozen=True)
class Film:
    index: int  # position in the pool
    title_pl: str
    title_original: str
    language: str
    year: int
    runtime: int
    tmdb: str
    cc_name: str
    country: str
    director: str
    genres: tuple[str, ...]
    cc_id: str  # Cinema City film id, e.g. "7592s3r"
    slug: str  # Kino Krakow film slug (movie page /film/{slug}.html)
    link_slug: str  # the slug as the programme links it: sometimes with a trailing UUID


@dataclass(frozen=True)
class CcEvent:
    id: str
    film_id: str
    time: str  # HH:MM, local (Europe/Warsaw), no offset, as the real API
    auditorium: str
    attributes: tuple[str, ...]  # the screening's own version and format
    #: A late screening past midnight, filed under the previous business day (as the real API does).
    after_midnight: bool = False
    sold_out: bool = False
    availability: float = 1.0  # share of seats still free


@dataclass(frozen=True)
class CinemaDay:
    """One Cinema City cinema-day with screenings (listed by dates/in-cinema)."""

    cinema_id: str
    day: int
    films: tuple[Film, ...]
    events: tuple[CcEvent, ...]


@dataclass(frozen=True)
class Screening:
    cinema: KinoKrakowCinema
    times: tuple[tuple[str, str], ...]  # (HH:MM, showtime id)


@dataclass(frozen=True)
class FilmDay:
    film: Film
    screenings: tuple[Screening, ...]

    @property
    def showtimes(self) -> int:
        return sum(len(s.times) for s in self.screenings)


@dataclass(frozen=True)
class KkCity:
    """One Kino Krakow site of the family: its films and its programme."""

    spec: KinoKrakowCity
    films: tuple[Film, ...]  # each has a film page
    without_showtimes: tuple[Film, ...]  # linked only in "Zapowiedzi"
    programme: Mapping[int, tuple[FilmDay, ...]]  # day offset -> films, only non-empty days


@dataclass(frozen=True)
class Catalog:
    films: tuple[Film, ...]
    cc_films: tuple[Film, ...]  # the films any Cinema City city may screen (each shows the first N)
    cinema_days: Mapping[tuple[str, int], CinemaDay]  # only days with screenings
    kk_cities: Mapping[str, KkCity]  # by city slug
    tmdb: TmdbCatalog

    # The default city's site (Kraków, at the site root), which scenarios without cities serve alone.
    @property
    def kk_films(self) -> tuple[Film, ...]:
        city = self.kk_cities.get(DEFAULT_CITY)
        return city.films if city else ()

    @property
    def kk_without_showtimes(self) -> tuple[Film, ...]:
        city = self.kk_cities.get(DEFAULT_CITY)
        return city.without_showtimes if city else ()

    @property
    def programme(self) -> Mapping[int, tuple[FilmDay, ...]]:
        city = self.kk_cities.get(DEFAULT_CITY)
        return city.programme if city else {}


def build_catalog(scenario: Scenario) -> Catalog:
    films = _film_pool(scenario)
    cc_films = films[: scenario.cinema_city.films]
    kk_pool = films[: scenario.kino_krakow.films]
    kk_cities = {}
    for position, city in enumerate(scenario.kino_krakow.cities):
        city_films = kk_pool[: city.films]
        without = _without_showtimes(scenario.seed, city, city_films, len(cc_films))
        showing = [f for f in city_films if f not in without]
        programme = _kino_krakow_programme(scenario.seed, city, showing, set(cc_films), position)
        kk_cities[city.slug] = KkCity(city, city_films, without, programme)
    return Catalog(
        films=films,
        cc_films=cc_films,
        cinema_days=_cinema_city_days(scenario, cc_films),
        kk_cities=kk_cities,
        tmdb=build_tmdb(films, scenario.seed),
    )


# --- film pool --------------------------------------------------------------------------------


def _film_pool(scenario: Scenario) -> tuple[Film, ...]:
    rng = random.Random(f"{scenario.seed}:films")
    specs = list(scenario.films) + _generated_specs(scenario, rng)
    taken_ids: set[str] = set()
    taken_slugs: set[str] = set()
    pool = []
    for index, spec in enumerate(specs):
        cc_id = _cc_film_id(rng, taken_ids)
        slug = _unique_slug(slugify(spec.title_pl) or f"film-{index}", taken_slugs)
        link_slug = slug
        if rng.random() < scenario.kino_krakow.uuid_slugs:
            link_slug = f"{slug}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        pool.append(
            Film(
                index=index,
                title_pl=spec.title_pl,
                title_original=spec.title_original,
                language=spec.language,
                year=spec.year,
                runtime=spec.runtime,
                tmdb=spec.tmdb,
                cc_name=spec.cc_name,
                country=spec.country,
                director=spec.director,
                genres=spec.genres,
                cc_id=cc_id,
                slug=slug,
                link_slug=link_slug,
            )
        )
    return tuple(pool)


def _generated_specs(scenario: Scenario, rng: random.Random) -> list[FilmSpec]:
    """Fill the pool from the invented titles, with an exact TMDB-kind mix.

    When the pool runs out, titles come back as sequels ("Ciche miasto 2")."""
    count = scenario.generated_films.count
    if not count:
        return []
    used = {search_key(t) for f in scenario.films for t in (f.title_pl, f.title_original, f.cc_name)}
    candidates: list[tuple[str, str, str, str]] = [
        (pl, en, "en", rng.choice(("USA", "USA", "Wielka Brytania", "Kanada"))) for pl, en in titles.ENGLISH
    ]
    candidates += [(pl, pl, "pl", "Polska") for pl in titles.POLISH]
    candidates += list(titles.OTHER)
    candidates = [c for c in candidates if search_key(c[0]) not in used and search_key(c[1]) not in used]
    if not candidates:
        raise ValueError("the explicit films use every built-in title; list the films instead")
    rng.shuffle(candidates)
    chosen: list[tuple[str, str, str, str]] = []
    part = 1
    while len(chosen) < count:
        suffix = f" {part}" if part > 1 else ""
        for pl, original, language, country in candidates[: count - len(chosen)]:
            chosen.append((pl + suffix, original + suffix, language, country))
        part += 1
    kinds = _apportion(scenario.generated_films.tmdb_mix, count)
    english = [i for i, c in enumerate(chosen) if c[2] == "en"]
    rng.shuffle(english)
    split_slots = set(english[: kinds.count("split_match")])
    rest = [k for k in kinds if k != "split_match"]
    rest += ["match"] * (kinds.count("split_match") - len(split_slots))
    rng.shuffle(rest)
    specs = []
    for i, (pl, original, language, country) in enumerate(chosen):
        kind = "split_match" if i in split_slots else rest.pop()
        family = language if language in ("en", "pl") else "other"
        genres = tuple(sorted(rng.sample(sorted(titles.GENRES), rng.randint(1, 2))))
        specs.append(
            FilmSpec(
                title_pl=pl,
                title_original=original,
                language=language,
                year=rng.choice((2024, 2025, 2025, 2025)),
                runtime=rng.randint(84, 152),
                tmdb=kind,
                cc_name=f"{original}. {pl}" if kind == "split_match" else pl,
                country=country,
                director=f"{rng.choice(titles.FIRST_NAMES[family])} {rng.choice(titles.LAST_NAMES[family])}",
                genres=genres,
            )
        )
    return specs


def _apportion(weights: tuple[tuple[str, float], ...], count: int) -> list[str]:
    """Exactly ``count`` kinds in proportion to the weights (largest remainder), so a mix of
    0.7/0.3 over 10 films is 7 and 3, never a random 6 and 4."""
    total = sum(w for _, w in weights)
    shares = [(kind, count * w / total) for kind, w in weights]
    counts = {kind: int(share) for kind, share in shares}
    by_remainder = sorted(shares, key=lambda ks: ks[1] - int(ks[1]), reverse=True)
    for kind, _ in by_remainder[: count - sum(counts.values())]:
        counts[kind] += 1
    return [kind for kind, _ in weights for _ in range(counts[kind])]


def _cc_film_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        film_id = f"{rng.randint(1000, 9999)}s{rng.randint(1, 9)}r"
        if film_id not in taken:
            taken.add(film_id)
            return film_id


def _unique_slug(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate


# --- Cinema City ------------------------------------------------------------------------------

_LANG_ATTRIBUTE = {"en": "en-us"}


def _cinema_city_days(scenario: Scenario, cc_films: tuple[Film, ...]) -> dict[tuple[str, int], CinemaDay]:
    spec = scenario.cinema_city
    days: dict[tuple[str, int], CinemaDay] = {}
    if not cc_films:
        return days
    for cinema in spec.cinemas:
        city = spec.city_of(cinema)
        screened = cc_films[: city.films]
        halls = random.Random(f"{scenario.seed}:cc:{cinema.id}:halls").randint(6, 14)
        for day in range(-spec.days_before, city.days):
            if (cinema.id, day) in spec.empty_days or not screened:
                continue
            rng = random.Random(f"{scenario.seed}:cc:{cinema.id}:{day}")
            n_films = rng.randint(city.films_per_day.lo, city.films_per_day.hi)
            films = sorted(rng.sample(screened, n_films), key=lambda f: f.index)
            n_events = rng.randint(city.showtimes_per_day.lo, city.showtimes_per_day.hi)
            per_film = [1] * n_films
            weights = [1.0 / (1 + 0.2 * f.index) for f in films]
            for i in rng.choices(range(n_films), weights=weights, k=n_events - n_films):
                per_film[i] += 1
            events: list[CcEvent] = []
            for film, n in zip(films, per_film, strict=True):
                versions = cc_versions(film)
                for k, time in enumerate(sorted(rng.sample(TIME_GRID, min(n, len(TIME_GRID))))):
                    free = rng.choice((0.0, 0.15, 0.4, 0.75, 1.0))
                    events.append(
                        CcEvent(
                            id=f"{cinema.id}{day + spec.days_before:02d}{len(events):03d}",
                            film_id=film.cc_id,
                            time=time,
                            auditorium=f"Sala {rng.randint(1, halls)}",
                            attributes=versions[k % len(versions)],
                            sold_out=free == 0.0,
                            availability=free,
                        )
                    )
            # The last screening of the evening starts after midnight, on the next calendar day.
            late = max(events, key=lambda e: (e.time, e.id), default=None)
            if late is not None and rng.random() < 0.5:
                events[events.index(late)] = replace(late, time="00:15", after_midnight=True)
            events.sort(key=lambda e: (e.after_midnight, e.time, e.id))
            days[(cinema.id, day)] = CinemaDay(cinema.id, day, tuple(films), tuple(events))
    return days


def cc_versions(film: Film) -> tuple[tuple[str, ...], ...]:
    """The versions a film is screened in, each the attributeIds its events carry, as in real answers:
    Polish films in 2D; family animations dubbed, in 2D and in 3D (a 3D event has no "2d"); every
    third foreign film also dubbed in 3D/4DX beside its subtitled 2D; the rest subtitled 2D."""
    if film.language == "pl":
        return (("2d",),)
    dubbed = ("dubbed", "dubbed-lang-pl")
    if "animation" in film.genres:
        return (("2d", *dubbed), ("3d", *dubbed))
    if film.index % 3 == 0:
        return (("2d", "subbed"), ("3d", "4dx", *dubbed))
    return (("2d", "subbed"),)


#: Attributes real answers carry beside version and genre: age ratings, projection and sound.
_EXTRAS = (("12-plus",), ("16-plus", "dolby-atmos"), ("7-plus", "laser-barco"), ("hfr",), ("70-mm",))


def cc_film_attributes(film: Film) -> list[str]:
    """The film's attributeIds: the union of its versions', its original language, its genres and
    extras. Dubbed family films often say no original language; English ones say "en" or "en-us"."""
    versions = list(dict.fromkeys(a for version in cc_versions(film) for a in version))
    lang = _LANG_ATTRIBUTE.get(film.language, film.language) if film.index % 2 else film.language
    # Without it, only the Polish title is searched: never for a film TMDB knows by its original only.
    no_original = "animation" in film.genres and film.tmdb != "split_match"
    original = [] if no_original else [f"original-lang-{lang}"]
    return [*versions, *original, *film.genres, *_EXTRAS[film.index % len(_EXTRAS)]]


# --- Kino Krakow ------------------------------------------------------------------------------


def _city_key(seed: int, city: KinoKrakowCity) -> str:
    """Where a city's random draws start: Kraków keeps the keys it had before cities existed, so
    its data is the same; every other city draws its own."""
    return f"{seed}:kk" if city.slug == DEFAULT_CITY else f"{seed}:kk:{city.slug}"


def _without_showtimes(
    seed: int, city: KinoKrakowCity, kk_films: tuple[Film, ...], n_cc: int
) -> tuple[Film, ...]:
    """Films Kino Krakow lists without any showtime in the window (upcoming, ended, art-house).

    Never Cinema City's films: those are on screen in Kraków by definition."""
    count = round(city.without_showtimes * len(kk_films))
    candidates = list(kk_films[n_cc:])
    rng = random.Random(f"{_city_key(seed, city)}:without")
    return tuple(sorted(rng.sample(candidates, count), key=lambda f: f.index))


def _kino_krakow_programme(
    seed: int, spec: KinoKrakowCity, showing: list[Film], cc_films: set[Film], position: int
) -> dict[int, tuple[FilmDay, ...]]:
    open_days = [d for d in range(spec.days) if d not in spec.empty_days]
    if not open_days or not showing:
        return {}
    by_day: dict[int, list[FilmDay]] = {d: [] for d in open_days}
    for film in showing:
        rng = random.Random(f"{_city_key(seed, spec)}:{film.index}")
        n_days = (
            spec.days_per_film.hi
            if film in cc_films
            else rng.randint(spec.days_per_film.lo, spec.days_per_film.hi)
        )
        for day in sorted(rng.sample(open_days, min(n_days, len(open_days)))):
            cinemas = rng.sample(
                spec.cinemas, rng.randint(spec.cinemas_per_film_day.lo, spec.cinemas_per_film_day.hi)
            )
            screenings = []
            for cinema in sorted(cinemas, key=lambda c: c.slug):
                n_times = rng.randint(spec.times_per_cinema.lo, spec.times_per_cinema.hi)
                times = sorted(rng.sample(TIME_GRID, min(n_times, len(TIME_GRID))))
                screenings.append(Screening(cinema, tuple((t, "") for t in times)))
            by_day[day].append(FilmDay(film, tuple(screenings)))
    for film_days in by_day.values():
        if not film_days:  # an open day must not look legitimately empty
            first = showing[0]
            cinema = spec.cinemas[0]
            film_days.append(FilmDay(first, (Screening(cinema, (("18:00", ""),)),)))
    # Showtime ids are the site family's: each city numbers from its own block.
    first_id = 700001 if spec.slug == DEFAULT_CITY else 700001 + 100000 * (position + 1)
    return _number_showtimes(by_day, first_id)


def _number_showtimes(by_day: dict[int, list[FilmDay]], first_id: int) -> dict[int, tuple[FilmDay, ...]]:
    """Give every showtime a unique id, in page order, and sort films as the site does (A-Z)."""
    next_id = first_id
    programme = {}
    for day in sorted(by_day):
        ordered = sorted(by_day[day], key=lambda fd: strip_diacritics(fd.film.title_pl).casefold())
        numbered = []
        for fd in ordered:
            screenings = []
            for s in fd.screenings:
                times = []
                for time, _ in s.times:
                    times.append((time, str(next_id)))
                    next_id += 1
                screenings.append(Screening(s.cinema, tuple(times)))
            numbered.append(FilmDay(fd.film, tuple(screenings)))
        programme[day] = tuple(numbered)
    return programme
