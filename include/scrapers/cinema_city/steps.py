"""Cinema City chain steps: sync -> cinema_date (per cinema x date) -> movie_details -> showtimes."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from scrapers.cinema_city.client import CinemaCityClient, CinemaCitySite
from scrapers.cinema_city.parser import Event, Film, event_version, version_label
from scrapers.common_steps import film_match_result, store_showtimes
from scrapers.outcome import StepResult
from scrapers.sink import ShowtimeSink
from scrapers.tmdb.client import TmdbClient, TmdbConfig
from scrapers.tmdb.matching import FilmQuery, match_film, matched_details
from scrapers.tmdb.normalize import split_is_guess, split_original_title

log = logging.getLogger(__name__)

SOURCE = "cinema_city"


def sync(site: CinemaCitySite, *, city_name: str, days_ahead: int, scrape_date: date) -> StepResult:
    """The units of work: every cinema of the city x every date, and whether the API lists the date."""
    until = scrape_date + timedelta(days=days_ahead)
    dates = [scrape_date + timedelta(days=offset) for offset in range(days_ahead)]
    units: list[dict[str, Any]] = []
    with CinemaCityClient(site) as client:
        cinemas = client.cinemas_until(until, city_name=city_name)
        for cinema in cinemas:
            listed = set(client.dates_in_cinema(cinema.id, until))
            units.extend(
                {
                    "cinema_id": cinema.id,
                    "cinema_name": cinema.name,
                    "date": day.isoformat(),
                    "listed": day.isoformat() in listed,
                }
                for day in dates
            )
    log.info("%d cinemas in %s, %d cinema-days", len(cinemas), city_name, len(units))
    return StepResult(
        counts={
            "cinemas": len(cinemas),
            "units": len(units),
            "units_listed": sum(u["listed"] for u in units),
        },
        data={"units": units},
    )


def showtime_external_id(cinema_id: str, film_id: str, event_id: str) -> str:
    """Includes the film id: event ids alone have collided across films."""
    return f"cinema_city_showtime_{cinema_id}_{film_id}_{event_id}"


def _film_dict(film: Film) -> dict[str, Any]:
    return {
        "film_key": film.id,
        "film_id": film.id,
        "title": film.name,
        "original_title": split_original_title(film.name, film.language.original_language),
        "original_title_guessed": split_is_guess(film.name),
        "year": film.release_year,
        "runtime": film.runtime,
        "original_language": film.language.original_language,
        "language_info": asdict(film.language),
        "format_info": asdict(film.format),
        "genre_tags": list(film.genre_tags),
        "poster_url": film.poster_url,
        "trailer_url": film.trailer_url,
        "link": film.link,
        "release_date": film.release_date,
    }


def _showtime_dict(event: Event, unit: dict[str, Any], films: dict[str, Film]) -> dict[str, Any]:
    cinema_id = event.cinema_id or unit["cinema_id"]
    film = films.get(event.film_id or "")
    language, screen = event_version(event, film)
    has_ids = event.id and event.film_id
    return {
        "external_id": showtime_external_id(cinema_id, event.film_id, event.id) if has_ids else None,
        "film_key": event.film_id,
        "title": film.name if film else None,
        "cinema": unit["cinema_name"],
        "starts_at": event.starts_at,
        "version": version_label(language, screen),
        "payload": {
            "cinema_id": cinema_id,
            "film_id": event.film_id,
            "event_id": event.id,
            "business_day": event.business_day,
            "auditorium": event.auditorium,
            "auditorium_tiny_name": event.auditorium_tiny_name,
            "booking_url": event.booking_url,
            "language_info": asdict(language),
            "format_info": asdict(screen),
            "attributes": list(event.attributes),
            "sold_out": event.sold_out,
            "availability_ratio": event.availability_ratio,
        },
    }


def cinema_date(site: CinemaCitySite, unit: dict[str, Any]) -> StepResult:
    """Films and showtimes of one cinema on one date.

    Empty and not listed in dates/in-cinema: nothing scheduled, skip. Empty but listed: return zero
    counts and let the monitor flag the silence (raising would hide it as a plain failure).
    """
    day = date.fromisoformat(unit["date"])
    with CinemaCityClient(site) as client:
        answer = client.film_events(unit["cinema_id"], day)
    films = {film.id: film for film in answer.films}
    showtimes = [_showtime_dict(event, unit, films) for event in answer.events]
    if not films and not showtimes and not unit.get("listed"):
        return StepResult(
            counts={"films": 0, "showtimes": 0},
            data={"unit": unit},
            skip_reason=f"no screenings scheduled at {unit['cinema_name']} on {unit['date']}",
        )
    if not showtimes:
        log.warning("%s on %s is listed but has no screenings", unit["cinema_name"], unit["date"])
    return StepResult(
        counts={"films": len(films), "showtimes": len(showtimes)},
        data={"unit": unit, "films": [_film_dict(f) for f in films.values()], "showtimes": showtimes},
    )


def movie_details_query(film: dict[str, Any]) -> FilmQuery:
    """What a film of a cinema-day tells TMDB (see ``_film_dict``)."""
    return FilmQuery(
        polish_title=film.get("title"),
        original_title=film.get("original_title"),
        year=film.get("year"),
        original_language=film.get("original_language"),
        original_is_guess=bool(film.get("original_title_guessed")),
        # Cinema City names a film once ("Original. Polish"): an original title is always a split.
        original_is_split=bool(film.get("original_title")),
    )


def movie_details(tmdb: TmdbConfig, film: dict[str, Any]) -> StepResult:
    """Match one film on TMDB. Not matching is an item outcome; TMDB failing raises (task retry)."""
    query = movie_details_query(film)
    with TmdbClient(tmdb) as client:
        match = match_film(client, query)
        details = matched_details(client, match)
    log.info("film %s %r: %s", film["film_key"], film.get("title"), match)
    return film_match_result(
        external_id=f"cinema_city_film_{film['film_key']}",
        film_key=film["film_key"],
        title=film.get("title") or "",
        match=match,
        details=details,
    )


def showtimes(
    unit_result: dict[str, Any], matches: dict[str, dict[str, Any]], sink: ShowtimeSink
) -> StepResult:
    """Store the showtimes of one cinema-day (``matches`` = collect_matches data["matches"])."""
    return store_showtimes(unit_result, matches, sink, source=SOURCE)
