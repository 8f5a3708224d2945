"""Cinema City quickbook data API (three GET endpoints under one tenant)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from scrapers.cinema_city.parser import Cinema, FilmEvents, parse_cinemas, parse_dates, parse_film_events
from scrapers.http import HttpClient, SiteConfig


@dataclass(frozen=True)
class CinemaCitySite:
    """Connection ``cinema_city_api``: the site base URL plus the tenant id from its extra."""

    http: SiteConfig
    tenant: str = "10103"

    @property
    def api_path(self) -> str:
        return f"/pl/data-api-service/v1/quickbook/{self.tenant}"


@dataclass
class CinemaCityClient:
    site: CinemaCitySite
    sleep: Callable[[float], None] = time.sleep
    _http: HttpClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = HttpClient(self.site.http, sleep=self.sleep)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CinemaCityClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str) -> tuple[object, str]:
        full = self.site.api_path + path
        return self._http.get_json(full), self.site.http.url(full)

    def cinemas_until(self, until: date, *, city_name: str | None = None) -> list[Cinema]:
        payload, url = self._get(f"/cinemas/with-event/until/{until.isoformat()}")
        return parse_cinemas(payload, url=url, city_name=city_name)

    def dates_in_cinema(self, cinema_id: str, until: date) -> list[str]:
        payload, url = self._get(f"/dates/in-cinema/{quote(cinema_id, safe='')}/until/{until.isoformat()}")
        return parse_dates(payload, url=url)

    def film_events(self, cinema_id: str, day: date) -> FilmEvents:
        payload, url = self._get(
            f"/film-events/in-cinema/{quote(cinema_id, safe='')}/at-date/{day.isoformat()}"
        )
        return parse_film_events(payload, url=url)
