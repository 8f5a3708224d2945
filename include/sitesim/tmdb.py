"""A TMDB-compatible ``/3/search/movie`` whose answers put each film in a chosen confidence band.

The confidence formula of docs/architecture.md is 0.40*title + 0.30*year + 0.15*popularity +
0.15*language. Each film's TMDB kind decides what the search returns, built so that the band holds
by construction, whatever the scraper assumes about the film's language (unknown, "en", "en-us"):

- ``match``: the film itself, exact titles, same year (or one year off), popularity >= 20:
  >= 0.40 + 0.24 + 0.09 + 0.075 = 0.805.
- ``split_match``: as ``match``, but TMDB only knows the English original, so only the original
  title split off a Cinema City "Original. Polish" name finds it.
- ``paged_match``: as ``match``, filed a year before the listing's year (a Polish release a year
  after the premiere: the year-filtered search finds nothing, the scraper asks without the year),
  behind ``NAMESAKES`` more popular older namesakes, so the film is on page 2 of every search. A
  namesake scores 0.40 + 0 + 0.15 + 0.075 = 0.625: page 1 alone is "needs review".
- ``needs_review``: an older film with exactly the same title: title 1.0, year >= 12 years off (0),
  popularity 50-99 (0.8), language neither the film's nor "en" (0.5): 0.40 + 0 + 0.12 + 0.075 = 0.595.
- ``low_confidence``: a "making of" with the title inside a title at least three times as long, so
  Jaro <= (1 + 1/3 + 1)/3 = 0.78; year far off, popularity < 5: <= 0.311 + 0.03 + 0.075 = 0.416.
- ``no_result``: nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sitesim.faults import FaultRule, Request
from sitesim.polish import search_key
from sitesim.responses import Response, json_error, json_response
from sitesim.titles import OTHER_LANGUAGES

if TYPE_CHECKING:
    from sitesim.generate import Film

#: Namesakes ahead of a ``paged_match`` film: more than a page of them.
NAMESAKES = 22

#: Separators of Cinema City's "Original. Polish" names, in the order a scraper tries them.
SEPARATORS: tuple[str, ...] = (". ", ": ", " - ", " – ", " — ")

INVALID_KEY = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}


def split_original(name: str) -> str | None:
    """The original title before the first separator (first separator kind that occurs wins)."""
    for sep in SEPARATORS:
        if sep in name:
            return name.split(sep, 1)[0].strip() or None
    return None


@dataclass(frozen=True)
class TmdbMovie:
    id: int
    title: str  # the default (en-US) title
    title_pl: str | None  # the Polish translation, when TMDB has one
    original_title: str
    release_date: str
    popularity: float
    original_language: str
    runtime: int = 0

    def as_details(self, language: str) -> dict[str, Any]:
        """``/3/movie/{id}``: the search fields plus runtime, IMDb id and genres."""
        return {
            **self.as_result(language),
            "runtime": self.runtime or None,
            "imdb_id": f"tt{9_000_000 + self.id}",
            "genres": [],
        }

    def as_result(self, language: str) -> dict[str, Any]:
        title = self.title_pl if language.lower().startswith("pl") and self.title_pl else self.title
        return {
            "adult": False,
            "id": self.id,
            "title": title,
            "original_title": self.original_title,
            "original_language": self.original_language,
            "overview": "",
            "release_date": self.release_date,
            "popularity": self.popularity,
            "genre_ids": [],
        }


@dataclass(frozen=True)
class TmdbCatalog:
    index: Mapping[str, tuple[TmdbMovie, ...]]  # search_key(title) -> movies

    def movie(self, movie_id: int) -> TmdbMovie | None:
        return next((m for movies in self.index.values() for m in movies if m.id == movie_id), None)

    def search(self, query: str) -> list[TmdbMovie]:
        """Exact title lookup (case, accents and punctuation ignored), most popular first.

        TMDB itself also returns partial matches; here only crafted candidates come back, so a
        film's confidence band cannot be spoilt by an accidental neighbour."""
        return sorted(self.index.get(search_key(query), ()), key=lambda m: (-m.popularity, m.id))


def build_tmdb(films: Sequence[Film], seed: int) -> TmdbCatalog:
    index: dict[str, list[TmdbMovie]] = {}
    owner: dict[str, Film] = {}
    for film in films:
        rng = random.Random(f"{seed}:tmdb:{film.index}")
        movies, titles = _answers(film, rng)
        for title in titles:
            key = search_key(title)
            if key in owner and owner[key] is not film:
                raise ValueError(
                    f"films {owner[key].title_pl!r} and {film.title_pl!r} share the search title {title!r};"
                    " TMDB answers would mix"
                )
            owner[key] = film
            index.setdefault(key, []).extend(m for m in movies if m not in index.get(key, []))
    return TmdbCatalog({key: tuple(movies) for key, movies in index.items()})


def query_titles(film: Film) -> tuple[str, ...]:
    """Every title a scraper may search for this film (Cinema City and Kino Krakow forms)."""
    split = split_original(film.cc_name) if film.language == "en" else None
    return tuple(dict.fromkeys(t for t in (film.title_original, film.title_pl, film.cc_name, split) if t))


