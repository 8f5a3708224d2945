"""The Kino Krakow site: a Rails-like HTML site with a server-side session and CSRF protection.

The selected day lives in the session (``POST /settings/set_day/{n}``), exactly the property that
made the origin system's shared-session design lose days: two day tasks sharing one session
overwrite each other's choice. Sessions here are server-side, so that race is real, and the
cookie keeps its value across ``set_day`` (a scraper may still take the refreshed cookie).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any

from sitesim.faults import CELL_KINDS, FaultRule, Request, damaged
from sitesim.generate import Catalog, Film, FilmDay, KkCity
from sitesim.polish import polish_date, slugify
from sitesim.responses import Response, html_error, html_response
from sitesim.spec import CITY_SLUG_PATTERN, DEFAULT_CITY, KinoKrakowCinema
from sitesim.titles import GENRES

COOKIE = "_kinokrakow_session"
PROGRAM = "/cinema_program/by_movie"
DAYS = 7  # the site offers today + 0..6
NOTICE = '<p class="notice">Brak seansów w wybranym dniu.</p>'

_SET_DAY = re.compile(r"/settings/set_day/(\d+)")
_FILM = re.compile(r"/film/([^/]+)\.html")
_CITY = re.compile(rf"/cities/(?P<city>{CITY_SLUG_PATTERN})(?P<rest>/.*)?")
_UUID = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class _Session:
    token: str
    day: int | None = None  # None until the session selects a day (the page then shows day 0)


def city_path(city: str) -> str:
    """Where a city's site lives under the simulator's Kino Krakow prefix: Kraków at the root (as
    before cities existed), the others under /cities/{slug}."""
    return "" if city == DEFAULT_CITY else f"/cities/{city}"


def connection_extras(base_url: str) -> dict[str, Any]:
    """The ``kino_krakow_site`` extras that place every simulated city under ``base_url`` (the
    connection host): the same two keys a production connection sets for the real family."""
    return {"city_urls": {DEFAULT_CITY: base_url}, "city_url_template": f"{base_url}/cities/{{city}}"}


class _City:
    """One site of the family: its programme, its film pages and its own sessions."""

    def __init__(self, data: KkCity, seed: int) -> None:
        self.data = data
        self.films = {f.slug: f for f in data.films}
        self.sessions: dict[str, _Session] = {}
        self.created = 0
        # Kraków keeps the session ids it had; another city's cookie is never valid here.
        self.key = str(seed) if data.spec.slug == DEFAULT_CITY else f"{seed}:{data.spec.slug}"


class KinoKrakowSite:
    site = "kino_krakow"

    def __init__(self, catalog: Catalog, anchor: date, seed: int) -> None:
        self.catalog = catalog
        self.anchor = anchor
        self.cities = {slug: _City(data, seed) for slug, data in catalog.kk_cities.items()}
        self._lock = threading.Lock()

    def _split(self, path: str) -> tuple[_City | None, str]:
        """The city a path is about and the path within that city's site."""
        match = _CITY.fullmatch(path)
        if match:
            return self.cities.get(match["city"]), match["rest"] or "/"
        return self.cities.get(DEFAULT_CITY), path

    def classify(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Request:
        """Name the endpoint, and the day the request is about: set_day's argument, or for the
        programme page the day its session has selected (None for a session that never chose).
        ``path`` stays whole (``/cities/warszawa/...``), so fault rules can tell cities apart."""
        city, inner = self._split(path)
        if city is None:
            return Request(self.site, method, path, None, query=query)
        if method == "GET" and inner == PROGRAM:
            session = self._session(city, _cookie(headers.get("cookie", "")))
            return Request(self.site, method, path, "program", session.day if session else None, query)
        set_day = _SET_DAY.fullmatch(inner)
        if method == "POST" and set_day and int(set_day[1]) < DAYS:
            return Request(self.site, method, path, "set_day", int(set_day[1]), query)
        if method == "GET" and _FILM.fullmatch(inner):
            return Request(self.site, method, path, "film", query=query)
        return Request(self.site, method, path, None, query=query)

    def error(self, status: int) -> Response:
        return html_error(status)

    def respond(self, req: Request, headers: Mapping[str, str], fault: FaultRule | None) -> Response:
        kind = fault.kind if fault else None
        cookie = _cookie(headers.get("cookie", ""))
        city, inner = self._split(req.path)
        if city is None or req.endpoint is None:
            return html_error(404)
        if req.endpoint == "program":
            session_id, session = self._session_or_new(city, cookie)
            page = self._program_page(city, req.day or 0, session.token, fault)
            return _with_session(html_response(page), session_id)
        if req.endpoint == "set_day":
            session = self._session(city, cookie)
            token = headers.get("x-csrf-token", "")
            if session is None or token != session.token or kind == "csrf_rejected":
                return html_response(_REJECTED, 422)
            if kind != "day_not_switched":  # that fault answers as usual and keeps the old day
                with self._lock:
                    session.day = req.day
            # The real site answers the data-method="post" link with a redirect back to the
            # programme, the (re-issued) session cookie on the redirect itself.
            location = city_path(city.data.spec.slug) + PROGRAM
            response = Response(302, b"", "text/html; charset=utf-8", [("Location", location)])
            return _with_session(response, cookie)
        match = _FILM.fullmatch(inner)
        film = city.films.get(_UUID.sub("", match[1])) if match else None
        if film is None:
            return html_error(404)
        return html_response(_film_page(film, self.anchor, self._film_days(city, film)))

    # --- sessions -----------------------------------------------------------------------------

    def _session(self, city: _City, cookie: str | None) -> _Session | None:
        with self._lock:
            return city.sessions.get(cookie or "")

    def _session_or_new(self, city: _City, cookie: str | None) -> tuple[str, _Session]:
        """The caller's session, or a new one. Ids and tokens are derived from the seed and a
        counter, so the same sequence of requests gets byte-identical pages."""
        with self._lock:
            if cookie and cookie in city.sessions:
                return cookie, city.sessions[cookie]
            city.created += 1
            session_id = hashlib.sha256(f"{city.key}:session:{city.created}".encode()).hexdigest()[:32]
            digest = hashlib.sha256(f"{city.key}:csrf:{city.created}".encode()).digest()
            session = _Session(token=base64.b64encode(digest).decode())
            city.sessions[session_id] = session
            return session_id, session

    # --- pages --------------------------------------------------------------------------------

    def _film_days(self, city: _City, film: Film) -> list[tuple[date, FilmDay]]:
        """The film's screenings straight from the catalog: the film page is a second, independent
        view of the programme, so a fault that damages a day page leaves it as it is."""
        return [
            (self.anchor + timedelta(days=day), fd)
            for day, film_days in sorted(city.data.programme.items())
            for fd in film_days
            if fd.film == film
        ]

    def _program_page(self, city: _City, day: int, token: str, fault: FaultRule | None) -> str:
        kind = fault.kind if fault else None
        the_date = self.anchor + timedelta(days=day)
        films = city.data.programme.get(day, ())
        if kind == "selector_removed":
            body = _redesigned(films, the_date)
        elif kind == "empty":
            body = '<table class="repert"><tbody></tbody></table>'
        elif films:
            body = _table(films, the_date, fault if kind in CELL_KINDS else None)
        else:
            body = NOTICE
        # The real day selector: one cell per day, a Rails data-method="post" link to set_day.
        nav = "".join(
            f'<td class="{"active" if d == day else "day"}"><a data-method="post" rel="nofollow" '
            f'href="/settings/set_day/{d}">{escape(polish_date(self.anchor + timedelta(days=d)))}</a></td>'
            for d in range(DAYS)
        )
        upcoming = "".join(
            f'<li><a class="preview-link film" href="/film/{escape(f.link_slug)}.html">'
            f"{escape(f.title_pl)}</a></li>"
            for f in city.data.without_showtimes
        )
        csrf = "" if kind == "csrf_missing" else f'<meta name="csrf-token" content="{escape(token)}">\n'
        title = (
            "Repertuar kin w Krakowie według filmów - Kino Kraków"
            if city.data.spec.slug == DEFAULT_CITY
            else f"Repertuar kin według filmów - {escape(city.data.spec.name)} - Repertuary.pl"
        )
        return (
            '<!DOCTYPE html>\n<html lang="pl">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n"
            f'<meta name="csrf-param" content="authenticity_token">\n{csrf}</head>\n<body>\n'
            '<div id="content">\n<h1>Repertuar według filmów</h1>\n'
            f'<table class="calendar"><tr>{nav}</tr></table>\n{body}\n'
            f'<div class="coming-soon">\n<h2>Zapowiedzi</h2>\n<ul>{upcoming}</ul>\n</div>\n'
            "</div>\n</body>\n</html>\n"
        )


def _date_row(the_date: date) -> str:
    return f'<tr><th class="date" colspan="2">{escape(polish_date(the_date))}</th></tr>'


def _cinema_cell(cinema: KinoKrakowCinema) -> str:
    return f'<td class="cinema_film"><a href="/{escape(cinema.slug)}">{escape(cinema.name)}</a></td>'


def _table(films: tuple[FilmDay, ...], the_date: date, damage: FaultRule | None = None) -> str:
    """The programme table; ``damage`` (a cell fault) drops or garbles one cell: the first film's
    title or its first showtime's time."""
    field = damage.field if damage else None
    rows = [_date_row(the_date)]
    for n, fd in enumerate(films):
        title = escape(fd.film.title_pl)
        if n == 0 and damage is not None and field == "film_title":
            title = damaged(title, damage.kind)
        rows.append(
            '<tr class="film"><td colspan="2">'
            f'<a class="preview-link film" href="/film/{escape(fd.film.link_slug)}.html">'
            f"{title}</a></td></tr>"
        )
        for m, s in enumerate(fd.screenings):
            slug = escape(s.cinema.slug)
            times = list(s.times)
            if n == m == 0 and damage is not None and field == "showtime_time":
                times[0] = (damaged(times[0][0], damage.kind), times[0][1])
            hours = " ".join(
                f'<span class="hour"><a href="/{slug}/by_cinema/{the_date.isoformat()}">{time}</a> '
                f'<a class="buy_ticket" href="/showtime/{showtime_id}">bilety</a></span>'
                for time, showtime_id in times
            )
            rows.append(f'<tr>{_cinema_cell(s.cinema)}<td class="hours">{hours}</td></tr>')
    return '<table class="repert">\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table>"


def _redesigned(films: tuple[FilmDay, ...], the_date: date) -> str:
    """The same programme in a new layout: no ``table.repert`` and no notice (a changed site)."""
    items = "".join(
        f'<article class="movie"><h3><a href="/film/{escape(fd.film.link_slug)}.html">'
        f"{escape(fd.film.title_pl)}</a></h3><p>{fd.showtimes} seansów</p></article>"
        for fd in films
    )
    return f'<section class="program-v2"><h2>{escape(polish_date(the_date))}</h2>{items}</section>'


def _production(film: Film, anchor: date) -> str:
    """A current release has no year under "Produkcja:" on the real site, only a "Premiera:" date."""
    if film.year < anchor.year:
        return f"<p><strong>Produkcja:</strong> {escape(film.country)}, {film.year}</p>\n"
    premiere = max(date(film.year, 1, 1), anchor - timedelta(days=7 + film.index % 30))
    day_month = polish_date(premiere).split(", ", 1)[1]  # "28 listopada"
    return (
        f"<p><strong>Produkcja:</strong> {escape(film.country)}</p>\n"
        f"<p><strong>Premiera:</strong> {day_month} {premiere.year}</p>\n"
    )


def _film_showtimes(days: list[tuple[date, FilmDay]]) -> str:
    """The film page's own showtime table: date rows, cinema rows, and per screening a
    ``span.hour`` whose first line is the time and whose ticket link carries the showtime id."""
    if not days:
        return ""
    rows = []
    for the_date, fd in days:
        rows.append(_date_row(the_date))
        for s in fd.screenings:
            hours = " ".join(
                f'<span class="hour">{time}\n<a class="buy_ticket" data-showtime-id="{showtime_id}" '
                f'href="/showtime/{showtime_id}">kup bilet</a></span>'
                for time, showtime_id in s.times
            )
            rows.append(f'<tr>{_cinema_cell(s.cinema)}<td class="showtime">{hours}</td></tr>')
    table = '<table class="repert">\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table>\n"
    return f"<h2>Repertuar</h2>\n{table}"


def _film_page(film: Film, anchor: date, days: list[tuple[date, FilmDay]]) -> str:
    genres = " / ".join(
        f'<a href="/gatunek/{slugify(GENRES.get(g, g))}">{escape(GENRES.get(g, g))}</a>' for g in film.genres
    )
    return (
        '<!DOCTYPE html>\n<html lang="pl">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{escape(film.title_pl)} - Kino Kraków</title>\n</head>\n<body>\n<div id="content">\n'
        f'<h1>{escape(film.title_pl)}</h1>\n<div class="film-info">\n'
        f"<p><strong>Tytuł oryginalny:</strong> {escape(film.title_original)}</p>\n"
        f'<p><strong>Reżyseria:</strong> <a href="/osoba/{slugify(film.director)}">'
        f"{escape(film.director)}</a></p>\n"
        f"{_production(film, anchor)}"
        f"<p><strong>Czas trwania:</strong> {film.runtime} min.</p>\n"
        f"<p><strong>Gatunek:</strong> {genres}</p>\n"
        f"</div>\n{_film_showtimes(days)}</div>\n</body>\n</html>\n"
    )


_REJECTED = (
    "<!DOCTYPE html><html><head><title>The change you wanted was rejected (422)</title></head>"
    "<body><h1>The change you wanted was rejected.</h1>"
    "<p>Maybe you tried to change something you didn't have access to.</p></body></html>"
)


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def _with_session(response: Response, session_id: str | None) -> Response:
    response.session = session_id
    if session_id:
        response.headers.append(("Set-Cookie", f"{COOKIE}={session_id}; path=/; HttpOnly; SameSite=Lax"))
    return response
