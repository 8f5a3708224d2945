"""Parser fuzzing (issue 11): mutated and truncated real answers of the three sites end in a valid
result or in a typed ``scrapers.errors`` exception that the monitor files under a real category,
never in an untyped crash (TypeError, KeyError, ValueError, ... reaching the task) nor a hang; and a
body over the client's size cap is refused unread.

The answers are the site simulator's own (tests/fixtures/fuzz.py mutates them). Each fuzzer runs a
fixed number of examples from a fixed seed (``derandomize``), so a run is repeatable and bounded; the
deadline turns a slow example (a regex or a loop gone quadratic on a huge string) into a failure.
The parsers are called in-process (cheap: many examples), and then the way a task calls them: the
real clients over HTTP on loopback, through the chain steps that parse, down to the showtime sink.
Every bug the fuzzers found has a plain regression test at the end of this module.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.category import UNCLASSIFIED, UNKNOWN_ERROR, categorize
from scrapers.cinema_city import steps as cc_steps
from scrapers.cinema_city.client import CinemaCitySite
from scrapers.cinema_city.parser import FilmEvents, parse_cinemas, parse_dates, parse_film_events
from scrapers.common_steps import store_showtimes
from scrapers.errors import ResponseTooLarge, ScraperError
from scrapers.http import HttpClient
from scrapers.kino_krakow import steps as kk_steps
from scrapers.kino_krakow.parser import csrf_token, parse_film_links, parse_movie_page, parse_program
from scrapers.sink import PostgresShowtimeSink
from scrapers.tmdb.client import TmdbClient, TmdbConfig, TmdbMovie
from scrapers.tmdb.matching import FilmQuery, confidence, match_film
from scrapers.tmdb.normalize import normalize_title
from tests.fixtures.fuzz import CINEMA_ID, json_texts, mutated_html, mutated_json, seeded
from tests.fixtures.loopback import serve_handler
from tests.fixtures.scrapers import fast_config
from tests.fixtures.sitesim import ANCHOR

T = TypeVar("T")
URL = "https://fuzz.invalid/answer"
#: The bigint column a TMDB id is stored in.
BIGINT_MAX = 2**63 - 1


def fuzz(examples: int, *, deadline_ms: int = 500) -> settings:
    """Fixed seed, a bounded number of examples, and a per-example deadline (a hang is a failure)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=deadline_ms,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


#: Over HTTP an example is several requests to a server thread on a CPU shared with other workers:
#: 500 ms would fail on load alone. A hang (a quadratic loop, an unbounded read) still takes seconds.
HTTP_DEADLINE_MS = 2000


def typed_or_valid(call: Callable[[], T]) -> T | None:
    """The call's result, or None when it raised a typed scraper error the monitor can file. Any
    other exception propagates: that is the failure the fuzzers look for."""
    try:
        return call()
    except ScraperError as exc:
        filed = categorize(exc)
        assert filed.category != UNKNOWN_ERROR and filed.error_type != UNCLASSIFIED, (exc, filed)
        assert exc.url, f"{type(exc).__name__} does not say which answer was wrong: {exc}"
        return None


def assert_finite(value: Any) -> None:
    """XCom and the payload column (jsonb) refuse NaN and infinities."""
    json.dumps(value, allow_nan=False)


# --- Cinema City, in-process ------------------------------------------------------------------------


@fuzz(400)
@given(seeded(mutated_json, lambda s: s.cc_cinemas), st.sampled_from([None, "Kraków", "krakow"]))
def test_cinema_list_answers_parse_or_fail_typed(payload: Any, city: str | None) -> None:
    cinemas = typed_or_valid(lambda: parse_cinemas(payload, url=URL, city_name=city))
    for cinema in cinemas or []:
        assert cinema.id and isinstance(cinema.id, str)
        assert_finite([cinema.latitude, cinema.longitude])


@fuzz(200)
@given(seeded(mutated_json, lambda s: s.cc_dates))
def test_date_list_answers_parse_or_fail_typed(payload: Any) -> None:
    dates = typed_or_valid(lambda: parse_dates(payload, url=URL))
    assert all(isinstance(d, str) and d for d in dates or [])


