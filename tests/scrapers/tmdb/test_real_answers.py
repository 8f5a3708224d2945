"""TMDB as the real API answers: paged results, a strict year filter, and movie details. A small
TMDB-compatible server on loopback holds hand-written answers in the real shapes."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers.tmdb.client import TmdbClient, TmdbConfig
from scrapers.tmdb.matching import FilmQuery, match_film, matched_details
from tests.fixtures.loopback import serve_handler
from tests.fixtures.scrapers import fast_config

KEY = "test-key"
# "Matka" is a common word: 25 older films with it in a longer title (none convincing: about 0.65), more
# popular than the film itself, fill page 1.
NAMESAKES = [
    {
        "id": 1000 + n,
        "title": f"Matka i syn, część {n}",
        "original_title": f"Matka i syn, część {n}",
        "release_date": f"{1960 + n}-03-01",
        "popularity": 90.0 - n,
        "original_language": "cs",
    }
    for n in range(25)
]
THE_FILM = {"id": 4242, "title": "Matka", "original_title": "Matka", "release_date": "2024-09-10",
            "popularity": 12.0, "original_language": "pl"}  # fmt: skip
DETAILS = {
    4242: {"id": 4242, "runtime": 104, "imdb_id": "tt1234567", "genres": [{"id": 18, "name": "Dramat"}]}
}


class _Tmdb(http.server.BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_GET(self) -> None:  # noqa: N802 - the handler API
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append({"path": url.path, **query})
        if query.get("api_key") != KEY:
            return self._send(401, {"status_code": 7})
        if url.path.startswith("/3/movie/"):
            return self._send(200, DETAILS[int(url.path.rsplit("/", 1)[1])])
        found = [*NAMESAKES, THE_FILM] if query.get("query") == "Matka" else []
        if "year" in query:  # TMDB's year filter is strict
            found = [m for m in found if m["release_date"].startswith(query["year"])]
        page = int(query.get("page", 1))
        answer = {
            "page": page,
            "results": found[(page - 1) * 20 : page * 20],
            "total_pages": max(1, -(-len(found) // 20)),
            "total_results": len(found),
        }
        self._send(200, answer)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tmdb() -> Iterator[TmdbConfig]:
    _Tmdb.requests = []
    with serve_handler(_Tmdb) as url:
        yield TmdbConfig(base_url=url, api_key=KEY, site=fast_config(url))


def test_the_film_on_the_second_page_is_found_and_the_reading_stops_there(tmdb: TmdbConfig) -> None:
    with TmdbClient(tmdb) as client:
        result = match_film(client, FilmQuery(polish_title="Matka", original_language="pl"))
    assert (result.matched, result.tmdb_id) == (True, THE_FILM["id"])
    pages = [r.get("page", "1") for r in _Tmdb.requests]
    assert pages == ["1", "2"]  # two pages: the film was on the second, so no third was asked for


def test_a_year_one_off_is_asked_again_without_it(tmdb: TmdbConfig) -> None:
    """The listing says 2025 (the Polish release); TMDB files the film under 2024 and filters strictly."""
    with TmdbClient(tmdb) as client:
        result = match_film(client, FilmQuery(polish_title="Matka", year=2025, original_language="pl"))
        details = matched_details(client, result)
    assert (result.matched, result.tmdb_id) == (True, THE_FILM["id"])
    searches = [r for r in _Tmdb.requests if r["path"] == "/3/search/movie"]
    assert searches[0]["year"] == "2025" and "year" not in searches[1]
    assert details is not None and (details.runtime, details.imdb_id, details.genres) == (
        104,
        "tt1234567",
        ("Dramat",),
    )


def test_with_the_right_year_one_page_is_enough(tmdb: TmdbConfig) -> None:
    with TmdbClient(tmdb) as client:
        result = match_film(client, FilmQuery(polish_title="Matka", year=2024, original_language="pl"))
    assert result.matched and [r.get("year") for r in _Tmdb.requests] == ["2024"]
