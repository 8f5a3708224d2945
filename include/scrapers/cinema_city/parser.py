"""Cinema City quickbook API answers -> typed records.

Shape problems raise typed ``ParseError``s naming the URL and the field. Per-event gaps (no start
time, no id) do not: the showtimes step reports them as failed items, so one bad event does not
cost the whole cinema-day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from scrapers.errors import UnexpectedShape, ValidationFailed
from scrapers.text import fold, valid_unicode
from scrapers.timeparse import parse_local_iso

GENRES = (
    "action", "adventure", "animation", "comedy", "crime", "documentary", "drama", "fantasy",
    "horror", "mystery", "romance", "sci-fi", "thriller", "western",
)  # fmt: skip


@dataclass(frozen=True)
class Cinema:
    id: str
    name: str
    city: str
    address: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    link: str | None


#: How a screening's sound reaches a Polish audience.
ORIGINAL, SUBTITLED, DUBBED, LEKTOR = "original", "subtitled", "dubbed", "lektor"


@dataclass(frozen=True)
class LanguageInfo:
    is_dubbed: bool
    is_subbed: bool
    dubbed_language: str | None
    original_language: str | None
    #: original / subtitled / dubbed / lektor (a voice-over reader, common on Polish TV and cinema).
    version: str = ORIGINAL


@dataclass(frozen=True)
class FormatInfo:
    is_2d: bool
    is_3d: bool
    is_imax: bool
    is_4dx: bool
    is_vip: bool


@dataclass(frozen=True)
class Film:
    """A film of one cinema-day. Its ``attributeIds`` are the union over all its screenings (a film
    shown dubbed in 3D and subtitled in 2D carries both), so its language and format are only a
    fallback for an event that says nothing of its own."""

    id: str
    name: str
    runtime: int | None
    release_year: int | None
    poster_url: str | None
    trailer_url: str | None
    attributes: tuple[str, ...]
    language: LanguageInfo
    format: FormatInfo
    genre_tags: tuple[str, ...]
    link: str | None = None
    release_date: str | None = None


@dataclass(frozen=True)
class Event:
    """One screening. Fields the API left out stay None; the showtimes step validates them."""

    id: str | None
    film_id: str | None
    cinema_id: str | None
    business_day: str | None
    starts_at: str | None
    auditorium: str | None
    booking_url: str | None
    #: The screening's own attributeIds: its language version and format.
    attributes: tuple[str, ...] = ()
    sold_out: bool | None = None
    availability_ratio: float | None = None
    auditorium_tiny_name: str | None = None


@dataclass(frozen=True)
class FilmEvents:
    films: list[Film] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _body(payload: Any, url: str) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("body"), dict):
        raise UnexpectedShape("answer has no 'body' object", url=url, field="body")
    return payload["body"]


def _list(body: dict[str, Any], key: str, url: str, *, required: bool) -> list[Any]:
    value = body.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise UnexpectedShape(f"'body.{key}' is not a list", url=url, field=f"body.{key}")
    return value


def _text(value: Any) -> str | None:
    """A scalar as stripped text (ids arrive as strings or ints); None for missing or blank."""
    if value is None or isinstance(value, dict | list):
        return None
    text = valid_unicode(str(value)).strip()
    return text or None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _float(value: Any) -> float | None:
    """A finite number, or None: "inf", "nan" and 1e999 (which JSON decodes to infinity) are no
    runtime or coordinate, and XCom and the payload's jsonb column refuse them."""
    text = _text(value)
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def parse_cinemas(payload: Any, *, url: str, city_name: str | None = None) -> list[Cinema]:
    """``body.cinemas``; with ``city_name``, only that city's cinemas."""
    raw_cinemas = _list(_body(payload, url), "cinemas", url, required=True)
    # Case- and diacritics-insensitive: the configured "Krakow" must find the API's "Kraków".
    wanted = fold(city_name) if city_name else None
    cinemas = []
    for index, raw in enumerate(raw_cinemas):
        if not isinstance(raw, dict):
            raise UnexpectedShape("cinema entry is not an object", url=url, field=f"body.cinemas[{index}]")
        cinema = _cinema(raw, url=url, index=index)
        if wanted is None or fold(cinema.city) == wanted:
            cinemas.append(cinema)
    return cinemas