@fuzz(600)
@given(seeded(mutated_json, lambda s: s.cc_film_events))
def test_film_event_answers_parse_or_fail_typed(payload: Any) -> None:
    answer = typed_or_valid(lambda: parse_film_events(payload, url=URL))
    if answer is None:
        return
    assert isinstance(answer, FilmEvents)
    screened = {e.film_id for e in answer.events}
    for film in answer.films:
        assert film.id in screened and film.name
        assert_finite([film.runtime, film.release_year])
    for event in answer.events:
        assert_finite(event.availability_ratio)
        if event.starts_at is not None:
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d(:\d\d)?", event.starts_at
            )


# --- Kino Krakow, in-process --------------------------------------------------------------------------


@fuzz(400)
@given(seeded(mutated_html, lambda s: s.kk_program))
def test_programme_pages_parse_or_fail_typed(text: str) -> None:
    """What sync and day_page read of a programme page: the CSRF token, the film links, the table,
    and the date check (the showtime records built from it: over HTTP below)."""
    typed_or_valid(lambda: csrf_token(text, url=URL))
    for link in typed_or_valid(lambda: parse_film_links(text, url=URL)) or []:
        assert link.slug
    page = typed_or_valid(lambda: parse_program(text, url=URL, scrape_date=ANCHOR))
    if page is not None and not page.empty_notice:
        typed_or_valid(lambda: kk_steps.check_page_date(page, ANCHOR, url=URL))


@fuzz(400)
@given(seeded(mutated_html, lambda s: s.kk_film_page))
def test_film_pages_parse_or_fail_typed(text: str) -> None:
    page = typed_or_valid(lambda: parse_movie_page(text, url=URL, scrape_date=ANCHOR))
    if page is None:
        return
    assert page.polish_title
    listed = {(ANCHOR + timedelta(days=n)).isoformat(): 1 for n in range(3)}
    kk_steps.cross_check(page.showtimes, listed)
    # What movie_details searches TMDB for.
    FilmQuery(
        polish_title=page.polish_title, original_title=page.original_title, year=page.year
    ).query_titles()


# --- the clients and the steps, over HTTP ---------------------------------------------------------------


