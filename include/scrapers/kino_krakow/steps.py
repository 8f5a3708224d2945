"""Kino Krakow chain steps: sync -> day_page (per day offset) -> movie_details -> showtimes."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

from scrapers.common_steps import film_match_result, store_showtimes
from scrapers.errors import ParseError
from scrapers.http import SiteConfig
from scrapers.kino_krakow.client import DAYS_SELECTABLE, KinoKrakowClient
from scrapers.kino_krakow.parser import (
    FilmLink,
    FilmPageShowtime,
    ProgramPage,
    ProgramShowtime,
    parse_film_links,
    parse_movie_page,
    parse_program,
)
from scrapers.outcome import StepResult
from scrapers.sink import ShowtimeSink
from scrapers.timeparse import warsaw_datetime
from scrapers.tmdb.client import TmdbClient, TmdbConfig
from scrapers.tmdb.matching import FilmQuery, match_film, matched_details

log = logging.getLogger(__name__)

SOURCE = "kino_krakow"
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _film_dict(film: FilmLink) -> dict[str, Any]:
    return {"film_key": film.slug, "slug": film.slug, "title": film.title}


def sync(site: SiteConfig, *, days_ahead: int, scrape_date: date) -> StepResult:
    """The day units (offsets 0..days_ahead-1) and the films the program page links."""
    if not 1 <= days_ahead <= DAYS_SELECTABLE:
        raise ValueError(f"days_ahead must be 1..{DAYS_SELECTABLE} (the site selects days 0..6)")
    with KinoKrakowClient(site) as client:
        # The health check before the fan-out: a session and its CSRF token, as each day page opens
        # one. Without a token the run fails here, once, instead of in every day.
        text, url = client.open_session().landing
    # Parsed for its failures only: a changed layout should stop the run here, not in every day.
    parse_program(text, url=url, scrape_date=scrape_date)
    # Every film the site links (today's programme and the coming-soon list), as the origin did.
    films = parse_film_links(text, url=url)
    units = [{"day": n, "date": (scrape_date + timedelta(days=n)).isoformat()} for n in range(days_ahead)]
    return StepResult(
        counts={"films": len(films), "units": len(units)},
        data={"units": units, "films": [_film_dict(f) for f in films]},
    )


def showtime_external_id(slug: str, cinema_slug: str, day: date, clock: str) -> str:
    raw = f"kino_krakow_showtime_{slug}_{cinema_slug}_{day.isoformat()}_{clock}"
    return _UNSAFE_ID_CHARS.sub("_", raw)


def _showtime_dict(site: SiteConfig, showtime: ProgramShowtime) -> dict[str, Any]:
    film, day, clock = showtime.film, showtime.day, showtime.clock
    complete = film is not None and showtime.cinema_slug and day is not None and clock is not None
    return {
        "external_id": (
            showtime_external_id(film.slug, showtime.cinema_slug, day, clock.strftime("%H:%M"))
            if complete
            else None
        ),
        "film_key": film.slug if film else None,
        "title": film.title if film else None,
        "cinema": showtime.cinema_name,
        "starts_at": warsaw_datetime(day, clock).isoformat() if day and clock else None,
        "payload": {
            "cinema_slug": showtime.cinema_slug,
            # Built from base_url: the site may live under a path prefix.
            "ticket_url": site.url(showtime.ticket_path) if showtime.ticket_path else None,
        },
    }


def check_page_date(page: ProgramPage, expected: date, *, url: str) -> None:
    """Raise ParseError when the program shows a date other than ``expected``."""
    wrong = sorted({d for d in page.dates if d != expected})
    if wrong:
        raise ParseError(
            f"program shows {', '.join(d.isoformat() for d in wrong)} instead of {expected.isoformat()}:"
            " the session's selected day was lost",
            url=url,
            selector="table.repert th.date",
        )


def day_page(site: SiteConfig, unit: dict[str, Any], scrape_date: date) -> StepResult:
    """The program of one day, fetched in a session of its own.

    The page must show the asked-for date: another date means the session's day selection was
    lost (the origin's shared-session bug), which would file showtimes under the wrong day.
    """
    expected = date.fromisoformat(unit["date"])
    with KinoKrakowClient(site) as client:
        session = client.open_session()
        session.set_day(unit["day"])
        text, url = session.program_page()
    page = parse_program(text, url=url, scrape_date=scrape_date)
    if page.empty_notice:
        return StepResult(
            counts={"films": 0, "showtimes": 0},
            data={"unit": unit},
            skip_reason=f"no screenings on {expected.isoformat()} (day {unit['day']}): the site says so",
        )
    check_page_date(page, expected, url=url)
    showtimes = [_showtime_dict(site, s) for s in page.showtimes]
    return StepResult(
        counts={"films": len(page.films), "showtimes": len(showtimes)},
        data={"unit": unit, "films": [_film_dict(f) for f in page.films], "showtimes": showtimes},
    )


def movie_details(site: SiteConfig, tmdb: TmdbConfig, film: dict[str, Any], scrape_date: date) -> StepResult:
    """Fetch the film's page (Polish + original title, year), match it on TMDB, and count its
    screenings on the page against the day pages' (``film["listed_showtimes"]``, see plan_films)."""
    with KinoKrakowClient(site) as client:
        text, url = client.movie_page(film["slug"])
    page = parse_movie_page(text, url=url, scrape_date=scrape_date)
    query = FilmQuery(polish_title=page.polish_title, original_title=page.original_title, year=page.year)
    with TmdbClient(tmdb) as tmdb_client:
        match = match_film(tmdb_client, query)
        details = matched_details(tmdb_client, match)
    log.info("film %s %r (%s): %s", film["film_key"], page.polish_title, page.year, match)
    result = film_match_result(
        external_id=f"kino_krakow_film_{film['film_key']}",
        film_key=film["film_key"],
        title=page.polish_title,
        match=match,
        details=details,
    )
    result.counts.update(cross_check(page.showtimes, film.get("listed_showtimes") or {}))
    return result


def cross_check(on_page: list[FilmPageShowtime], listed: dict[str, int]) -> dict[str, int]:
    """The film's showtimes on its own page and on the day pages, over the dates the day pages were
    read (``listed``: iso date -> count). They differ when a day page showed another day's programme
    or lost rows, which the day page alone cannot tell."""
    per_day = Counter(s.day.isoformat() for s in on_page if s.day is not None)
    return {
        "film_page_showtimes": sum(per_day[d] for d in listed),
        "listed_showtimes": sum(listed.values()),
        "days_disagreeing": sum(per_day[d] != n for d, n in listed.items()),
    }


def showtimes(
    unit_result: dict[str, Any], matches: dict[str, dict[str, Any]], sink: ShowtimeSink
) -> StepResult:
    """Store the showtimes of one day (``matches`` = collect_matches data["matches"])."""
    return store_showtimes(unit_result, matches, sink, source=SOURCE)
