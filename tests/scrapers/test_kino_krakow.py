"""Kino Krakow client, parsers and steps against the simulator over HTTP: sessions, faults, dates."""

from __future__ import annotations

import http.server
import re
from datetime import date, time, timedelta

import pytest

from scrapers.common_steps import plan_films
from scrapers.errors import (
    CsrfTokenMissing,
    CsrfTokenRejected,
    HttpStatusError,
    ParseError,
    ScraperError,
    SelectorMissing,
)
from scrapers.kino_krakow import steps
from scrapers.kino_krakow.client import PROGRAM_PATH, KinoKrakowClient, KinoSession
from scrapers.kino_krakow.parser import FilmPageShowtime, parse_movie_page, parse_program
from tests.fixtures.loopback import serve_handler
from tests.fixtures.scrapers import SMALL, fast_config, kk_site, serving, small_scenario, tmdb_config

PROGRAM = "/cinema_program/by_movie"
UUID = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.html")
# A week in which every day shows something of its own: day 3's set_day is refused, day 4 is
# legitimately empty (notice), day 5's layout changed, day 6 answers a table without rows.
WEEK = {**SMALL["kino_krakow"], "films": 10, "days": 7, "days_per_film": [3, 6], "without_showtimes": 0.2}
FAULTS = (
    {"name": "csrf-rejected", "site": "kino_krakow", "path": "/settings/set_day/3", "kind": "csrf_rejected"},
    {"name": "layout", "site": "kino_krakow", "path": PROGRAM, "day": 5, "kind": "selector_removed"},
    {"name": "no-rows", "site": "kino_krakow", "path": PROGRAM, "day": 6, "kind": "empty"},
)


def week_scenario(*faults: dict):
    return small_scenario(*faults, generated_films={"count": 5}, kino_krakow={**WEEK, "empty_days": [4]})


@pytest.fixture(scope="module")
def week():
    with serving(week_scenario(*FAULTS)) as simulator:
        yield simulator


def day_unit(sim, day: int) -> dict:
    return {"day": day, "date": (sim.anchor + timedelta(days=day)).isoformat()}


def test_sync_lists_every_linked_film_and_the_day_units(week):
    result = steps.sync(kk_site(week), days_ahead=7, scrape_date=week.anchor)
    catalog = week.scenario.catalog
    expected = {fd.film.slug for fd in catalog.programme[0]} | {f.slug for f in catalog.kk_without_showtimes}
    assert {f["film_key"] for f in result.data["films"]} == expected
    assert result.counts == {"films": len(expected), "units": 7}
    assert result.data["units"][6] == day_unit(week, 6)


def test_sync_refuses_more_days_than_the_site_offers(week):
    with pytest.raises(ValueError):
        steps.sync(kk_site(week), days_ahead=8, scrape_date=week.anchor)


def test_day_page_reads_the_programme_of_its_day(week):
    result = steps.day_page(kk_site(week), day_unit(week, 1), week.anchor)
    programme = week.scenario.catalog.programme[1]
    assert result.counts == {"films": len(programme), "showtimes": sum(fd.showtimes for fd in programme)}
    assert result.data["unit"] == day_unit(week, 1)
    assert {f["film_key"] for f in result.data["films"]} == {fd.film.slug for fd in programme}
    day = (week.anchor + timedelta(days=1)).isoformat()
    for showtime in result.data["showtimes"]:
        assert re.fullmatch(
            rf"kino_krakow_showtime_[a-z0-9-]+_[a-z0-9_-]+_{day}_\d\d_\d\d", showtime["external_id"]
        )
        assert showtime["starts_at"].startswith(day + "T")
        assert showtime["starts_at"][-6:] in ("+01:00", "+02:00")
        assert showtime["payload"]["ticket_url"].startswith(week.base_urls["kino_krakow"] + "/showtime/")
    first = programme[0]
    screening = first.screenings[0]
    clock = screening.times[0][0]
    expected_id = f"kino_krakow_showtime_{first.film.slug}_{screening.cinema.slug.replace('/', '_')}_{day}_"
    assert expected_id + clock.replace(":", "_") in {s["external_id"] for s in result.data["showtimes"]}


def test_program_slugs_lose_their_uuid_and_the_movie_pages_answer(week):
    with KinoKrakowClient(kk_site(week)) as client:
        html, url = client.open_session().landing
        assert UUID.search(html), "the scenario serves UUID-suffixed links"
        page = parse_program(html, url=url, scrape_date=week.anchor)
        for film in page.films:
            assert not UUID.search(film.slug + ".html")
            page = parse_movie_page(client.movie_page(film.slug)[0], url=url, scrape_date=week.anchor)
            assert page.polish_title == film.title