def _answers(film: Film, rng: random.Random) -> tuple[list[TmdbMovie], tuple[str, ...]]:
    """The movies TMDB holds for this film and the titles under which search finds them."""
    movie_id = 100000 + 10 * film.index
    other_language = rng.choice([lang for lang in OTHER_LANGUAGES if lang != film.language])
    kind = film.tmdb
    if kind == "no_result":
        return [], ()
    if kind == "split_match":
        movie = TmdbMovie(
            id=movie_id,
            title=film.title_original,
            title_pl=None,
            original_title=film.title_original,
            release_date=_date(rng, film.year),
            popularity=round(rng.uniform(20, 300), 3),
            original_language=film.language,
            runtime=film.runtime,
        )
        return [movie], (film.title_original,)
    own_titles = (film.title_original, film.title_pl, film.cc_name)
    if kind == "match":
        movie = TmdbMovie(
            id=movie_id,
            title=film.title_original,
            title_pl=film.title_pl,
            original_title=film.title_original,
            release_date=_date(rng, film.year - 1 if rng.random() < 0.2 else film.year),
            popularity=round(rng.uniform(20, 400), 3),
            original_language=film.language,
            runtime=film.runtime,
        )
        return [movie], own_titles
    if kind == "paged_match":
        movie = TmdbMovie(
            id=movie_id,
            title=film.title_original,
            title_pl=film.title_pl,
            original_title=film.title_original,
            release_date=_date(rng, film.year - 1),
            popularity=round(rng.uniform(20, 90), 3),
            original_language=film.language,
            runtime=film.runtime,
        )
        return [movie, *_namesakes(film, rng, other_language)], own_titles
    if kind == "needs_review":
        movie = TmdbMovie(
            id=movie_id + 1,
            title=film.title_original,
            title_pl=film.title_pl,
            original_title=film.title_original,
            release_date=_date(rng, film.year - rng.randint(12, 45)),
            popularity=round(rng.uniform(50, 99), 3),
            original_language=other_language,
        )
        return [movie], own_titles
    long_title = _making_of(film)
    movie = TmdbMovie(
        id=movie_id + 2,
        title=long_title,
        title_pl=long_title,
        original_title=long_title,
        release_date=_date(rng, film.year - rng.randint(5, 30)),
        popularity=round(rng.uniform(0.5, 4.9), 3),
        original_language=other_language,
    )
    return [movie], own_titles


def _namesakes(film: Film, rng: random.Random, language: str) -> list[TmdbMovie]:
    """Older films of the same title, each more popular (>= 100) than the film, in another language."""
    return [
        TmdbMovie(
            id=5_000_000 + 100 * film.index + n,
            title=film.title_original,
            title_pl=None,
            original_title=film.title_original,
            release_date=_date(rng, film.year - rng.randint(12, 60)),
            popularity=round(rng.uniform(100, 500), 3),
            original_language=language,
        )
        for n in range(NAMESAKES)
    ]


def _making_of(film: Film) -> str:
    longest = max(len(t) for t in query_titles(film))
    text = f"Za kulisami: {film.title_pl}. Rozmowy z twórcami i materiały z planu zdjęciowego"
    while len(text) < 3 * longest:
        text += ", sceny niewykorzystane"
    return text


def _date(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


#: Results per search page, as TMDB.
PAGE_SIZE = 20


class TmdbApi:
    """The ``/tmdb`` site: ``GET /3/search/movie?api_key=&query=[&year=][&language=][&page=]`` and
    ``GET /3/movie/{id}?api_key=``.

    ``year`` filters as TMDB's does (only films released that year), so a film whose TMDB year is one
    off, or the older namesake of a ``needs_review`` film, is found only by a scraper that asks again
    without it. Answers are paged by 20."""

    site = "tmdb"

    def __init__(self, catalog: TmdbCatalog, api_key: str) -> None:
        self.catalog = catalog
        self.api_key = api_key

    def classify(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Request:
        endpoint = None
        if method == "GET" and path == "/3/search/movie":
            endpoint = "search"
        elif method == "GET" and re.fullmatch(r"/3/movie/\d+", path):
            endpoint = "movie"
        return Request(self.site, method, path, endpoint, query=query)

    def error(self, status: int) -> Response:
        return json_error(status)

    def respond(self, req: Request, headers: Mapping[str, str], fault: FaultRule | None) -> Response:
        if req.endpoint is None:
            return json_error(404)
        if req.query.get("api_key") != self.api_key:
            return json_response(INVALID_KEY, 401)
        language = req.query.get("language", "en-US")
        if req.endpoint == "movie":
            movie = self.catalog.movie(int(req.path.rsplit("/", 1)[1]))
            if movie is None:
                return json_response(
                    {"status_code": 34, "status_message": "not found", "success": False}, 404
                )
            return json_response(movie.as_details(language))
        found = self.catalog.search(req.query.get("query", ""))
        year = req.query.get("year", "")
        if year.isdigit():
            found = [m for m in found if m.release_date.startswith(f"{int(year):04d}-")]
        page = int(req.query["page"]) if req.query.get("page", "").isdigit() else 1
        pages = max(1, -(-len(found) // PAGE_SIZE))
        results = [m.as_result(language) for m in found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
        return json_response(
            {"page": page, "results": results, "total_pages": pages, "total_results": len(found)},
        )
