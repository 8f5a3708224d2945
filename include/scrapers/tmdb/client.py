"""TMDB-compatible movie search (``GET /3/search/movie``)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from scrapers.errors import HttpStatusError, TmdbAuthError, UnexpectedShape
from scrapers.http import HttpClient, SiteConfig
from scrapers.text import valid_unicode

#: TMDB ids are positive; the store keeps a matched film's id in a bigint column.
MAX_MOVIE_ID = 2**63 - 1


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


@dataclass(frozen=True)
class SearchPage:
    results: list[TmdbMovie]
    total_pages: int


@dataclass(frozen=True)
class MovieDetails:
    """``/3/movie/{id}``: what a match adds to a listing (runtime, IMDb id, genres)."""

    id: int
    runtime: int | None
    imdb_id: str | None
    genres: tuple[str, ...]


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

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            return self._http.get_json(path, params={"api_key": self.config.api_key, **params})
        except HttpStatusError as exc:
            if exc.status == 401:
                raise TmdbAuthError(
                    "TMDB rejected the API key (401): check the tmdb_api connection's password",
                    url=exc.url,
                ) from None
            raise

    def search_page(
        self, query: str, year: int | None = None, language: str | None = None, page: int = 1
    ) -> SearchPage:
        """One page (20 results) of ``/3/search/movie``. TMDB honours ``year``: only films released
        that year come back."""
        params: dict[str, Any] = {"query": query}
        if year is not None:
            params["year"] = year
        if language:
            params["language"] = language
        if page > 1:
            params["page"] = page
        payload = self._get("/3/search/movie", params)
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise UnexpectedShape(
                "TMDB search answer has no 'results' list",
                url=self._http.config.url("/3/search/movie"),
                field="results",
            )
        total = payload.get("total_pages")
        return SearchPage(
            results=[movie for movie in (_movie(raw) for raw in results) if movie is not None],
            total_pages=total if isinstance(total, int) and total > 0 else 1,
        )

    def search_movie(
        self, query: str, year: int | None = None, language: str | None = None
    ) -> list[TmdbMovie]:
        return self.search_page(query, year, language).results

    def movie_details(self, movie_id: int) -> MovieDetails:
        """``/3/movie/{id}``: runtime, IMDb id and genres of a matched film."""
        payload = self._get(f"/3/movie/{int(movie_id)}", {})
        if not isinstance(payload, dict):
            raise UnexpectedShape(
                "TMDB movie answer is not an object", url=self._http.config.url(f"/3/movie/{movie_id}")
            )
        runtime = payload.get("runtime")
        genres = payload.get("genres") if isinstance(payload.get("genres"), list) else []
        return MovieDetails(
            id=int(movie_id),
            runtime=runtime if isinstance(runtime, int) and runtime > 0 else None,
            imdb_id=valid_unicode(str(payload["imdb_id"])) if payload.get("imdb_id") else None,
            genres=tuple(
                valid_unicode(str(g.get("name"))) for g in genres if isinstance(g, dict) and g.get("name")
            ),
        )


def _movie(raw: Any) -> TmdbMovie | None:
    """A result we can score, or None for entries without an id (not worth failing the search)."""
    if not isinstance(raw, dict):
        return None
    try:
        movie_id = int(raw["id"])
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: 1e999 decodes to infinity
        return None
    if not 0 < movie_id <= MAX_MOVIE_ID:
        return None
    title = valid_unicode(str(raw.get("title") or ""))
    release = str(raw.get("release_date") or "")
    # Only ASCII digits: "²⁰²⁵".isdigit() is True, and int() refuses it.
    year = int(release[:4]) if re.fullmatch(r"[0-9]{4}", release[:4]) else None
    try:
        popularity = float(raw.get("popularity") or 0.0)
    except (TypeError, ValueError):
        popularity = 0.0
    language = raw.get("original_language")
    return TmdbMovie(
        id=movie_id,
        title=title,
        original_title=valid_unicode(str(raw.get("original_title") or title)),
        release_year=year,
        popularity=popularity if math.isfinite(popularity) else 0.0,
        # The language score lower-cases it: a number or a list there is no language.
        original_language=language if isinstance(language, str) and language else None,
    )