def _cinema(raw: dict[str, Any], *, url: str, index: int) -> Cinema:
    cinema_id = _text(raw.get("id"))
    if cinema_id is None:
        raise ValidationFailed("cinema without id", url=url, field=f"body.cinemas[{index}].id")
    # Newer answers nest the address in addressInfo; older ones have flat addressLine1/city fields.
    info = raw.get("addressInfo") if isinstance(raw.get("addressInfo"), dict) else None
    if info is not None:
        lines = [info.get(f"address{n}") for n in range(1, 5)]
        city, postal = info.get("city"), info.get("postalCode")
    else:
        lines = [raw.get("addressLine1"), raw.get("addressLine2")]
        city, postal = raw.get("city"), raw.get("postalCode")
    address = ", ".join(t for t in (_text(line) for line in lines) if t) or None
    return Cinema(
        id=cinema_id,
        name=_text(raw.get("displayName")) or _text(raw.get("name")) or cinema_id,
        city=_text(city) or "",
        address=address,
        postal_code=_text(postal) or _text(raw.get("postalCode")),
        latitude=_float(raw.get("latitude")),
        longitude=_float(raw.get("longitude")),
        link=_text(raw.get("link")),
    )


def parse_dates(payload: Any, *, url: str) -> list[str]:
    """``body.dates``: the business days (YYYY-MM-DD) that have screenings."""
    dates = _list(_body(payload, url), "dates", url, required=True)
    return [d for d in (_text(v) for v in dates) if d]


def parse_film_events(payload: Any, *, url: str) -> FilmEvents:
    """``body.films`` + ``body.events``; a missing list is empty (partial answer), a missing body
    is an error. Films without events are dropped: nothing to show."""
    body = _body(payload, url)
    raw_films = _list(body, "films", url, required=False)
    raw_events = _list(body, "events", url, required=False)
    events = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            raise UnexpectedShape("event entry is not an object", url=url, field=f"body.events[{index}]")
        events.append(_event(raw))
    screened = {e.film_id for e in events}
    films = []
    for index, raw in enumerate(raw_films):
        if not isinstance(raw, dict):
            raise UnexpectedShape("film entry is not an object", url=url, field=f"body.films[{index}]")
        film = _film(raw, url=url, index=index)
        if film.id in screened:
            films.append(film)
    return FilmEvents(films=films, events=events)


def _film(raw: dict[str, Any], *, url: str, index: int) -> Film:
    film_id, name = _text(raw.get("id")), _text(raw.get("name"))
    if film_id is None:
        raise ValidationFailed("film without id", url=url, field=f"body.films[{index}].id")
    if name is None:
        raise ValidationFailed(f"film {film_id} without name", url=url, field=f"body.films[{index}].name")
    attributes = _attributes(raw)
    release_date = _text(raw.get("releaseDate"))
    # releaseYear is null for some films (new Polish releases); the release date still has a year.
    year = _int(raw.get("releaseYear")) or (_int(release_date[:4]) if release_date else None)
    return Film(
        id=film_id,
        name=name,
        runtime=_int(raw.get("length")),
        release_year=year,
        poster_url=_text(raw.get("posterLink")),
        trailer_url=_text(raw.get("videoLink")),
        attributes=attributes,
        language=language_info(attributes),
        format=format_info(attributes),
        genre_tags=tuple(g for g in GENRES if any(g in a.lower() for a in attributes)),
        link=_text(raw.get("link")),
        release_date=release_date,
    )


def _attributes(raw: dict[str, Any]) -> tuple[str, ...]:
    values = raw.get("attributeIds") if isinstance(raw.get("attributeIds"), list) else []
    return tuple(a for a in (_text(v) for v in values) if a)


