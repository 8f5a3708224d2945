"""The simulated sites over real HTTP: shapes, sessions and CSRF, legit-empty days, determinism, CLI."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import requests
import yaml
from lxml import html as lxml_html

from sitesim import SiteSimulator
from sitesim.polish import polish_date
from tests.fixtures.sitesim import ANCHOR, SMALL, SitesimFactory, small_scenario

API = "/pl/data-api-service/v1/quickbook/10103"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def day(n: int) -> str:
    return (ANCHOR + timedelta(days=n)).isoformat()


@pytest.fixture
def demo(sitesim_factory: SitesimFactory) -> SiteSimulator:
    return sitesim_factory("demo", anchor_date=ANCHOR)


def date_header(page: str) -> str:
    return lxml_html.fromstring(page).xpath("//table[@class='repert']//th[@class='date']")[0].text_content()


def open_session(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{base}/cinema_program/by_movie", timeout=5)
    return session, CSRF_META.search(page.text)[1]


def set_day(session: requests.Session, base: str, n: int, token: str) -> requests.Response:
    """The day link's POST, as the real site answers it: a 302 back to the programme (not followed)."""
    return session.post(
        f"{base}/settings/set_day/{n}",
        headers={"X-CSRF-Token": token, "X-Requested-With": "XMLHttpRequest"},
        timeout=5,
        allow_redirects=False,
    )


# --- Cinema City ------------------------------------------------------------------------------


def test_cinema_city_lists_cinemas_of_every_city_with_address_info(demo: SiteSimulator) -> None:
    body = requests.get(f"{demo.base_urls['cinema_city']}{API}/cinemas/with-event/until/{day(7)}").json()
    cinemas = body["body"]["cinemas"]
    cities = {c["id"]: c["addressInfo"]["city"] for c in cinemas}
    assert {k for k, v in cities.items() if v == "Kraków"} == {"1090", "1076", "1064"}
    assert len(set(cities.values())) > 1
    assert (
        cinemas[0]["displayName"] == "Kraków - Bonarka" and cinemas[0]["groupId"] == "krakow"
    )  # a city slug


def test_cinema_city_film_events_join_films_and_events(demo: SiteSimulator) -> None:
    base = demo.base_urls["cinema_city"]
    dates = requests.get(f"{base}{API}/dates/in-cinema/1090/until/{day(7)}").json()["body"]["dates"]
    # The demo keeps a week of past data for backfills; from today on, every day is listed.
    assert [d for d in dates if d >= day(0)] == [day(n) for n in range(7)]
    body = requests.get(f"{base}{API}/film-events/in-cinema/1090/at-date/{day(0)}").json()["body"]
    film_ids = {f["id"] for f in body["films"]}
    assert {e["filmId"] for e in body["events"]} == film_ids  # every film has a screening
    event = body["events"][0]
    assert event["cinemaId"] == "1090" and event["businessDay"] == day(0)
    assert re.fullmatch(rf"{day(0)}T\d\d:\d\d:00", event["eventDateTime"])  # naive local time
    # Real shapes: a dubbed family film may name no original language.
    assert all(
        any(a.startswith("original-lang-") for a in f["attributeIds"]) or "dubbed" in f["attributeIds"]
        for f in body["films"]
    )
    split = [
        f
        for f in body["films"]
        if re.match(r"(Eternity|Die My Love|The Smashing Machine|Roofman)\W", f["name"])
    ]
    assert split and all({"original-lang-en-us", "original-lang-en"} & set(f["attributeIds"]) for f in split)


def test_legitimately_empty_day_is_unlisted_but_a_silent_one_is_listed(demo: SiteSimulator) -> None:
    base = demo.base_urls["cinema_city"]
    empty = {"body": {"films": [], "events": []}}
    zakopianka = requests.get(f"{base}{API}/dates/in-cinema/1064/until/{day(7)}").json()["body"]["dates"]
    bonarka = requests.get(f"{base}{API}/dates/in-cinema/1090/until/{day(7)}").json()["body"]["dates"]
    assert day(6) not in zakopianka
    assert requests.get(f"{base}{API}/film-events/in-cinema/1064/at-date/{day(6)}").json() == empty
    assert day(5) in bonarka
    assert requests.get(f"{base}{API}/film-events/in-cinema/1090/at-date/{day(5)}").json() == empty
    faults = [r.fault for r in demo.request_log if "film-events" in r.path]
    assert faults == [None, "bonarka-silent-empty"]


