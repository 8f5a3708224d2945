"""Scenario files: what the simulated sites contain and how they misbehave (format: docs/scenarios.md).

A scenario is plain YAML so that a user can write one to reproduce an incident. Every field is
validated here, and a bad file fails with a message naming the file and the field
(``demo.yaml: faults[2].status: must be an integer between 100 and 599``) instead of a traceback
from deep inside the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from sitesim.faults import CELL_FIELDS, CELL_KINDS, ENDPOINTS, KINDS, SITES, FaultRule
from sitesim.generate import Catalog, build_catalog
from sitesim.polish import same_city
from sitesim.predict import CannotPredict, predict_chain
from sitesim.spec import (
    CITY_SLUG_PATTERN,
    DEFAULT_CITY,
    DEFAULT_CITY_NAME,
    MATCHED_KINDS,
    TMDB_KINDS,
    CinemaCityCity,
    CinemaCitySpec,
    CinemaSpec,
    FilmSpec,
    GeneratedFilms,
    IntRange,
    KinoKrakowCinema,
    KinoKrakowCity,
    KinoKrakowSpec,
)
from sitesim.tmdb import split_original

__all__ = [
    "MATCHED_KINDS",
    "TMDB_KINDS",
    "Scenario",
    "ScenarioError",
    "bundled",
    "from_mapping",
    "load",
    "parse",
]

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario cannot be loaded or used; the message names the file and the field."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    anchor_date: date | None
    films: tuple[FilmSpec, ...]
    generated_films: GeneratedFilms
    cinema_city: CinemaCitySpec
    kino_krakow: KinoKrakowSpec
    tmdb_api_key: str
    faults: tuple[FaultRule, ...]
    #: The sites' time zone: their "today", and day 0 when no anchor date is given.
    timezone: str = "Europe/Warsaw"
    source: str = field(default="<inline>", compare=False)

    def anchor(self, override: date | None = None) -> date:
        """Day 0 of the data: the override (CLI/API), else the file's anchor_date, else today in the
        sites' time zone (so the simulator rolls over at Warsaw's midnight, as the real sites do)."""
        return override or self.anchor_date or datetime.now(ZoneInfo(self.timezone)).date()

    def window_days(self) -> int:
        """The shortest scrape window (``days_ahead``) that reaches every day the scenario's faults
        and empty days name: a shortened run of the scenario still meets all of its incident."""
        days = {d for rule in self.faults for d in rule.days}
        days |= set(self.kino_krakow.empty_days) | {d for _, d in self.cinema_city.empty_days}
        return max(days, default=0) + 1

    @cached_property
    def catalog(self) -> Catalog:
        """All generated data (films, programmes, TMDB answers); depends on the seed, not the anchor."""
        return build_catalog(self)

    def predict(
        self,
        chain: str,
        *,
        city_name: str = "Kraków",
        days_ahead: int = 7,
        client_attempts: int = 2,
        task_tries: int = 3,
        client_timeout: float = 3.0,
        anchor_date: date | None = None,
    ) -> dict[str, int]:
        """What a correct scraper reports for ``chain`` (keys: docs/architecture.md, semantics:
        docs/scenarios.md), computed from the data and the fault rules, not by scraping."""
        try:
            return predict_chain(
                self,
                chain,
                city_name=city_name,
                days_ahead=days_ahead,
                client_attempts=client_attempts,
                task_tries=task_tries,
                client_timeout=client_timeout,
                anchor=self.anchor(anchor_date),
            )
        except CannotPredict as exc:
            raise CannotPredict(f"{self.source}: cannot predict: {exc}") from exc
        except ValueError as exc:
            raise ScenarioError(f"{self.source}: {exc}") from exc


def bundled() -> list[str]:
    """Names of the scenarios shipped in ``sitesim/scenarios``."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def incidents() -> list[str]:
    """Names (``incidents/<name>``, accepted by ``load``) of the incident scenarios shipped in
    ``sitesim/scenarios/incidents``: replays of the outages users actually have."""
    return sorted(f"incidents/{p.stem}" for p in (SCENARIO_DIR / "incidents").glob("*.yaml"))


