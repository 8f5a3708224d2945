"""The Cinema City JSON API (``/cinema-city/pl/data-api-service/v1/quickbook/{tenant}/...``).

Shapes follow origin-system 1.3: an ``{"body": {...}}`` envelope, string ids, naive local
``eventDateTime``. A cinema-day without screenings is missing from ``dates/in-cinema`` and answers
empty lists (legitimately empty); the ``empty`` fault makes a *listed* day answer empty lists too,
which is the silent failure a monitor has to catch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sitesim.faults import CELL_KINDS, FaultRule, Request, damaged
from sitesim.generate import Catalog, CcEvent, Film, cc_film_attributes
from sitesim.polish import slugify
from sitesim.responses import Response, json_error, json_response
from sitesim.spec import CinemaCitySpec

API = "/pl/data-api-service/v1/quickbook"
#: Links in the data point to a reserved, never-resolving domain: they are data, not targets.
LINK_BASE = "https://cinema-city.sitesim.invalid"

_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cinemas", re.compile(rf"{API}/(?P<tenant>[^/]+)/cinemas/with-event/until/(?P<date>[^/]+)")),
    (
        "dates",
        re.compile(rf"{API}/(?P<tenant>[^/]+)/dates/in-cinema/(?P<cinema>[^/]+)/until/(?P<date>[^/]+)"),
    ),
    (
        "film_events",
        re.compile(
            rf"{API}/(?P<tenant>[^/]+)/film-events/in-cinema/(?P<cinema>[^/]+)/at-date/(?P<date>[^/]+)"
        ),
    ),
)


def cinemas_path(tenant: str, until: date) -> str:
    return f"{API}/{tenant}/cinemas/with-event/until/{until.isoformat()}"


def dates_path(tenant: str, cinema_id: str, until: date) -> str:
    return f"{API}/{tenant}/dates/in-cinema/{cinema_id}/until/{until.isoformat()}"


def film_events_path(tenant: str, cinema_id: str, day: date) -> str:
    return f"{API}/{tenant}/film-events/in-cinema/{cinema_id}/at-date/{day.isoformat()}"


def listed_days(catalog: Catalog, cinema_id: str, last_day: int) -> list[int]:
    """Day offsets ``dates/in-cinema`` lists for a cinema, up to and including ``last_day``."""
    return sorted(day for (cid, day) in catalog.cinema_days if cid == cinema_id and day <= last_day)


class CinemaCityApi:
    site = "cinema_city"

    def __init__(self, spec: CinemaCitySpec, catalog: Catalog, anchor: date) -> None:
        self.spec = spec
        self.catalog = catalog
        self.anchor = anchor

    def classify(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Request:
        endpoint = None
        if method == "GET":
            endpoint = next((name for name, pattern in _ROUTES if pattern.fullmatch(path)), None)
        return Request(self.site, method, path, endpoint, query=query)

    def error(self, status: int) -> Response:
        return json_error(status)

    def respond(self, req: Request, headers: Mapping[str, str], fault: FaultRule | None) -> Response:
        if req.endpoint is None:
            return json_error(404)
        match = next(p for name, p in _ROUTES if name == req.endpoint).fullmatch(req.path)
        assert match is not None  # classify() already matched this route
        if match["tenant"] != self.spec.tenant:
            return json_error(404)
        try:
            day = date.fromisoformat(match["date"])
        except ValueError:
            return json_error(400)
        empty = fault is not None and fault.kind == "empty"
        offset = (day - self.anchor).days
        if req.endpoint == "cinemas":
            cinemas = (
                [] if empty else [self._cinema(c.id) for c in self.spec.cinemas if self._days(c.id, offset)]
            )
            return json_response({"body": {"cinemas": cinemas}})
        if req.endpoint == "dates":
            dates = [] if empty else [self._date(d) for d in self._days(match["cinema"], offset)]
            return json_response({"body": {"dates": dates}})
        cinema_day = None if empty else self.catalog.cinema_days.get((match["cinema"], offset))
        if cinema_day is None:
            return json_response({"body": {"films": [], "events": []}})
        films = [self._film(f) for f in cinema_day.films]
        events = [self._event(e, cinema_day.cinema_id, day) for e in cinema_day.events]
        if fault is not None and fault.kind in CELL_KINDS:
            _damage(films, events, fault)
        return json_response({"body": {"films": films, "events": events}})

    def _days(self, cinema_id: str, last_day: int) -> list[int]:
        return listed_days(self.catalog, cinema_id, last_day)

    def _date(self, offset: int) -> str:
        return (self.anchor + timedelta(days=offset)).isoformat()

    def _cinema(self, cinema_id: str) -> dict[str, Any]:
        c = next(c for c in self.spec.cinemas if c.id == cinema_id)
        return {
            "id": c.id,
            "groupId": slugify(c.city),  # a city slug in real answers, not the tenant
            "displayName": c.name,
            "link": f"{LINK_BASE}/kina/{slugify(c.name)}/{c.id}",
            "imageUrl": f"{LINK_BASE}/media/cinemas/{c.id}.jpg",
            "latitude": c.latitude,
            "longitude": c.longitude,
            "addressInfo": {
                "address1": c.address,
                "address2": None,
                "address3": None,
                "address4": None,
                "city": c.city,
                "state": None,
                "postalCode": c.postal_code,
            },
            "blockOnlineSales": False,
        }

    @staticmethod
    def _film(film: Film) -> dict[str, Any]:
        return {
            "id": film.cc_id,
            "name": film.cc_name,
            "length": film.runtime,
            "posterLink": f"{LINK_BASE}/media/posters/{film.cc_id}.jpg",
            "videoLink": f"{LINK_BASE}/media/trailers/{film.cc_id}.mp4",
            "link": f"{LINK_BASE}/filmy/{slugify(film.cc_name)}/{film.cc_id}",
            # Current Polish releases have no releaseYear, only the release date.
            "releaseYear": None if film.language == "pl" and film.index % 2 else str(film.year),
            "releaseDate": f"{film.year}-01-01T00:00:00",
            "attributeIds": cc_film_attributes(film),
        }

    @staticmethod
    def _event(event: CcEvent, cinema_id: str, day: date) -> dict[str, Any]:
        calendar_day = day + timedelta(days=1) if event.after_midnight else day
        return {
            "id": event.id,
            "filmId": event.film_id,
            "cinemaId": cinema_id,
            "businessDay": day.isoformat(),
            "eventDateTime": f"{calendar_day.isoformat()}T{event.time}:00",
            "attributeIds": list(event.attributes),
            "bookingLink": f"{LINK_BASE}/rezerwacja/{cinema_id}/{event.id}",
            "soldOut": event.sold_out,
            "availabilityRatio": event.availability,
            "auditorium": event.auditorium,
            "auditoriumTinyName": event.auditorium.removeprefix("Sala "),
        }


#: Where each cell lives: (list, key) of the film-events answer.
_CELLS = {"showtime_time": ("events", "eventDateTime"), "film_title": ("films", "name"),
          "event_attributes": ("events", "attributeIds")}  # fmt: skip


def _damage(films: list[dict[str, Any]], events: list[dict[str, Any]], fault: FaultRule) -> None:
    """Drop or garble one cell of the first row: the key is gone, or its value unreadable (a list
    of attributes becomes one garbled string)."""
    rows, key = _CELLS[fault.field or ""]
    row = (films if rows == "films" else events)[0]
    if fault.kind == "drop_field":
        del row[key]
    else:
        row[key] = damaged(str(row[key]), fault.kind)