class Answers:
    """What the loopback site answers now: (path substring -> body), set per example."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[str, str]] = {}
        self.lock = threading.Lock()

    def set(self, bodies: dict[str, tuple[str, str]]) -> None:
        with self.lock:
            self.bodies = bodies

    def find(self, path: str) -> tuple[str, str] | None:
        with self.lock:
            return next((v for k, v in self.bodies.items() if k in path), None)


class _Site(BaseHTTPRequestHandler):
    answers: Answers
    # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms to each.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the handler API
        found = self.answers.find(self.path)
        if found is None:
            self.send_error(404)
            return
        content_type, body = found
        data = body.encode("utf-8", "surrogatepass")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - set_day: accepted, the programme page stays as it is
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Answers]]:
    answers = Answers()
    handler = type("Site", (_Site,), {"answers": answers})
    with serve_handler(handler) as base:
        yield base, answers


JSON, HTML = "application/json", "text/html; charset=utf-8"


def cc_unit() -> dict[str, Any]:
    return {
        "cinema_id": CINEMA_ID,
        "cinema_name": "Kraków - Bonarka",
        "date": ANCHOR.isoformat(),
        "listed": True,
    }


@fuzz(200, deadline_ms=HTTP_DEADLINE_MS)
@given(
    seeded(json_texts, lambda s: s.cc_cinemas),
    seeded(json_texts, lambda s: s.cc_dates),
    seeded(json_texts, lambda s: s.cc_film_events),
)
def test_cinema_city_steps_end_valid_or_typed_over_http(
    site: tuple[str, Answers], cinemas: str, dates: str, film_events: str
) -> None:
    base, answers = site
    answers.set(
        {"/cinemas/": (JSON, cinemas), "/dates/": (JSON, dates), "/film-events/": (JSON, film_events)}
    )
    cc_site = CinemaCitySite(fast_config(base, max_attempts=1))
    synced = typed_or_valid(
        lambda: cc_steps.sync(cc_site, city_name="Kraków", days_ahead=2, scrape_date=ANCHOR)
    )
    if synced is not None:
        json.dumps(synced.to_dict(), allow_nan=False)
    result = typed_or_valid(lambda: cc_steps.cinema_date(cc_site, cc_unit()))
    if result is not None:
        json.dumps(result.to_dict(), allow_nan=False)  # the XCom the next tasks read


@fuzz(150, deadline_ms=HTTP_DEADLINE_MS)
@given(seeded(mutated_html, lambda s: s.kk_program))
def test_kino_krakow_day_page_ends_valid_or_typed_over_http(site: tuple[str, Answers], program: str) -> None:
    base, answers = site
    answers.set({"/cinema_program/": (HTML, program)})
    kk_site = fast_config(base, max_attempts=1)
    unit = {"day": 0, "date": ANCHOR.isoformat()}
    for step in (
        lambda: kk_steps.sync(kk_site, days_ahead=2, scrape_date=ANCHOR),
        lambda: kk_steps.day_page(kk_site, unit, ANCHOR),
    ):
        result = typed_or_valid(step)
        if result is not None:
            json.dumps(result.to_dict(), allow_nan=False)


def tmdb_config(base: str) -> TmdbConfig:
    return TmdbConfig(base_url=base, api_key="k", site=fast_config(base, max_attempts=1))


@fuzz(200, deadline_ms=HTTP_DEADLINE_MS)
@given(
    seeded(mutated_html, lambda s: s.kk_film_page),
    seeded(json_texts, lambda s: s.tmdb_search),
    seeded(json_texts, lambda s: s.tmdb_movie),
)
def test_movie_details_ends_valid_or_typed_over_http(
    site: tuple[str, Answers], film_page: str, search: str, movie: str
) -> None:
    """Kino Krakow's movie_details: the film page, then TMDB's search and details answers."""
    base, answers = site
    answers.set({"/film/": (HTML, film_page), "/3/search/movie": (JSON, search), "/3/movie/": (JSON, movie)})
    film = {"film_key": "f", "slug": "f", "title": "F", "listed_showtimes": {ANCHOR.isoformat(): 1}}
    result = typed_or_valid(
        lambda: kk_steps.movie_details(fast_config(base), tmdb_config(base), film, ANCHOR)
    )
    if result is not None:
        json.dumps(result.to_dict(), allow_nan=False)
        tmdb_id = result.data["tmdb_id"]
        assert tmdb_id is None or (isinstance(tmdb_id, int) and 0 < tmdb_id <= BIGINT_MAX)


@fuzz(150, deadline_ms=HTTP_DEADLINE_MS)
@given(seeded(json_texts, lambda s: s.tmdb_search), st.sampled_from(["en", None, "pl"]))
def test_tmdb_matching_ends_valid_or_typed_over_http(
    site: tuple[str, Answers], search: str, language: str | None
) -> None:
    """Cinema City's films know their original language: the language score reads TMDB's too."""
    base, answers = site
    answers.set({"/3/search/movie": (JSON, search)})
    query = FilmQuery(
        polish_title="Uciekinier", original_title="The Running Man", year=2025, original_language=language
    )
    with TmdbClient(tmdb_config(base)) as client:
        match = typed_or_valid(lambda: match_film(client, query))
    if match is not None:
        assert 0.0 <= match.confidence <= 1.0
        assert match.candidate_id is None or 0 < match.candidate_id <= BIGINT_MAX


@pytest.fixture(scope="module")
def sink(pg_server: EmbeddedPostgres) -> Iterator[PostgresShowtimeSink]:
    """One database for the module (pg_dsn is one per test; the sink's table is created once)."""
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PostgresShowtimeSink(pg_server.dsn(name))
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@fuzz(100, deadline_ms=HTTP_DEADLINE_MS)
@given(seeded(mutated_json, lambda s: s.cc_film_events))
def test_parsed_showtimes_are_stored_or_reported_never_crash_the_sink(
    site: tuple[str, Answers], sink: PostgresShowtimeSink, film_events: Any
) -> None:
    """Whatever a cinema-day answer held, its showtimes step stores each showtime in PostgreSQL or
    reports it as a failed item: odd ids and values must not crash the upsert."""
    base, answers = site
    answers.set({"/film-events/": (JSON, json.dumps(film_events))})
    result = typed_or_valid(
        lambda: cc_steps.cinema_date(CinemaCitySite(fast_config(base, max_attempts=1)), cc_unit())
    )
    if result is None or result.skip_reason:
        return
    matches = {
        film["film_key"]: {"matched": True, "tmdb_id": 1, "runtime": None, "imdb_id": None}
        for film in result.data["films"]
    }
    stored = store_showtimes(result.to_dict(), matches, sink, source="cinema_city")
    assert stored.counts["showtimes"] == len(result.data["showtimes"])


# --- big bodies ------------------------------------------------------------------------------------------


class _Huge(BaseHTTPRequestHandler):
    """A site answering a body bigger than the cap: announced, or streamed without a length."""

    size = 0
    announce = True

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", JSON if "quickbook" in self.path or "/3/" in self.path else HTML)
        if self.announce:
            self.send_header("Content-Length", str(self.size))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        chunk = b'{"body": {"films": [' + b" " * 65_536
        sent = 0
        try:
            while sent < self.size:
                piece = chunk[: self.size - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client hung up once it had read enough: the point of the test

    def log_message(self, *args: object) -> None:
        pass


CAP = 256 * 1024


@fuzz(10, deadline_ms=HTTP_DEADLINE_MS)
@given(
    st.integers(CAP + 1, 8 * CAP),
    st.booleans(),
    st.sampled_from(["cinema_city", "kino_krakow_program", "kino_krakow_film", "tmdb_search", "tmdb_movie"]),
)
def test_a_body_over_the_cap_is_refused_typed_whatever_the_endpoint(
    size: int, announce: bool, endpoint: str
) -> None:
    handler = type("Huge", (_Huge,), {"size": size, "announce": announce})
    with serve_handler(handler) as base:
        config = fast_config(base, max_body_bytes=CAP, max_attempts=1)
        calls: dict[str, Callable[[], object]] = {
            "cinema_city": lambda: cc_steps.cinema_date(CinemaCitySite(config), cc_unit()),
            "kino_krakow_program": lambda: kk_steps.sync(config, days_ahead=1, scrape_date=ANCHOR),
            "kino_krakow_film": lambda: parse_movie_page(
                HttpClient(config).get_text("/film/x.html"), url=URL, scrape_date=ANCHOR
            ),
            "tmdb_search": lambda: TmdbClient(TmdbConfig(base, "k", config)).search_page("x"),
            "tmdb_movie": lambda: TmdbClient(TmdbConfig(base, "k", config)).movie_details(1),
        }
        with pytest.raises(ResponseTooLarge) as caught:
            calls[endpoint]()
    filed = categorize(caught.value)
    assert (filed.category, filed.error_type) == ("network_error", "response_too_large")
    assert str(CAP) in str(caught.value)


# --- regressions: each bug the fuzzers found, with the minimal example -----------------------------------


def test_non_finite_numbers_in_a_cinema_city_answer_are_unknown_not_a_crash() -> None:
    """Bug: ``"length": 1e999`` (JSON's way to write infinity) raised OverflowError out of the parser,
    and NaN/Infinity coordinates and availability ratios went on into XCom and the jsonb payload,
    which refuse them. Now each is None, like any other unreadable number."""
    payload = json.loads(
        '{"body": {"cinemas": [{"id": "1", "latitude": Infinity, "longitude": NaN}],'
        ' "films": [{"id": "f", "name": "F", "length": 1e999, "releaseYear": "-Infinity"}],'
        ' "events": [{"id": "e", "filmId": "f", "availabilityRatio": NaN}]}}'
    )
    cinema = parse_cinemas(payload, url=URL)[0]
    answer = parse_film_events(payload, url=URL)
    assert (cinema.latitude, cinema.longitude) == (None, None)
    assert (answer.films[0].runtime, answer.films[0].release_year) == (None, None)
    assert answer.events[0].availability_ratio is None


def test_a_json_answer_nested_deeper_than_the_decoder_is_invalid_json(site: tuple[str, Answers]) -> None:
    """Bug: ``[[[[...`` 100 000 deep made json raise RecursionError, which is no ValueError and left
    the client untyped. Now it is InvalidJson naming the URL."""
    base, answers = site
    answers.set({"/film-events/": (JSON, "[" * 100_000)})
    with pytest.raises(ScraperError) as caught:
        cc_steps.cinema_date(CinemaCitySite(fast_config(base, max_attempts=1)), cc_unit())
    assert (caught.value.category, caught.value.error_type) == ("data_quality_error", "invalid_json")
    assert "/film-events/" in caught.value.url and "RecursionError" in str(caught.value)


def test_a_comment_beside_a_film_page_label_value_is_skipped() -> None:
    """Bug: ``<strong>Tytuł oryginalny:</strong> Eternity<!-- -->`` raised lxml's ValueError "Input
    object is not an XML element: HtmlComment" while reading the value after the label."""
    page = parse_movie_page(
        "<h1>Wybieram ciebie</h1><p><strong>Tytuł oryginalny:</strong> Eternity<!--  --> (2025)</p>"
        '<p><strong>Reżyseria:</strong> <!-- x --><a href="/osoba/a">Anna Nowak</a></p>',
        url=URL,
        scrape_date=ANCHOR,
    )
    assert (page.original_title, page.director) == ("Eternity (2025)", "Anna Nowak")


def test_a_runtime_of_thousands_of_digits_is_no_runtime() -> None:
    """Bug: "Czas trwania: 999...9 min" (5000 digits) raised ValueError (int() refuses over 4300
    digits). A runtime has at most four digits; a longer number is none."""
    page = parse_movie_page(
        f"<h1>T</h1><p><strong>Czas trwania:</strong> {'9' * 5000} min.</p>", url=URL, scrape_date=ANCHOR
    )
    assert page.runtime_min is None
    assert (
        parse_movie_page(
            "<h1>T</h1><p><strong>Czas trwania:</strong> 110 min.</p>", url=URL, scrape_date=ANCHOR
        ).runtime_min
        == 110
    )


def test_tmdb_results_with_unusable_ids_years_or_languages_are_read_safely(site: tuple[str, Answers]) -> None:
    """Bugs in TMDB's result reader: ``"id": 1e999`` raised OverflowError; a negative or
    beyond-bigint id became a match the store cannot keep; ``"release_date": "²³⁴⁵-01-01"`` (digits to
    str.isdigit, not to int) raised ValueError; ``"original_language": 5`` raised AttributeError in
    the language score. Entries without a usable id are skipped; a bad year or language is unknown."""
    results = [
        {"id": 1e999, "title": "The Running Man"},
        {"id": -531745813, "title": "The Running Man"},
        {"id": 2**64, "title": "The Running Man"},
        {"id": 7, "title": "The Running Man", "release_date": "²³⁴⁵-01-01", "original_language": 5},
    ]
    base, answers = site
    answers.set({"/3/search/movie": (JSON, json.dumps({"results": results, "total_pages": 1}))})
    query = FilmQuery(polish_title="Uciekinier", original_title="The Running Man", original_language="en")
    with TmdbClient(tmdb_config(base)) as client:
        [movie] = client.search_page("The Running Man").results
        match = match_film(client, query)
    assert (movie.id, movie.release_year, movie.original_language) == (7, None, None)
    assert match.candidate_id == 7


def test_a_nul_in_a_scraped_event_id_fails_that_showtime_not_the_batch(
    site: tuple[str, Answers], sink: PostgresShowtimeSink
) -> None:
    """Bug: an event id with a NUL (``"id": "109000000\\u0000"``) reached the sink, which refuses it
    with ValueError: the whole showtimes task failed untyped. Now that showtime is a failed item
    (missing_field:external_id) and the others are stored."""
    events = [
        {"id": "1\x00", "filmId": "f", "eventDateTime": "2025-11-24T18:00:00"},
        {"id": "2", "filmId": "f", "eventDateTime": "2025-11-24T20:00:00"},
    ]
    base, answers = site
    answers.set(
        {
            "/film-events/": (
                JSON,
                json.dumps({"body": {"films": [{"id": "f", "name": "F"}], "events": events}}),
            )
        }
    )
    result = cc_steps.cinema_date(CinemaCitySite(fast_config(base, max_attempts=1)), cc_unit())
    stored = store_showtimes(
        result.to_dict(), {"f": {"matched": True, "tmdb_id": 1}}, sink, source="cinema_city"
    )
    assert [(i.outcome, i.reason) for i in stored.items] == [
        ("failed", "missing_field:external_id"),
        ("created", "version:original"),
    ]


def test_titles_thousands_of_characters_long_do_not_hold_the_matching() -> None:
    """Bug: the title clean-up loop and the Jaro similarity are quadratic: a film page titled
    "Film 3D 3D ... 3D" (1000 times) took 11 s to normalise, and two 20 000-character titles 70 s to
    compare, holding the task. Titles are cut to MAX_TITLE_CHARS first."""
    started = time.monotonic()
    assert normalize_title("Film" + " 3D" * 1000).startswith("Film")
    movie = TmdbMovie(1, "y" * 20_000 + "x", "z" * 20_000, 2020, 1.0, "en")
    assert 0 <= confidence(FilmQuery("x" * 20_000, "w" * 20_000), movie) <= 1
    assert normalize_title("Ciche miasto 3D") == "Ciche miasto"
    assert time.monotonic() - started < 1.0


def test_a_lone_surrogate_in_a_cinema_city_answer_is_replaced_not_a_crash(
    site: tuple[str, Answers], sink: PostgresShowtimeSink
) -> None:
    """Bug: JSON can escape a lone surrogate (``"\\ud800"``), which decodes but encodes nowhere: a
    cinema id holding one made sync's next URL raise UnicodeEncodeError, the error of a film without
    a name quoting its id crashed the monitor's fingerprint, and a title holding one the sink. The
    parser now replaces it with U+FFFD."""
    base, answers = site
    film_events = {
        "body": {
            "films": [{"id": "f", "name": "Film \ud800"}, {"id": "\ud800g"}],
            "events": [{"id": "1", "filmId": "f", "eventDateTime": "2025-11-24T18:00:00"}],
        }
    }
    answers.set(
        {
            "/cinemas/": (JSON, '{"body": {"cinemas": [{"id": "\\ud800", "city": "Krak\\u00f3w"}]}}'),
            "/dates/": (JSON, '{"body": {"dates": ["2025-11-24"]}}'),
            "/film-events/": (JSON, json.dumps(film_events)),
        }
    )
    cc_site = CinemaCitySite(fast_config(base, max_attempts=1))
    synced = cc_steps.sync(cc_site, city_name="Kraków", days_ahead=1, scrape_date=ANCHOR)
    assert [u["cinema_id"] for u in synced.data["units"]] == ["\ufffd"]
    with pytest.raises(ScraperError) as caught:
        cc_steps.cinema_date(cc_site, cc_unit())
    assert "\ufffdg without name" in str(caught.value)
    assert categorize(caught.value).category == "validation_error"
    film_events["body"]["films"].pop()
    answers.set({"/film-events/": (JSON, json.dumps(film_events))})
    result = cc_steps.cinema_date(cc_site, cc_unit())
    stored = store_showtimes(
        result.to_dict(), {"f": {"matched": True, "tmdb_id": 1}}, sink, source="cinema_city"
    )
    assert [i.outcome for i in stored.items] == ["created"]
    assert result.data["films"][0]["title"] == "Film \ufffd"


@pytest.mark.parametrize(
    "content", ['content=Ā"5DBxKzWFb+AVzetb3tEwc0oYgvy+6rgTGoVrrJ/xf1g="', 'content="5DBx&#10;Kz"']
)
def test_a_csrf_token_that_cannot_travel_in_a_header_is_refused_typed(
    site: tuple[str, Answers], content: str
) -> None:
    """Bug: a csrf-token meta tag holding a non-Latin-1 character (``content=Ā"5DB...``) went into
    set_day's X-CSRF-Token header, where http.client raised UnicodeEncodeError past the client; one
    holding a line break was refused by requests and filed as a retryable network error. Now the
    parser refuses both: CsrfTokenMissing naming the page and the selector."""
    base, answers = site
    page = f'<html><head><meta name="csrf-token" {content}></head><body></body></html>'
    answers.set({"/cinema_program/": (HTML, page)})
    with pytest.raises(ScraperError) as caught:
        kk_steps.day_page(fast_config(base, max_attempts=1), {"day": 0, "date": ANCHOR.isoformat()}, ANCHOR)
    assert (caught.value.error_type, caught.value.selector) == ("csrf_token_missing", "meta[name=csrf-token]")
    assert caught.value.url.endswith("/cinema_program/by_movie")