def load(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name (``demo``) or any scenario file by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ScenarioError(f"unknown scenario {str(name_or_path)!r}; bundled: {', '.join(bundled())}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse(text, source=path.name)


def parse(text: str, *, source: str = "<inline>") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    return from_mapping(data, source=source)


def _timezone(root: _Fields, source: str) -> str:
    name = root.str("timezone", "Europe/Warsaw")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"{source}: timezone: {name!r} is not an IANA time zone name") from None
    return name


def from_mapping(data: Any, *, source: str = "<inline>") -> Scenario:
    """Build a scenario from already-parsed YAML (tests write small scenarios as dicts)."""
    root = _Fields(data, "", source)
    scenario = Scenario(
        name=root.str("name", Path(source).stem),
        description=root.str("description", ""),
        seed=root.int("seed", 1),
        anchor_date=root.date("anchor_date"),
        films=tuple(_film(f) for f in root.items("films")),
        generated_films=_generated(root.child("generated_films")),
        cinema_city=_cinema_city(root.child("cinema_city")),
        kino_krakow=_kino_krakow(root.child("kino_krakow")),
        tmdb_api_key=root.child("tmdb").str("api_key", "sitesim-key", done=True),
        faults=tuple(_fault(f, i) for i, f in enumerate(root.items("faults"))),
        timezone=_timezone(root, source),
        source=source,
    )
    root.done()
    _check_volumes(scenario, root)
    return scenario


# --- field reader -----------------------------------------------------------------------------

_REQUIRED: Any = object()


class _Fields:
    """Reads one YAML mapping, type-checking each field and remembering its path for errors."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: {where or 'the file'}: must be a mapping")
        self.data = dict(data)
        self.where = where
        self.source = source
        self._seen: set[str] = set()

    def error(self, key: str, message: str) -> ScenarioError:
        path = f"{self.where}.{key}" if self.where else key
        return ScenarioError(f"{self.source}: {path}: {message}")

    def _raw(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _REQUIRED:
            raise self.error(key, "is required")
        return default

    def str(self, key: str, default: Any = _REQUIRED, *, done: bool = False) -> Any:
        value = self._raw(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # ids such as 1090 may be written unquoted
        if value is not default and (not isinstance(value, str) or not value.strip()):
            raise self.error(key, "must be a non-empty string")
        if done:
            self.done()
        return value

    def int(self, key: str, default: Any = _REQUIRED, *, lo: int | None = None, hi: int | None = None) -> Any:
        value = self._raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "must be an integer")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
            raise self.error(key, f"must be an integer {bounds}")
        return value

    def float(self, key: str, default: Any = _REQUIRED, *, lo: float = 0.0, hi: float | None = None) -> Any:
        value = self._raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
            raise self.error(key, f"must be a number >= {lo}")
        if hi is not None and value > hi:
            raise self.error(key, f"must be a number between {lo} and {hi}")
        return float(value)

    def range(self, key: str, default: IntRange, *, lo: int = 0) -> IntRange:
        value = self._raw(key, default)
        if isinstance(value, IntRange):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= lo:
            return IntRange(value, value)
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and lo <= value[0] <= value[1]
        ):
            return IntRange(value[0], value[1])
        raise self.error(key, f"must be an integer >= {lo} or a pair [low, high] with low <= high")

    def date(self, key: str) -> date | None:
        value = self._raw(key, None)
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.error(key, "must be a date YYYY-MM-DD") from None

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _REQUIRED) -> Any:
        value = self._raw(key, default)
        if value is not default and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._raw(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def ints(self, key: str, *, lo: int, hi: int) -> tuple[int, ...]:
        value = self._raw(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi for v in value
        ):
            raise self.error(key, f"must be a list of integers between {lo} and {hi}")
        return tuple(value)

    def child(self, key: str) -> _Fields:
        return _Fields(self._raw(key, {}), self._path(key), self.source)

    def items(self, key: str) -> list[_Fields]:
        value = self._raw(key, [])
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return [_Fields(item, f"{self._path(key)}[{i}]", self.source) for i, item in enumerate(value)]

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.error(unknown[0], "unknown field (check the spelling against docs/scenarios.md)")


# --- sections ---------------------------------------------------------------------------------


def _film(f: _Fields) -> FilmSpec:
    title_pl = f.str("title_pl")
    title_original = f.str("title_original", title_pl)
    language = f.str("language", "en")
    tmdb = f.choice("tmdb", TMDB_KINDS, "match")
    default_name = f"{title_original}. {title_pl}" if tmdb == "split_match" else title_pl
    film = FilmSpec(
        title_pl=title_pl,
        title_original=title_original,
        language=language,
        year=f.int("year", 2025, lo=1890, hi=2100),
        runtime=f.int("runtime", 110, lo=1, hi=600),
        tmdb=tmdb,
        cc_name=f.str("cc_name", default_name),
        country=f.str("country", "Polska" if language == "pl" else "USA"),
        director=f.str("director", "Jan Kowalski"),
        genres=f.strings("genres") or ("drama",),
    )
    f.done()
    if tmdb == "split_match" and (language != "en" or split_original(film.cc_name) != title_original):
        raise f.error(
            "cc_name",
            "a split_match film needs language en and a Cinema City name 'Original. Polish' whose part"
            f" before the first separator is title_original ({title_original!r})",
        )
    if tmdb in ("needs_review", "low_confidence") and film.cc_name != title_pl:
        raise f.error("cc_name", f"a {tmdb} film must use title_pl as its Cinema City name")
    return film


def _generated(f: _Fields) -> GeneratedFilms:
    count = f.int("count", 0, lo=0, hi=2000)
    mix = f.child("tmdb")
    weights = tuple((kind, mix.float(kind, 0.0)) for kind in TMDB_KINDS)
    mix.done()
    if count and not any(w for _, w in weights):
        weights = (("match", 1.0),)
    f.done()
    return GeneratedFilms(count=count, tmdb_mix=weights)


def _cc_cinema(c: _Fields, city: str | None = None) -> CinemaSpec:
    cinema = CinemaSpec(
        id=c.str("id"),
        name=c.str("name"),
        city=city if city is not None else c.str("city"),
        address=c.str("address", "ul. Kinowa 1"),
        postal_code=c.str("postal_code", "00-001"),
        latitude=c.float("latitude", 50.0, lo=-90.0, hi=90.0),
        longitude=c.float("longitude", 20.0, lo=-180.0, hi=180.0),
    )
    c.done()
    return cinema


_CC_DEFAULTS = CinemaCityCity(
    name="", days=7, films=20, films_per_day=IntRange(8, 12), showtimes_per_day=IntRange(20, 30)
)


def _cc_knobs(f: _Fields, name: str, section: CinemaCityCity | None = None) -> CinemaCityCity:
    """The section's knobs (``section`` None) or a city's, each defaulting to the section's."""
    default = section or _CC_DEFAULTS
    city = CinemaCityCity(
        name=name,
        days=f.int("days", default.days, lo=0, hi=60),
        films=f.int("films", default.films, lo=0, hi=None if section is None else section.films),
        films_per_day=f.range("films_per_day", default.films_per_day),
        showtimes_per_day=f.range("showtimes_per_day", default.showtimes_per_day),
    )
    if city.films_per_day.hi > city.films:
        raise f.error("films_per_day", f"cannot exceed the films screened ({city.films})")
    if city.showtimes_per_day.hi > 999 or city.showtimes_per_day.lo < city.films_per_day.hi:
        raise f.error("showtimes_per_day", "must be at least films_per_day (each film shows) and at most 999")
    return city


def _cinema_city(f: _Fields) -> CinemaCitySpec:
    cinemas = [_cc_cinema(c) for c in f.items("cinemas")]
    section = _cc_knobs(f, "")
    overrides: list[CinemaCityCity] = []
    for c in f.items("cities"):
        # The section's films are the pool every city screens from: a city may show fewer.
        city = _cc_knobs(c, c.str("name"), section)
        if any(same_city(city.name, other.name) for other in overrides):
            raise c.error("name", f"{city.name!r} is listed twice")
        own = [_cc_cinema(cinema, city=city.name) for cinema in c.items("cinemas")]
        c.done()
        # A section cinema of this city (however it spells the name) takes the city's knobs.
        cinemas = [replace(x, city=city.name) if same_city(x.city, city.name) else x for x in cinemas]
        cinemas += own
        if not any(x.city == city.name for x in cinemas):
            raise c.error(
                "cinemas", f"no cinema in {city.name}: list its cinemas here or in cinema_city.cinemas"
            )
        overrides.append(city)
    ids = [c.id for c in cinemas]
    if len(set(ids)) != len(ids):
        raise f.error("cinemas", "cinema ids must be unique")
    cities = list(overrides)
    for name in dict.fromkeys(c.city for c in cinemas):
        if not any(city.name == name for city in cities):
            cities.append(replace(section, name=name))
    days_of = {c.id: next(city.days for city in cities if city.name == c.city) for c in cinemas}
    days_before = f.int("days_before", 0, lo=0, hi=60)
    empty: set[tuple[str, int]] = set()
    for e in f.items("empty_days"):
        cinema = e.str("cinema")
        if cinema not in ids:
            raise e.error("cinema", f"unknown cinema id {cinema!r}")
        empty.add((cinema, e.int("day", lo=-days_before, hi=max(days_of[cinema] - 1, -days_before))))
        e.done()
    spec = CinemaCitySpec(
        tenant=f.str("tenant", "10103"),
        cinemas=tuple(cinemas),
        days=section.days,
        days_before=days_before,
        films=section.films,
        films_per_day=section.films_per_day,
        showtimes_per_day=section.showtimes_per_day,
        empty_days=frozenset(empty),
        cities=tuple(cities),
    )
    f.done()
    return spec


_KK_DEFAULTS = KinoKrakowCity(
    slug=DEFAULT_CITY,
    name=DEFAULT_CITY_NAME,
    films=20,
    without_showtimes=0.0,
    days=7,
    days_per_film=IntRange(1, 7),
    cinemas_per_film_day=IntRange(1, 2),
    times_per_cinema=IntRange(1, 3),
    cinemas=(
        KinoKrakowCinema("kino-pod-baranami", "Kino Pod Baranami"),
        KinoKrakowCinema("kino-mikro", "Kino Mikro"),
    ),
    empty_days=frozenset(),
)
_CITY_SLUG = re.compile(CITY_SLUG_PATTERN)


def _kk_knobs(f: _Fields, slug: str, name: str, section: KinoKrakowCity | None = None) -> KinoKrakowCity:
    """The section's knobs (``section`` None: the default city) or a city's, defaulting to the section's."""
    cinemas = []
    for c in f.items("cinemas"):
        cinemas.append(KinoKrakowCinema(slug=c.str("slug"), name=c.str("name")))
        c.done()
    default = section or _KK_DEFAULTS
    city = KinoKrakowCity(
        slug=slug,
        name=name,
        films=f.int("films", default.films, lo=0, hi=None if section is None else section.films),
        without_showtimes=f.float("without_showtimes", default.without_showtimes, hi=1.0),
        days=f.int("days", default.days, lo=0, hi=7),
        days_per_film=f.range("days_per_film", default.days_per_film, lo=1),
        cinemas_per_film_day=f.range("cinemas_per_film_day", default.cinemas_per_film_day, lo=1),
        times_per_cinema=f.range("times_per_cinema", default.times_per_cinema, lo=1),
        cinemas=tuple(cinemas) or default.cinemas,
        empty_days=frozenset(f.ints("empty_days", lo=0, hi=6))
        if "empty_days" in f.data
        else default.empty_days,
    )
    if city.cinemas_per_film_day.hi > len(city.cinemas):
        raise f.error("cinemas_per_film_day", f"cannot exceed the number of cinemas ({len(city.cinemas)})")
    return city


def _kino_krakow(f: _Fields) -> KinoKrakowSpec:
    section = _kk_knobs(f, DEFAULT_CITY, DEFAULT_CITY_NAME)
    cities: list[KinoKrakowCity] = []
    if "cities" in f.data:
        entries = f.items("cities")
        if not entries:
            raise f.error("cities", "must list at least one city (leave it out to serve Kraków only)")
        for c in entries:
            slug = c.str("slug")
            if not _CITY_SLUG.fullmatch(slug):
                raise c.error(
                    "slug", f"{slug!r} is not a city slug (lowercase ASCII words joined by '-': warszawa)"
                )
            if any(city.slug == slug for city in cities):
                raise c.error("slug", f"{slug!r} is listed twice")
            name = c.str("name", DEFAULT_CITY_NAME if slug == DEFAULT_CITY else slug.capitalize())
            cities.append(_kk_knobs(c, slug, name, section))
            c.done()
    spec = KinoKrakowSpec(
        films=section.films,
        without_showtimes=section.without_showtimes,
        days=section.days,
        days_per_film=section.days_per_film,
        cinemas_per_film_day=section.cinemas_per_film_day,
        times_per_cinema=section.times_per_cinema,
        uuid_slugs=f.float("uuid_slugs", 0.0, hi=1.0),
        cinemas=section.cinemas,
        empty_days=section.empty_days,
        cities=tuple(cities) or (section,),
    )
    f.done()
    return spec


def _fault(f: _Fields, index: int) -> FaultRule:
    site = f.choice("site", SITES)
    kind = f.choice("kind", KINDS)
    rule = FaultRule(
        name=f.str("name", f"#{index} {kind}"),
        site=site,
        kind=kind,
        path=f.str("path", None),
        regex=f.str("regex", None),
        method=f.choice("method", ("GET", "POST"), None),
        day=f.int("day", None, lo=0, hi=6),
        query=tuple((k, str(v)) for k, v in f.child("query").data.items()),
        first_n=f.int("first_n", None, lo=1),
        status=f.int("status", None, lo=100, hi=599),
        retry_after=f.int("retry_after", None, lo=0),
        seconds=f.float("seconds", None),
        requests=_request_range(f),
        from_s=f.float("from_s", None),
        until_s=f.float("until_s", None),
        field=f.str("field", None),
    )
    f.done()
    if rule.path is not None and rule.regex is not None:
        raise f.error("regex", "give either path or regex, not both")
    if rule.day is not None and site != "kino_krakow":
        raise f.error("day", "only Kino Krakow requests have a day (use a {day+N} placeholder in path)")
    if not any(rule.applies_to(site, ep) for ep in ENDPOINTS[site]):
        raise f.error("kind", f"{kind} cannot apply to {site} (see docs/scenarios.md, fault kinds)")
    if kind == "status" and rule.status is None:
        raise f.error("status", "is required for kind status")
    if kind != "status" and rule.status is not None:
        raise f.error("status", "only applies to kind status")
    if rule.retry_after is not None and rule.status != 429:
        raise f.error("retry_after", "only applies to status 429")
    if (kind == "delay") != (rule.seconds is not None):
        raise f.error("seconds", "is required for kind delay, and only applies to it")
    if rule.first_n is not None and rule.requests is not None:
        raise f.error(
            "requests", "give either first_n or requests, not both (first_n: N is requests: [1, N])"
        )
    if rule.from_s is not None and rule.until_s is not None and rule.until_s <= rule.from_s:
        raise f.error("until_s", "must be greater than from_s")
    if (kind in CELL_KINDS) != (rule.field is not None):
        raise f.error("field", f"is required for kinds {' and '.join(CELL_KINDS)}, and only applies to them")
    if rule.field is not None and rule.field not in CELL_FIELDS[site]:
        raise f.error("field", f"must be one of {', '.join(CELL_FIELDS[site])} for {site}")
    return rule


def _request_range(f: _Fields) -> tuple[int, int | None] | None:
    """``requests: [from, to]`` (1-based, inclusive; ``to`` null = on and on)."""
    value = f._raw("requests", None)
    if value is None:
        return None
    ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value if v is not None)
    if not ok or value[0] is None or value[0] < 1 or (value[1] is not None and value[1] < value[0]):
        raise f.error("requests", "must be [from, to] with 1 <= from <= to (to may be null: no end)")
    return value[0], value[1]


def _check_volumes(s: Scenario, root: _Fields) -> None:
    pool = len(s.films) + s.generated_films.count
    for section, needed in (("cinema_city", s.cinema_city.films), ("kino_krakow", s.kino_krakow.films)):
        if needed > pool:
            raise root.error(
                f"{section}.films", f"needs {needed} films but films + generated_films.count = {pool}"
            )
    for index, kk in enumerate(s.kino_krakow.cities):
        without = round(kk.without_showtimes * kk.films)
        if without > kk.films - min(s.cinema_city.films, kk.films):
            where = f"cities[{index}]." if len(s.kino_krakow.cities) > 1 else ""
            raise root.error(
                f"kino_krakow.{where}without_showtimes",
                f"{without} films without showtimes, but only films beyond Cinema City's first"
                f" {s.cinema_city.films} can have none",
            )
    try:
        s.catalog  # noqa: B018 - build once now, so data conflicts surface at load time
    except ValueError as exc:
        raise ScenarioError(f"{s.source}: films: {exc}") from exc