def test_unknown_paths_answer_404(demo: SiteSimulator) -> None:
    assert requests.get(f"{demo.base_urls['cinema_city']}{API}/nothing").status_code == 404
    assert (
        requests.get(f"{demo.base_urls['cinema_city']}/pl/data-api-service/v1/quickbook/1/x").status_code
        == 404
    )
    assert requests.get(f"{demo.base_urls['kino_krakow']}/film/no-such-film.html").status_code == 404
    assert requests.post(f"{demo.base_urls['kino_krakow']}/settings/set_day/7").status_code == 404
    assert requests.get(f"{demo.base_url}/elsewhere").status_code == 404


# --- Kino Krakow ------------------------------------------------------------------------------


def test_program_page_sets_a_session_and_shows_day_zero(demo: SiteSimulator) -> None:
    response = requests.get(f"{demo.base_urls['kino_krakow']}/cinema_program/by_movie")
    assert "_kinokrakow_session" in response.cookies
    assert CSRF_META.search(response.text)
    assert date_header(response.text) == polish_date(ANCHOR) == "poniedziałek, 24 listopada"
    doc = lxml_html.fromstring(response.text)
    rows = doc.xpath("//table[@class='repert']/tbody/tr")
    assert rows[1].xpath(".//a[@class='preview-link film']/@href")[0].startswith("/film/")
    hours = doc.xpath("//td[@class='hours']/span[@class='hour']")
    assert re.fullmatch(r"\d\d:\d\d", hours[0].xpath("./a[contains(@href, '/by_cinema/')]")[0].text)
    assert hours[0].xpath("./a[@class='buy_ticket']/@href")[0].startswith("/showtime/")
    hrefs = doc.xpath("//table[@class='repert']//a[@class='preview-link film']/@href")
    uuid = r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.html"
    assert any(re.search(uuid, h) for h in hrefs) and not all(re.search(uuid, h) for h in hrefs)


def test_set_day_needs_the_sessions_own_csrf_token(demo: SiteSimulator) -> None:
    base = demo.base_urls["kino_krakow"]
    session, token = open_session(base)
    _, other_token = open_session(base)
    assert session.post(f"{base}/settings/set_day/1").status_code == 422  # no token
    assert set_day(session, base, 1, other_token).status_code == 422  # another session's token
    assert requests.post(f"{base}/settings/set_day/1", headers={"X-CSRF-Token": token}).status_code == 422
    answer = set_day(session, base, 1, token)
    assert (
        answer.status_code == 302
        and answer.headers["Location"].endswith("/kino-krakow/cinema_program/by_movie")
        and answer.cookies["_kinokrakow_session"] == session.cookies["_kinokrakow_session"]
    )
    assert date_header(session.get(f"{base}/cinema_program/by_movie").text) == polish_date(
        ANCHOR + timedelta(1)
    )