def test_each_day_uses_its_own_session_and_gets_its_own_date(week):
    """The origin's bug: days sharing a session overwrote each other's selected day."""
    site = kk_site(week)
    outcomes: dict[int, object] = {}
    for day in range(7):
        try:
            outcomes[day] = steps.day_page(site, day_unit(week, day), week.anchor)
        except ScraperError as exc:  # the outcome of each day is what is checked
            outcomes[day] = exc
    assert all(outcomes[d].counts["showtimes"] > 0 for d in (0, 1, 2))
    assert isinstance(outcomes[3], CsrfTokenRejected) and outcomes[3].status == 422
    assert outcomes[4].skip_reason.startswith(f"no screenings on {day_unit(week, 4)['date']}")
    assert isinstance(outcomes[5], SelectorMissing)
    assert outcomes[6].counts == {"films": 0, "showtimes": 0} and outcomes[6].skip_reason is None

    log = week.request_log
    set_days = {r.day: r for r in log if r.method == "POST" and r.path.startswith("/settings/set_day/")}
    accepted = {d: r.session for d, r in set_days.items() if r.status == 302}  # redirected to the programme
    assert sorted(accepted) == [0, 1, 2, 4, 5, 6]
    assert len(set(accepted.values())) == len(accepted), "one session per day, never shared"
    for day, session in accepted.items():
        pages = [r for r in log if r.method == "GET" and r.path == PROGRAM and r.session == session]
        # The session's first page (no day chosen yet) and the page of its own day, nothing else.
        assert [p.day for p in pages] == [None, day]


def test_a_shared_session_loses_its_day_and_the_date_check_catches_it(week):
    site = kk_site(week)
    with KinoKrakowClient(site) as client:
        shared = client.open_session()
        shared.set_day(1)
        shared.set_day(2)  # another day's task, same session
        html, url = shared.program_page()
    page = parse_program(html, url=url, scrape_date=week.anchor)
    assert page.dates == [week.anchor + timedelta(days=2)]
    with pytest.raises(ParseError) as caught:
        steps.check_page_date(page, week.anchor + timedelta(days=1), url=url)
    assert "selected day was lost" in str(caught.value)


def test_set_day_sends_the_rails_headers_and_a_bad_token_is_422(week):
    with KinoKrakowClient(kk_site(week)) as client:
        session = client.open_session()
        assert session.token and "_kinokrakow_session" in session.cookie_header
        session.token = "forged"
        with pytest.raises(CsrfTokenRejected) as caught:
            session.set_day(1)
    assert caught.value.status == 422
    assert (caught.value.category, caught.value.error_type) == ("data_quality_error", "csrf_token_invalid")


def test_layout_change_is_selector_missing_with_url(week):
    with pytest.raises(SelectorMissing) as caught:
        steps.day_page(kk_site(week), day_unit(week, 5), week.anchor)
    assert caught.value.selector == "table.repert"
    assert caught.value.url == week.base_urls["kino_krakow"] + PROGRAM_PATH


def test_missing_csrf_token(sitesim_factory):
    sim = sitesim_factory(week_scenario({"name": "no-token", "site": "kino_krakow", "kind": "csrf_missing"}))
    with pytest.raises(CsrfTokenMissing) as caught:
        steps.day_page(kk_site(sim), day_unit(sim, 0), sim.anchor)
    assert caught.value.error_type == "csrf_token_missing"
    assert caught.value.url == sim.base_urls["kino_krakow"] + PROGRAM_PATH
    assert not [r for r in sim.request_log if r.method == "POST"], "no set_day without a token"


def test_a_csrf_outage_fails_the_sync_once_before_the_fan_out(sitesim_factory):
    """The seed's health check: the sync opens a session as every day will, so a token that is gone
    fails the run there, with its category, and no day page is ever asked for."""
    sim = sitesim_factory(week_scenario({"name": "no-token", "site": "kino_krakow", "kind": "csrf_missing"}))
    with pytest.raises(CsrfTokenMissing) as caught:
        steps.sync(kk_site(sim), days_ahead=7, scrape_date=sim.anchor)
    assert (caught.value.category, caught.value.error_type) == ("data_quality_error", "csrf_token_missing")
    assert [(r.method, r.path, r.day) for r in sim.request_log] == [("GET", PROGRAM_PATH, None)]