def _lang_code(attribute: str, prefix: str) -> str:
    # "original-lang-en-us" -> "en": TMDB's original_language is ISO 639-1 only.
    return attribute[len(prefix) :].split("-")[0].lower()


def language_info(attributes: tuple[str, ...]) -> LanguageInfo:
    lowered = [a.lower() for a in attributes]
    dubbed = next((_lang_code(a, "dubbed-lang-") for a in lowered if a.startswith("dubbed-lang-")), None)
    original = next(
        (_lang_code(a, "original-lang-") for a in lowered if a.startswith("original-lang-")), None
    )
    is_dubbed = any("dubbed" in a for a in lowered)
    is_subbed = any("subbed" in a for a in lowered)
    is_lektor = any("lektor" in a for a in lowered)
    return LanguageInfo(
        is_dubbed=is_dubbed,
        is_subbed=is_subbed,
        dubbed_language=dubbed or None,
        original_language=original or None,
        version=DUBBED if is_dubbed else LEKTOR if is_lektor else SUBTITLED if is_subbed else ORIGINAL,
    )


def format_info(attributes: tuple[str, ...]) -> FormatInfo:
    lowered = [a.lower() for a in attributes]
    return FormatInfo(
        is_2d="2d" in lowered,
        is_3d="3d" in lowered,
        is_imax=any("imax" in a for a in lowered),
        is_4dx=any("4dx" in a for a in lowered),
        is_vip=any("vip" in a for a in lowered),
    )


def _says_language(attribute: str) -> bool:
    return any(word in attribute for word in ("dubbed", "subbed", "lektor", "original-lang-"))


def _says_format(attribute: str) -> bool:
    return attribute in ("2d", "3d") or any(word in attribute for word in ("imax", "4dx", "vip", "screenx"))


def event_version(event: Event, film: Film | None) -> tuple[LanguageInfo, FormatInfo]:
    """The language and format of one screening: the event's own attributes, and the film's union
    only for what the event does not say. The original language is the film's (events seldom
    repeat it)."""
    own = [a.lower() for a in event.attributes]
    fallback = film.attributes if film is not None else ()
    language_attrs = own if any(_says_language(a) for a in own) else [a.lower() for a in fallback]
    format_attrs = own if any(_says_format(a) for a in own) else [a.lower() for a in fallback]
    language = language_info(tuple(language_attrs))
    if language.original_language is None and film is not None:
        language = replace(language, original_language=film.language.original_language)
    return language, format_info(tuple(format_attrs))


def version_label(language: LanguageInfo, screen: FormatInfo) -> str:
    """A screening's version in a few words ("dubbed 3D 4DX"), for a reader of its item outcome."""
    formats = (
        ("2D", screen.is_2d), ("3D", screen.is_3d), ("IMAX", screen.is_imax),
        ("4DX", screen.is_4dx), ("VIP", screen.is_vip),
    )  # fmt: skip
    return " ".join([language.version, *(name for name, shown in formats if shown)])


def _event(raw: dict[str, Any]) -> Event:
    starts_at = _text(raw.get("eventDateTime"))
    try:
        starts_iso = parse_local_iso(starts_at).isoformat() if starts_at else None
    except ValueError:
        starts_iso = None  # reported as a missing/invalid field by the showtimes step
    sold_out = raw.get("soldOut")
    return Event(
        id=_text(raw.get("id")),
        film_id=_text(raw.get("filmId")),
        cinema_id=_text(raw.get("cinemaId")),
        business_day=_text(raw.get("businessDay")),
        starts_at=starts_iso,
        auditorium=_text(raw.get("auditorium")),
        booking_url=_text(raw.get("bookingLink")),
        attributes=_attributes(raw),
        sold_out=sold_out if isinstance(sold_out, bool) else None,
        availability_ratio=_float(raw.get("availabilityRatio")),
        auditorium_tiny_name=_text(raw.get("auditoriumTinyName")),
    )
