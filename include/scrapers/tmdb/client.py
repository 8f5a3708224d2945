"""TMDB-compatible movie search (``GET /3/search/movie``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from scrapers.errors import HttpStatusError, TmdbAuthError, UnexpectedShape
from scrapers.http import HttpClient, SiteConfig


@dataclass(frozen=True)
class TmdbConfig:
    """Connection ``tmdb_api``. ``site`` tunes the HTTP client; its base_url is ignored."""

    base_url: str
    #: Kept out of repr so a logged config never shows it.
    api_key: str = field(repr=False)
    site: SiteConfig | None = None

    def site_config(self) -> SiteConfig:
        if self.site is None:
            # TMDB allows dozens of requests per second; a short pause is courtesy enough.
            return SiteConfig(base_url=self.base_url, polite_delay_s=0.25)
        return replace(self.site, base_url=self.base_url)


@dataclass(frozen=True)
class TmdbMovie:
    """One search result."""

    id: int
    title: str
    original_title: str
    release_year: int | None
    popularity: float
    original_language: str | None


class TmdbClient:
    def __init__(self, config: TmdbConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._http = HttpClient(config.site_config(), sleep=sleep)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TmdbClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search_movie(
        self, query: str, year: int | None = None, language: str | None = None
    ) -> list[TmdbMovie]:
        params: dict[str, Any] = {"api_key": self.config.api_key, "query": query}
        if year is not None:
            params["year"] = year
        if language:
            params["language"] = language
        try:
            payload = self._http.get_json("/3/search/movie", params=params)
        except HttpStatusError as exc:
            if exc.status == 401:
                raise TmdbAuthError(
                    "TMDB rejected the API key (401): check the tmdb_api connection's password",
                    url=exc.url,
                ) from None
            raise
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise UnexpectedShape(
                "TMDB search answer has no 'results' list",
                url=self._http.config.url("/3/search/movie"),
                field="results",
            )
        return [movie for movie in (_movie(raw) for raw in results) if movie is not None]


def _movie(raw: Any) -> TmdbMovie | None:
    """A result we can score, or None for entries without an id (not worth failing the search)."""
    if not isinstance(raw, dict):
        return None
    try:
        movie_id = int(raw["id"])
    except (KeyError, TypeError, ValueError):
        return None
    title = str(raw.get("title") or "")
    release = str(raw.get("release_date") or "")
    year = int(release[:4]) if release[:4].isdigit() else None
    try:
        popularity = float(raw.get("popularity") or 0.0)
    except (TypeError, ValueError):
        popularity = 0.0
    return TmdbMovie(
        id=movie_id,
        title=title,
        original_title=str(raw.get("original_title") or title),
        release_year=year,
        popularity=popularity,
        original_language=raw.get("original_language") or None,
    )