def test_movie_page_fields(week):
    with KinoKrakowClient(kk_site(week)) as client:
        for film in week.scenario.catalog.kk_films:
            html, url = client.movie_page(film.slug)
            page = parse_movie_page(html, url=url, scrape_date=week.anchor)
            assert (page.polish_title, page.original_title, page.director) == (
                film.title_pl,
                film.title_original,
                film.director,
            )
            assert (page.country, page.year, page.runtime_min) == (film.country, film.year, film.runtime)


def test_movie_page_without_h1_is_selector_missing():
    with pytest.raises(SelectorMissing) as caught:
        parse_movie_page(
            "<html><body><p>Nie znaleziono</p></body></html>",
            url="https://x.invalid/film/a.html",
            scrape_date=date(2025, 11, 24),
        )
    assert caught.value.selector == "h1"


EXPECTED_MATCH = {
    "match": (True, None),
    "split_match": (True, None),
    "needs_review": (False, "tmdb_needs_review"),
    "low_confidence": (False, "tmdb_low_confidence"),
    "no_result": (False, "tmdb_no_results"),
}


def test_movie_details_matches_with_the_original_title_from_the_movie_page(week):
    for film in week.scenario.catalog.kk_films[:5]:
        result = steps.movie_details(
            kk_site(week), tmdb_config(week), {"film_key": film.slug, "slug": film.slug}, week.anchor
        )
        matched, reason = EXPECTED_MATCH[film.tmdb]
        assert (result.data["matched"], result.data["reason"]) == (matched, reason), film.title_pl
        assert result.data["title"] == film.title_pl
        assert result.items[0].external_id == f"kino_krakow_film_{film.slug}"
        assert result.items[0].outcome == ("created" if matched else "failed")


def test_missing_movie_page_raises_not_found(week):
    with pytest.raises(HttpStatusError) as caught:
        steps.movie_details(
            kk_site(week), tmdb_config(week), {"film_key": "nie-ma", "slug": "nie-ma"}, week.anchor
        )
    assert caught.value.error_type == "not_found"


def test_programme_across_new_year_gets_the_right_years(sitesim_factory):
    sim = sitesim_factory(week_scenario(), anchor_date="2025-12-29")
    scrape_date = date(2025, 12, 29)
    for day in (0, 3, 5):
        unit = day_unit(sim, day)
        result = steps.day_page(kk_site(sim), unit, scrape_date)
        assert result.counts["showtimes"] > 0
        assert {s["starts_at"][:10] for s in result.data["showtimes"]} == {unit["date"]}
    assert day_unit(sim, 3)["date"] == "2026-01-01"


# --- the real site's shapes, hand-written -------------------------------------------------------


def test_a_current_release_takes_its_year_from_the_premiere_date():
    page = parse_movie_page(
        "<html><body><h1>Dom dobry</h1><div class='film-info'>"
        "<p><strong>Reżyseria:</strong> <a href='/osoba/w-s'>Wojciech Smarzowski</a></p>"
        "<p><strong>Produkcja:</strong> Polska</p>"
        "<p><strong>Premiera:</strong> 7 listopada 2025</p>"
        "<p><strong>Czas trwania:</strong> 124 min.</p></div></body></html>",
        url="https://www.kino.krakow.pl/film/dom-dobry.html",
        scrape_date=date(2025, 11, 24),
    )
    assert (page.country, page.year, page.runtime_min) == ("Polska", 2025, 124)


FILM_PAGE = """<html><body><h1>Wicked: Na dobre</h1>
<div class="film-info"><p><strong>Tytuł oryginalny:</strong> Wicked: For Good</p></div>
<h2>Repertuar</h2>
<table class="repert"><tbody>
<tr><th class="date" colspan="2">wtorek, 18 listopada</th></tr>
<tr><td class="cinema_film"><a href="/cinema-city/kazimierz">Cinema City Galeria Kazimierz</a></td>
<td class="showtime"><span class="hour">17:30
<a class="buy_ticket" data-showtime-id="8812345" href="/showtime/8812345">kup bilet</a></span>
<span class="hour">20:45<br>
<small>napisy</small> <a class="buy_ticket" data-showtime-id="8812346" href="/showtime/8812346">kup bilet</a>
</span></td></tr>
<tr><th class="date" colspan="2">środa, 19 listopada</th></tr>
<tr><td class="cinema_film"><a href="/kino-pod-baranami">Kino Pod Baranami</a></td>
<td class="showtime"><span class="hour">wkrótce</span></td></tr>
<tr><th class="date" colspan="2">Sylwester!</th></tr>
<tr><td class="cinema_film"><a href="/kino-mikro">Kino Mikro</a></td>
<td class="showtime"><span class="hour">21:00
<a class="buy_ticket" data-showtime-id="8812399" href="/showtime/8812399">kup bilet</a></span></td></tr>
</tbody></table></body></html>"""