def test_sessions_keep_their_own_day_under_concurrency(demo: SiteSimulator) -> None:
    base = demo.base_urls["kino_krakow"]
    days, seen = (0, 1, 2, 6), {}  # days without demo faults
    ready, chosen = threading.Barrier(len(days), timeout=60), threading.Barrier(len(days), timeout=60)

    def scrape_day(n: int) -> None:
        ready.wait()
        session, token = open_session(base)
        assert set_day(session, base, n, token).status_code == 302
        chosen.wait()  # every session has chosen before anyone reads
        seen[n] = date_header(session.get(f"{base}/cinema_program/by_movie").text)

    threads = [threading.Thread(target=scrape_day, args=(n,), daemon=True) for n in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert seen == {n: polish_date(ANCHOR + timedelta(n)) for n in days}
    program_reads = [r for r in demo.request_log if r.method == "GET" and r.day is not None]
    assert len({r.session for r in program_reads}) == len(days)
    assert sorted(r.day for r in program_reads) == sorted(days)


def test_a_shared_session_is_overwritten_by_the_last_set_day(demo: SiteSimulator) -> None:
    base = demo.base_urls["kino_krakow"]
    session, token = open_session(base)
    first_chose, second_chose = threading.Event(), threading.Event()
    pages = {}

    def day_task(n: int, wait: threading.Event | None, done: threading.Event) -> None:
        if wait:
            wait.wait(5)
        assert set_day(session, base, n, token).status_code == 302
        done.set()
        second_chose.wait(5)
        pages[n] = date_header(session.get(f"{base}/cinema_program/by_movie").text)

    threads = [
        threading.Thread(target=day_task, args=(1, None, first_chose), daemon=True),
        threading.Thread(target=day_task, args=(2, first_chose, second_chose), daemon=True),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert pages == {1: polish_date(ANCHOR + timedelta(2)), 2: polish_date(ANCHOR + timedelta(2))}


def test_legitimately_empty_day_shows_the_notice(demo: SiteSimulator) -> None:
    base = demo.base_urls["kino_krakow"]
    session, token = open_session(base)
    set_day(session, base, 4, token)
    page = session.get(f"{base}/cinema_program/by_movie").text
    assert '<p class="notice">Brak seansów w wybranym dniu.</p>' in page
    assert 'class="repert"' not in page


def test_movie_page_has_the_labelled_facts_and_escapes_html(sitesim_factory: SitesimFactory) -> None:
    sim = sitesim_factory(small_scenario(), anchor_date=ANCHOR)
    base = sim.base_urls["kino_krakow"]
    page = requests.get(f"{base}/film/wybieram-ciebie.html").text
    assert "<h1>Wybieram ciebie</h1>" in page
    assert "<strong>Tytuł oryginalny:</strong> Eternity</p>" in page
    # A current release: no year under "Produkcja", a "Premiera" date instead (the anchor is 2025).
    assert "<strong>Produkcja:</strong> USA</p>" in page
    assert re.search(r"<strong>Premiera:</strong> \d{1,2} [a-ząćęłńóśźż]+ 2025</p>", page)
    assert "<strong>Czas trwania:</strong> 110 min.</p>" in page
    assert re.search(r"<strong>Reżyseria:</strong> <a href=\"[^\"]+\">Jan Kowalski</a>", page)
    odd = requests.get(f"{base}/film/zimowy-ogrod-syn.html").text
    assert "<h1>Zimowy &lt;ogród&gt; &amp; &quot;syn&quot;</h1>" in odd
    program = requests.get(f"{base}/cinema_program/by_movie").text
    assert "Zimowy &lt;ogród&gt; &amp; &quot;syn&quot;</a>" in program
    assert lxml_html.fromstring(program).xpath("//a[@href='/film/zimowy-ogrod-syn.html']")


# --- TMDB -------------------------------------------------------------------------------------


def test_tmdb_search_rejects_a_bad_key_and_localises_titles(demo: SiteSimulator) -> None:
    url = f"{demo.base_urls['tmdb']}/3/search/movie"
    bad = requests.get(url, params={"api_key": "wrong", "query": "Zootopia 2"})
    assert bad.status_code == 401 and bad.json()["status_code"] == 7
    key = demo.scenario.tmdb_api_key
    english = requests.get(url, params={"api_key": key, "query": "Zootopia 2"}).json()
    polish = requests.get(url, params={"api_key": key, "query": "Zwierzogród 2", "language": "pl-PL"}).json()
    assert english["results"][0]["title"] == "Zootopia 2"
    assert polish["results"][0]["title"] == "Zwierzogród 2"
    assert polish["results"][0]["original_title"] == "Zootopia 2"
    assert requests.get(url, params={"api_key": key, "query": "Nic takiego"}).json()["total_results"] == 0
    assert all("wrong" not in r.query and key not in r.query for r in demo.request_log)  # key never logged


# --- determinism ------------------------------------------------------------------------------


def test_same_scenario_and_anchor_give_byte_identical_answers(sitesim_factory: SitesimFactory) -> None:
    def fetch(sim: SiteSimulator) -> list[bytes]:
        cc, kk, tmdb = sim.base_urls["cinema_city"], sim.base_urls["kino_krakow"], sim.base_urls["tmdb"]
        session, token = open_session(kk)
        set_day(session, kk, 2, token)
        return [
            requests.get(f"{cc}{API}/cinemas/with-event/until/{day(7)}").content,
            requests.get(f"{cc}{API}/dates/in-cinema/1076/until/{day(7)}").content,
            requests.get(f"{cc}{API}/film-events/in-cinema/1076/at-date/{day(3)}").content,
            session.get(f"{kk}/cinema_program/by_movie").content,
            requests.get(f"{kk}/film/dom-dobry.html").content,
            requests.get(
                f"{tmdb}/3/search/movie", params={"api_key": "sitesim-demo-key", "query": "Dom dobry"}
            ).content,
        ]

    first = fetch(sitesim_factory("demo", anchor_date=ANCHOR))
    assert first == fetch(sitesim_factory("demo", anchor_date=ANCHOR))

    later = sitesim_factory("demo", anchor_date=ANCHOR + timedelta(days=10))
    events = f"{later.base_urls['cinema_city']}{API}/film-events/in-cinema/1076/at-date/"
    moved = requests.get(events + (ANCHOR + timedelta(days=13)).isoformat()).content
    shifted = first[2]
    for n in (3, 4):  # day 4: a screening after midnight is filed under day 3
        shifted = shifted.replace(day(n).encode(), (ANCHOR + timedelta(days=10 + n)).isoformat().encode())
    assert moved == shifted


# --- command line -----------------------------------------------------------------------------


def test_cli_serves_a_scenario_until_terminated() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sitesim", "--scenario", "clean", "--port", "0", "--anchor-date", day(0)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        urls = dict(line.split() for line in lines[1:])
        assert "anchor date 2025-11-24" in lines[0]
        assert set(urls) == {"cinema_city", "kino_krakow", "tmdb"}
        answer = requests.get(f"{urls['cinema_city']}{API}/dates/in-cinema/1090/until/{day(1)}", timeout=5)
        assert answer.json()["body"]["dates"][-2:] == [day(0), day(1)]
        assert "/dates/in-cinema/1090" in proc.stdout.readline()  # one log line per request
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_cli_prints_predictions_and_rejects_a_bad_scenario(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sitesim", "--scenario", "clean", "--predict", "--days-ahead", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"units_total": 6' in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults: [{site: tmdb, kind: status}]\n")
    failed = subprocess.run(
        [sys.executable, "-m", "sitesim", "--scenario", str(bad)], capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert "bad.yaml: faults[0].status: is required" in failed.stderr


def test_cli_tells_a_scenario_it_cannot_predict_from_an_invalid_one(tmp_path) -> None:
    partial = tmp_path / "partial.yaml"
    only_polish = {"site": "tmdb", "query": {"language": "pl-PL"}, "kind": "status", "status": 502}
    partial.write_text(yaml.safe_dump({**SMALL, "faults": [only_polish]}))
    refused = subprocess.run(
        [sys.executable, "-m", "sitesim", "--scenario", str(partial), "--predict"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 3
    assert refused.stderr.startswith("sitesim: partial.yaml: cannot predict: TMDB faults fail")
    assert "Traceback" not in refused.stderr


# --- cities -----------------------------------------------------------------------------------


def test_three_cities_on_both_sites_each_with_its_own_data(sitesim_factory: SitesimFactory) -> None:
    sim = sitesim_factory("clean", anchor_date=ANCHOR)
    base = sim.base_urls
    catalog = sim.scenario.catalog
    films = {}
    for slug, city in (("krakow", "Kraków"), ("warszawa", "Warszawa"), ("wroclaw", "Wrocław")):
        root = base["kino_krakow"] + ("" if slug == "krakow" else f"/cities/{slug}")
        session, token = open_session(root)
        session.post(f"{root}/settings/set_day/1", headers={"X-CSRF-Token": token}, timeout=5)
        page = session.get(f"{root}/cinema_program/by_movie", timeout=5).text
        assert date_header(page) == polish_date(ANCHOR + timedelta(days=1))
        tree = lxml_html.fromstring(page)
        titles = [
            a.text_content() for a in tree.xpath("//table[@class='repert']//a[contains(@class,'film')]")
        ]
        assert titles == [fd.film.title_pl for fd in catalog.kk_cities[slug].programme[1]]
        cinemas = {a.text_content() for a in tree.xpath("//td[@class='cinema_film']/a")}
        films[slug] = (tuple(titles), frozenset(cinemas))
        answer = requests.get(f"{base['cinema_city']}{API}/cinemas/with-event/until/{day(1)}", timeout=5)
        in_city = [c["id"] for c in answer.json()["body"]["cinemas"] if c["addressInfo"]["city"] == city]
        assert in_city == [c.id for c in sim.scenario.cinema_city.cinemas if c.city == city]
    assert len(set(films.values())) == 3
    assert len({cinemas for _, cinemas in films.values()}) == 3  # each city its own cinemas
    # A city the site family does not have, and another city's session cookie, are not served.
    assert (
        requests.get(f"{base['kino_krakow']}/cities/gdansk/cinema_program/by_movie", timeout=5).status_code
        == 404
    )
    krakow, token = open_session(base["kino_krakow"])
    refused = krakow.post(
        f"{base['kino_krakow']}/cities/warszawa/settings/set_day/1",
        headers={"X-CSRF-Token": token},
        timeout=5,
    )
    assert refused.status_code == 422


def test_a_fault_rule_names_its_city_by_path(sitesim_factory: SitesimFactory) -> None:
    layout = {
        "site": "kino_krakow",
        "path": "/cities/warszawa/cinema_program/by_movie",
        "kind": "selector_removed",
    }
    scenario = small_scenario(
        kino_krakow={"cities": [{"slug": "krakow"}, {"slug": "warszawa"}]}, faults=[layout]
    )
    sim = sitesim_factory(scenario, anchor_date=ANCHOR)
    root = sim.base_urls["kino_krakow"]
    assert 'class="repert"' in requests.get(f"{root}/cinema_program/by_movie", timeout=5).text
    assert (
        'class="repert"'
        not in requests.get(f"{root}/cities/warszawa/cinema_program/by_movie", timeout=5).text
    )