def test_a_film_page_lists_its_own_showtimes_and_unreadable_parts_stay_none():
    page = parse_movie_page(
        FILM_PAGE, url="https://www.kino.krakow.pl/film/wicked-na-dobre.html", scrape_date=date(2025, 11, 17)
    )
    tuesday, wednesday = date(2025, 11, 18), date(2025, 11, 19)
    assert page.showtimes == [
        FilmPageShowtime(tuesday, "cinema-city/kazimierz", time(17, 30), "8812345"),
        FilmPageShowtime(tuesday, "cinema-city/kazimierz", time(20, 45), "8812346"),
        FilmPageShowtime(wednesday, "kino-pod-baranami", None, None),  # no time, no ticket yet
        FilmPageShowtime(None, "kino-mikro", time(21, 0), "8812399"),  # under a header that is no date
    ]


def test_the_simulators_film_page_lists_exactly_the_programme(week):
    catalog = week.scenario.catalog
    with KinoKrakowClient(kk_site(week)) as client:
        for film in catalog.kk_films:
            html, url = client.movie_page(film.slug)
            expected = [
                FilmPageShowtime(
                    week.anchor + timedelta(days=day), s.cinema.slug, time.fromisoformat(clock), showtime_id
                )
                for day, film_days in sorted(catalog.programme.items())
                for fd in film_days
                if fd.film == film
                for s in fd.screenings
                for clock, showtime_id in s.times
            ]
            assert parse_movie_page(html, url=url, scrape_date=week.anchor).showtimes == expected
            assert bool(expected) == (film not in catalog.kk_without_showtimes)


def test_movie_details_counts_a_film_against_the_day_pages_that_lost_its_rows(week):
    """Day 6 answers a table without rows (the day page looks fine, only empty): each film screened
    that day has more showtimes on its own page than on the day pages; other films agree. Days 3
    and 5 failed, so they are not compared; day 4 is legitimately empty and compared (0 = 0)."""
    site = kk_site(week)
    units = [day_unit(week, day) for day in range(7)]
    results = []
    for unit in units:
        try:
            results.append(steps.day_page(site, unit, week.anchor).to_dict())
        except ScraperError:
            results.append(None)
    planned = plan_films(results, units).data["films"]
    compared = {u["date"] for u in units if u["day"] in (0, 1, 2, 4, 6)}
    assert all(set(f["listed_showtimes"]) == compared for f in planned)
    lost_on_day_6 = {fd.film.slug: fd.showtimes for fd in week.scenario.catalog.programme[6]}
    disagreeing = agreeing = 0
    for film in planned:
        counts = steps.movie_details(site, tmdb_config(week), film, week.anchor).counts
        lost = lost_on_day_6.get(film["film_key"], 0)
        assert counts["film_page_showtimes"] - counts["listed_showtimes"] == lost, film["film_key"]
        assert counts["days_disagreeing"] == (1 if lost else 0)
        assert counts["listed_showtimes"] == sum(film["listed_showtimes"].values()) > 0
        disagreeing += bool(lost)
        agreeing += not lost
    assert disagreeing and agreeing, "the week must have films of both kinds"


class _RedirectingSite(http.server.BaseHTTPRequestHandler):
    """set_day answers 302 and re-issues the session cookie on the redirect only; the programme page
    it leads to sets none, and says which session asked."""

    def do_POST(self) -> None:  # noqa: N802 - the handler API
        self.send_response(302)
        self.send_header("Location", PROGRAM_PATH)
        self.send_header("Set-Cookie", "_kinokrakow_session=day-one; path=/; HttpOnly")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        body = f"<html><body><p class='session'>{self.headers.get('Cookie', '')}</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cookie_set_on_set_days_redirect_is_kept():
    with serve_handler(_RedirectingSite) as base_url, KinoKrakowClient(fast_config(base_url)) as client:
        session = KinoSession(http=client._http, cookies={"_kinokrakow_session": "fresh"}, token="t")
        session.set_day(1)
        html, _url = session.program_page()
    assert session.cookies == {"_kinokrakow_session": "day-one"}
    assert "_kinokrakow_session=day-one" in html  # the programme of the session that chose the day
