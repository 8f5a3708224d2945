"""TMDB confidence bands and predict(), checked against the live simulator.

The confidence formula and a minimal correct scraper are written here from docs/architecture.md,
independently of sitesim, so these tests catch the simulator and its predictions disagreeing
with the contract, not only with themselves.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
import requests
from lxml import html as lxml_html

from sitesim import SiteSimulator, load
from sitesim.generate import Film
from sitesim.polish import polish_date, strip_diacritics
from sitesim.predict import CannotPredict
from sitesim.scenario import ScenarioError
from tests.fixtures.sitesim import ANCHOR, SitesimFactory, small_scenario

API = "/pl/data-api-service/v1/quickbook/10103"
SEPARATORS = (". ", ": ", " - ", " – ", " — ")
UUID_SUFFIX = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --- the contract's confidence formula --------------------------------------------------------


def jaro(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_hit, b_hit = [False] * len(a), [False] * len(b)
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_hit[j] and b[j] == ch:
                a_hit[i] = b_hit[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    b_matched = iter(ch for ch, hit in zip(b, b_hit, strict=True) if hit)
    half_transpositions = sum(ch != next(b_matched) for ch, hit in zip(a, a_hit, strict=True) if hit)
    return (matches / len(a) + matches / len(b) + (matches - half_transpositions / 2) / matches) / 3


def confidence(queries: list[str], year: int | None, language: str | None, result: dict) -> float:
    title = max(
        jaro(q.lower(), t.lower()) for q in queries for t in (result["title"], result["original_title"])
    )
    found_year = int(result["release_date"][:4]) if result.get("release_date") else None
    if year is None or found_year is None:
        year_score = 0.5
    else:
        year_score = {0: 1.0, 1: 0.8, 2: 0.5}.get(abs(year - found_year), 0.0)
    pop = result["popularity"]
    pop_score = 1.0 if pop >= 100 else 0.8 if pop >= 50 else 0.6 if pop >= 20 else 0.4 if pop >= 5 else 0.2
    if language is None:
        lang_score = 0.5
    elif result["original_language"] == language:
        lang_score = 1.0
    else:
        lang_score = 0.7 if result["original_language"] == "en" else 0.5
    return 0.40 * title + 0.30 * year_score + 0.15 * pop_score + 0.15 * lang_score


def split_original(name: str) -> str | None:
    for sep in SEPARATORS:
        if sep in name:
            return name.split(sep, 1)[0]
    return None


class Tmdb:
    def __init__(self, sim: SiteSimulator, timeout: float = 3.0) -> None:
        self.url = f"{sim.base_urls['tmdb']}/3/search/movie"
        self.key = sim.scenario.tmdb_api_key
        self.timeout = timeout
        self.http = requests.Session()

    def search(self, query: str, language: str | None = None, pages: int = 3) -> list[dict]:
        """The results of the first ``pages`` pages (a correct scraper reads up to 3)."""
        results: list[dict] = []
        page, total = 1, 1
        while page <= min(total, pages):
            answer = self.page(query, language, page)
            results += answer["results"]
            page, total = page + 1, answer["total_pages"]
        return results

    def page(self, query: str, language: str | None, page: int) -> dict:
        params = {"api_key": self.key, "query": query, "page": page}
        params.update({"language": language} if language else {})
        for _ in range(2):  # a timeout is retried, as the HTTP client does
            try:
                answer = self.http.get(self.url, params=params, timeout=self.timeout)
            except requests.Timeout:
                continue
            answer.raise_for_status()
            return answer.json()
        raise AssertionError(f"TMDB did not answer {query!r}")

    def best(
        self, original: str | None, polish: str, year: int, languages: list[str | None], pages: int = 3
    ) -> list[float] | None:
        """Best confidence under each language reading; None when no query finds anything."""
        queries = [q for q in (original, polish) if q]
        results = (self.search(original, pages=pages) if original else []) + self.search(
            polish, "pl-PL", pages
        )
        if not results:
            return None
        return [max(confidence(queries, year, lang, r) for r in results) for lang in languages]


def cinema_city_form(film: Film) -> tuple[str | None, str]:
    return (split_original(film.cc_name) if film.language == "en" else None), film.cc_name


BANDS = {
    "match": (0.75, 1.0),
    "split_match": (0.75, 1.0),
    "paged_match": (0.75, 1.0),
    "needs_review": (0.55, 0.65),
    "low_confidence": (0.0, 0.45),
}


def test_every_demo_film_lands_inside_its_tmdb_band(sitesim_factory: SitesimFactory) -> None:
    demo = dataclasses.replace(load("demo"), faults=())  # data only: no TMDB delay
    tmdb = Tmdb(sitesim_factory(demo))
    for film in demo.catalog.films:
        # The film's language as a scraper may read it: unknown, ISO code, Cinema City's attribute code.
        languages = [None, film.language, "en-us" if film.language == "en" else film.language]
        forms = {"kino_krakow": (film.title_original, film.title_pl), "cinema_city": cinema_city_form(film)}
        for site, (original, polish) in forms.items():
            scores = tmdb.best(original, polish, film.year, languages)
            where = f"{film.title_pl!r} ({film.tmdb}) as {site} sends it"
            if film.tmdb == "no_result":
                assert scores is None, where
                continue
            assert scores is not None, where
            low, high = BANDS[film.tmdb]
            assert all(low <= s <= high for s in scores), f"{where}: {scores}"
        if film.tmdb == "split_match":  # without the split, Cinema City's name finds nothing
            assert tmdb.search(film.cc_name, "pl-PL") == [], film.cc_name
        if film.tmdb == "paged_match":  # its first page is all namesakes: "needs review" without page 2
            first_page = tmdb.best(film.title_original, film.title_pl, film.year, languages, pages=1)
            assert first_page is not None and all(0.55 <= s <= 0.65 for s in first_page), first_page
    assert any(f.tmdb == "paged_match" for f in demo.catalog.films), "the demo has a film on page 2"


# --- predict() --------------------------------------------------------------------------------


def test_demo_units_are_as_designed() -> None:
    demo = load("demo")
    units = ("total", "succeeded", "failed", "skipped", "silent", "retried")
    cinema_city = demo.predict("cinema_city", anchor_date=ANCHOR)
    kino_krakow = demo.predict("kino_krakow", anchor_date=ANCHOR)
    assert [cinema_city[f"units_{u}"] for u in units] == [21, 19, 1, 1, 1, 3]
    assert [kino_krakow[f"units_{u}"] for u in units] == [7, 5, 1, 1, 0, 1]
    for counts in (cinema_city, kino_krakow):
        assert counts["showtime_batches_upstream_failed"] == counts["units_failed"] == 1
        assert counts["films_silent"] == 0  # no Kino Krakow day page loses rows silently
        assert counts["showtimes_created"] + counts["showtimes_skipped"] == counts["showtimes_total"]
        assert counts["films_matched"] + counts["films_not_matched"] == counts["films_total"]
        assert 0.25 <= counts["films_not_matched"] / counts["films_total"] <= 0.35


def test_demo_other_cities_are_as_documented() -> None:
    # docs/scenarios.md, "The bundled scenarios": the other cities run clean, with data of their own.
    demo = load("demo")
    keys = (
        "units_total",
        "units_skipped",
        "films_total",
        "films_matched",
        "showtimes_total",
        "showtimes_created",
    )
    documented = {
        ("Warszawa", "cinema_city"): (14, 0, 16, 16, 483, 483),
        ("Warszawa", "kino_krakow"): (7, 0, 48, 34, 970, 684),
        ("Wrocław", "cinema_city"): (7, 2, 12, 12, 111, 111),
        ("Wrocław", "kino_krakow"): (7, 2, 27, 19, 376, 261),
    }
    for (city, chain), expected in documented.items():
        counts = demo.predict(chain, city_name=city, anchor_date=ANCHOR)
        assert tuple(counts[k] for k in keys) == expected, (city, chain)
        assert counts["units_failed"] == counts["units_silent"] == counts["sync_failed"] == 0


@pytest.mark.parametrize(
    ("rule", "attempts", "tries", "state"),
    [
        ({"kind": "status", "status": 503, "first_n": 1}, 2, 3, "ok"),  # the client absorbs it
        ({"kind": "status", "status": 503, "first_n": 2}, 2, 3, "retried"),
        ({"kind": "status", "status": 503, "first_n": 5}, 2, 3, "retried"),
        ({"kind": "status", "status": 503, "first_n": 6}, 2, 3, "failed"),  # N >= attempts * tries
        ({"kind": "status", "status": 503, "first_n": 2}, 3, 3, "ok"),
        ({"kind": "status", "status": 404, "first_n": 2}, 2, 3, "retried"),  # not retried by the client
        ({"kind": "truncated_json", "first_n": 2}, 2, 3, "retried"),
        ({"kind": "truncated_json", "first_n": 3}, 2, 3, "failed"),
        ({"kind": "delay", "seconds": 6, "first_n": 1}, 2, 3, "ok"),
        ({"kind": "delay", "seconds": 1}, 2, 3, "ok"),  # slow, within the timeout
        ({"kind": "delay", "seconds": 6}, 2, 3, "failed"),
        ({"kind": "empty"}, 2, 3, "silent"),
    ],
)
def test_a_unit_fault_is_survived_or_exhausted_as_the_contract_says(
    rule: dict, attempts: int, tries: int, state: str
) -> None:
    fault = {"site": "cinema_city", "path": "*/film-events/in-cinema/1090/at-date/{day+1}", **rule}
    counts = small_scenario(faults=[fault]).predict(
        "cinema_city", days_ahead=3, client_attempts=attempts, task_tries=tries, anchor_date=ANCHOR
    )
    observed = {
        "ok": (0, 0, 0),
        "retried": (0, 1, 0),
        "failed": (1, 0, 0),
        "silent": (0, 0, 1),
    }[state]
    assert (counts["units_failed"], counts["units_retried"], counts["units_silent"]) == observed


def test_an_empty_dates_list_turns_a_silent_day_into_a_skipped_one() -> None:
    silent = {"site": "cinema_city", "path": "*/film-events/in-cinema/1090/at-date/{day+1}", "kind": "empty"}
    unlisted = {"site": "cinema_city", "path": "*/dates/in-cinema/1090/*", "kind": "empty"}
    before = small_scenario(faults=[silent]).predict("cinema_city", days_ahead=3, anchor_date=ANCHOR)
    after = small_scenario(faults=[silent, unlisted]).predict("cinema_city", days_ahead=3, anchor_date=ANCHOR)
    assert (before["units_silent"], before["units_skipped"]) == (1, 1)
    assert (after["units_silent"], after["units_skipped"]) == (0, 2)


def test_films_a_silent_day_page_lost_disagree_with_their_film_pages() -> None:
    """Kino Krakow's movie_details compares each film's own page with the day pages: a day page
    without rows is silent, and so is every film planned from another day that screened on it."""
    no_rows = {"site": "kino_krakow", "path": "/cinema_program/by_movie", "day": 1, "kind": "empty"}
    scenario = small_scenario(faults=[no_rows])
    programme = scenario.catalog.programme
    planned = {fd.film for fd in programme[0]}
    counts = scenario.predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    assert counts["units_silent"] == 1
    assert counts["films_silent"] == len(planned & {fd.film for fd in programme[1]})
    assert counts["films_total"] == len(planned)
    # Cinema City has no second view of its programme: its silent day flags no film.
    silent_day = {
        "site": "cinema_city",
        "path": "*/film-events/in-cinema/1090/at-date/{day+1}",
        "kind": "empty",
    }
    assert small_scenario(faults=[silent_day]).predict("cinema_city", days_ahead=3)["films_silent"] == 0


def test_city_filter_and_days_ahead_pick_the_units() -> None:
    scenario = small_scenario()
    krakow = scenario.predict("cinema_city", days_ahead=3, anchor_date=ANCHOR)
    warsaw = scenario.predict("cinema_city", city_name="warszawa", days_ahead=2, anchor_date=ANCHOR)
    assert (krakow["units_total"], krakow["units_skipped"]) == (3, 1)  # day 2 is legitimately empty
    assert (warsaw["units_total"], warsaw["units_skipped"]) == (2, 0)
    assert scenario.predict("kino_krakow", days_ahead=3)["units_skipped"] == 1  # notice day


CINEMA_LIST = {"site": "cinema_city", "path": "*/cinemas/with-event/*"}
PROGRAMME = {"site": "kino_krakow", "path": "/cinema_program/by_movie"}


def test_an_empty_cinema_list_is_a_successful_sync_with_nothing_to_do() -> None:
    counts = small_scenario(faults=[{**CINEMA_LIST, "kind": "empty"}]).predict(
        "cinema_city", days_ahead=3, anchor_date=ANCHOR
    )
    assert counts["sync_failed"] == 0
    assert counts["units_total"] == counts["films_total"] == counts["showtimes_total"] == 0


@pytest.mark.parametrize(
    ("chain", "fault"),
    [
        ("kino_krakow", {**PROGRAMME, "kind": "selector_removed"}),  # a redesign: the sync parses it too
        ("kino_krakow", {**PROGRAMME, "kind": "status", "status": 503}),
        ("cinema_city", {"site": "cinema_city", "path": "*", "kind": "invalid_json"}),
        ("cinema_city", {**CINEMA_LIST, "kind": "status", "status": 503, "first_n": 6}),  # beyond 2 x 3
        ("cinema_city", {"site": "cinema_city", "path": "*/dates/in-cinema/*", "kind": "truncated_json"}),
    ],
)
def test_a_sync_that_keeps_failing_leaves_no_unit(chain: str, fault: dict) -> None:
    counts = small_scenario(faults=[fault]).predict(chain, days_ahead=3, anchor_date=ANCHOR)
    assert counts == {**dict.fromkeys(counts, 0), "sync_failed": 1}


def test_a_sync_fault_within_the_retries_changes_nothing() -> None:
    clean = small_scenario().predict("cinema_city", days_ahead=3, anchor_date=ANCHOR)
    shaky = {**CINEMA_LIST, "kind": "status", "status": 503, "first_n": 5}
    assert small_scenario(faults=[shaky]).predict("cinema_city", days_ahead=3, anchor_date=ANCHOR) == clean


@pytest.mark.parametrize("chain", ["cinema_city", "kino_krakow"])
def test_a_tmdb_outage_fails_every_film_and_skips_every_showtime(chain: str) -> None:
    clean = small_scenario().predict(chain, days_ahead=3, anchor_date=ANCHOR)
    down = small_scenario(faults=[{"site": "tmdb", "path": "*", "kind": "status", "status": 503}])
    counts = down.predict(chain, days_ahead=3, anchor_date=ANCHOR)
    assert counts["films_failed"] == counts["films_total"] == clean["films_total"] > 0
    assert counts["films_matched"] == counts["films_not_matched"] == 0
    assert counts["showtimes_skipped"] == counts["showtimes_total"] == clean["showtimes_total"]
    assert counts["units_succeeded"] == clean["units_succeeded"]  # the units never ask TMDB


def test_a_missing_film_page_fails_only_that_film() -> None:
    scenario = small_scenario()
    film = next(fd.film for fd in scenario.catalog.programme[0])
    page = {"site": "kino_krakow", "path": f"/film/{film.slug}.html", "kind": "status", "status": 500}
    counts = small_scenario(faults=[page]).predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    assert counts["films_failed"] == 1
    clean = scenario.predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    assert counts["films_matched"] + counts["films_not_matched"] == clean["films_total"] - 1


def test_csrf_missing_on_every_page_fails_the_sync_once_and_no_day_runs() -> None:
    counts = small_scenario(faults=[{**PROGRAMME, "kind": "csrf_missing"}]).predict(
        "kino_krakow", days_ahead=3, anchor_date=ANCHOR
    )
    assert counts["sync_failed"] == 1
    assert (counts["units_total"], counts["units_failed"], counts["films_total"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("requests", "state"),
    [([1, 6], "failed"), ([1, 2], "retried"), ([2, 7], "ok"), ([3, None], "ok")],
)
def test_a_request_range_on_one_unit_is_replayed_like_first_n(requests: list, state: str) -> None:
    """Only the from-th to the to-th request fail: a range starting after the first request never
    touches a unit that succeeds at once."""
    fault = {"site": "cinema_city", "path": "*/film-events/in-cinema/1090/at-date/{day+1}", "kind": "status"}
    scenario = small_scenario(faults=[{**fault, "status": 503, "requests": requests}])
    counts = scenario.predict("cinema_city", days_ahead=3, anchor_date=ANCHOR)
    expected = {"ok": (0, 0), "retried": (0, 1), "failed": (1, 0)}[state]
    assert (counts["units_failed"], counts["units_retried"]) == expected


SET_DAY_1 = {"site": "kino_krakow", "path": "/settings/set_day/1", "kind": "day_not_switched"}


def test_a_day_that_silently_does_not_switch_shows_day_0_and_fails_its_date_check() -> None:
    clean = small_scenario().predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    counts = small_scenario(faults=[SET_DAY_1]).predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    assert (counts["units_failed"], counts["units_succeeded"]) == (1, clean["units_succeeded"] - 1)
    on_day_0 = {**SET_DAY_1, "path": "/settings/set_day/0"}
    assert small_scenario(faults=[on_day_0]).predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR) == clean


def test_a_day_stuck_on_a_notice_day_0_is_skipped_and_its_films_disagree_with_their_pages() -> None:
    scenario = small_scenario(faults=[SET_DAY_1], kino_krakow={"empty_days": [0]})
    counts = scenario.predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    programme = scenario.catalog.programme
    assert (counts["units_skipped"], counts["units_failed"], counts["units_silent"]) == (2, 0, 0)
    day_2 = {fd.film for fd in programme[2]}
    assert counts["films_silent"] == len(day_2 & {fd.film for fd in programme[1]}) > 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"site": "cinema_city", "path": "*", "kind": "status", "status": 429, "until_s": 300},
            r"cannot predict: fault 'shaky' has a time window",
        ),
        (
            {
                "site": "cinema_city",
                "path": "*/film-events/*",
                "kind": "drop_field",
                "field": "showtime_time",
            },
            r"cannot predict: fault 'shaky' damages one cell \(drop_field showtime_time\)",
        ),
        (
            {"site": "kino_krakow", "path": "*", "kind": "garble_field", "field": "film_title"},
            r"cannot predict: fault 'shaky' damages one cell \(garble_field film_title\)",
        ),
    ],
)
def test_predictions_refuse_time_windows_and_cell_damage(fault: dict, message: str) -> None:
    scenario = small_scenario(faults=[{"name": "shaky", **fault}])
    with pytest.raises(CannotPredict, match=message):
        scenario.predict(fault["site"], days_ahead=3, anchor_date=ANCHOR)
    # A rule the chain never sends a request for does not stop its prediction.
    other = "kino_krakow" if fault["site"] == "cinema_city" else "cinema_city"
    assert scenario.predict(other, days_ahead=3, anchor_date=ANCHOR)["units_total"] > 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"site": "cinema_city", "path": "*/film-events/*", "kind": "status", "status": 503, "first_n": 2},
            r"cannot predict: fault 'shaky' \(first_n=2\) matches \d units",
        ),
        (
            {**PROGRAMME, "kind": "csrf_missing", "first_n": 1},
            r"cannot predict: fault 'shaky' \(first_n=1\) hits a request several units send",
        ),
        (
            {"site": "tmdb", "path": "*", "kind": "status", "status": 503, "first_n": 10},
            r"cannot predict: fault 'shaky' \(first_n=10\) fails film pages or TMDB requests",
        ),
        (
            {"site": "tmdb", "path": "*", "query": {"language": "pl-PL"}, "kind": "status", "status": 503},
            r"cannot predict: TMDB faults fail \d+ of the \d+ requests film",
        ),
    ],
)
def test_predictions_refuse_rules_whose_effect_depends_on_timing_or_the_scraper(
    fault: dict, message: str
) -> None:
    chain = fault["site"] if fault["site"] != "tmdb" else "cinema_city"
    scenario = small_scenario(faults=[{"name": "shaky", **fault}])
    with pytest.raises(CannotPredict, match=message):
        scenario.predict(chain, days_ahead=3, anchor_date=ANCHOR)
    assert not isinstance(CannotPredict("x"), ScenarioError)  # told apart from an invalid file


def test_unknown_chain_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="unknown chain 'imdb'"):
        small_scenario().predict("imdb")


# --- a reference scraper against the live demo ------------------------------------------------


class Failed(Exception):
    """One task try failed."""


class ReferenceScraper:
    """Just enough of a correct scraper (docs/architecture.md) to count what the demo yields."""

    def __init__(self, sim: SiteSimulator, attempts: int = 2, tries: int = 3) -> None:
        self.sim, self.attempts, self.tries = sim, attempts, tries
        self.tmdb = Tmdb(sim, timeout=1.0)
        self.counts: Counter[str] = Counter()
        self.films: dict[str, tuple[str | None, str, int, str | None]] = {}  # key -> TMDB query facts
        self.showtimes: list[tuple[str, int]] = []

    def fetch(self, http: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
        for _ in range(self.attempts):
            try:
                answer = http.request(method, url, timeout=3, **kwargs)
            except requests.Timeout:
                continue
            if answer.status_code < 500 and answer.status_code != 429:
                if answer.status_code != 200:
                    raise Failed(answer.status_code)
                return answer
        raise Failed("retries exhausted")

    def unit(self, run_try) -> None:
        for attempt in range(1, self.tries + 1):
            try:
                state = run_try()
            except (Failed, ValueError):
                continue
            self.counts["units_total"] += 1
            self.counts["units_skipped" if state == "skipped" else "units_succeeded"] += 1
            self.counts["units_silent"] += state == "silent"
            self.counts["units_retried"] += attempt > 1 and state != "skipped"
            return
        self.counts["units_total"] += 1
        self.counts["units_failed"] += 1

    def cinema_day(self, cinema: str, the_day: str, dates: list[str]) -> str:
        base = f"{self.sim.base_urls['cinema_city']}{API}"
        http = requests.Session()
        body = self.fetch(http, "GET", f"{base}/film-events/in-cinema/{cinema}/at-date/{the_day}").json()[
            "body"
        ]
        if not body.get("events"):
            return "silent" if the_day in dates else "skipped"
        for film in body["films"]:
            lang = next(
                (a.split("-")[2] for a in film["attributeIds"] if a.startswith("original-lang-")), None
            )
            original = split_original(film["name"]) if lang == "en" else None
            self.films[film["id"]] = (
                original,
                film["name"],
                int(film["releaseYear"] or film["releaseDate"][:4]),
                lang,
            )
        self.showtimes += Counter(e["filmId"] for e in body["events"]).items()
        return "succeeded"

    def day_page(self, n: int) -> str:
        base = self.sim.base_urls["kino_krakow"]
        http = requests.Session()
        first = self.fetch(http, "GET", f"{base}/cinema_program/by_movie").text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', first)
        if not token:
            raise Failed("no csrf token")
        self.fetch(http, "POST", f"{base}/settings/set_day/{n}", headers={"X-CSRF-Token": token[1]})
        doc = lxml_html.fromstring(self.fetch(http, "GET", f"{base}/cinema_program/by_movie").text)
        table = doc.xpath("//table[@class='repert']")
        if not table:
            if doc.xpath("//p[@class='notice']"):
                return "skipped"
            raise Failed("table.repert missing")
        rows = table[0].xpath("./tbody/tr")
        if not rows:
            return "silent"
        assert rows[0].xpath("string(.//th[@class='date'])") == polish_date(ANCHOR + timedelta(days=n))
        slug = None
        for row in rows[1:]:
            link = row.xpath(".//a[@class='preview-link film']/@href")
            if link:
                slug = UUID_SUFFIX.sub("", re.fullmatch(r"/film/(.+)\.html", link[0])[1])
                self.films.setdefault(slug, self.movie_page(http, slug))
            else:
                self.showtimes.append((slug, len(row.xpath(".//span[@class='hour']"))))
        return "succeeded"

    def movie_page(self, http: requests.Session, slug: str) -> tuple[str | None, str, int, str | None]:
        page = self.fetch(http, "GET", f"{self.sim.base_urls['kino_krakow']}/film/{slug}.html").text
        polish = lxml_html.fromstring(page).xpath("string(//h1)")
        original = re.search(r"<strong>Tytuł oryginalny:</strong> ([^<]+)</p>", page)[1]
        year = int(
            (re.search(r"<strong>Produkcja:</strong> [^<]*, (\d{4})</p>", page) or [None, None])[1]
            or re.search(r"<strong>Premiera:</strong> [^<]* (\d{4})</p>", page)[1]
        )
        return original, polish, year, None

    def matched(self) -> set[str]:
        return {
            key
            for key, (orig, pl, year, lang) in self.films.items()
            if (self.tmdb.best(orig, pl, year, [lang]) or [0])[0] >= 0.70
        }

    def totals(self) -> dict[str, int]:
        matched = self.matched()
        counts = dict(self.counts)
        counts["films_total"] = len(self.films)
        counts["films_matched"] = len(matched)
        counts["films_not_matched"] = len(self.films) - len(matched)
        counts["showtimes_total"] = sum(n for _, n in self.showtimes)
        counts["showtimes_created"] = sum(n for key, n in self.showtimes if key in matched)
        counts["showtimes_skipped"] = counts["showtimes_total"] - counts["showtimes_created"]
        counts["showtime_batches_upstream_failed"] = counts.get("units_failed", 0)
        return counts


def test_predictions_match_what_a_correct_scraper_gets_from_the_live_demo(
    sitesim_factory: SitesimFactory,
) -> None:
    sim = sitesim_factory("demo", anchor_date=ANCHOR)
    cinema_city = ReferenceScraper(sim)
    api, http = f"{sim.base_urls['cinema_city']}{API}", requests.Session()
    until = (ANCHOR + timedelta(days=7)).isoformat()
    cinemas = cinema_city.fetch(http, "GET", f"{api}/cinemas/with-event/until/{until}").json()["body"][
        "cinemas"
    ]
    for cinema in cinemas:  # the sync: the city's cinemas and the days each one lists
        if strip_diacritics(cinema["addressInfo"]["city"]).lower() == "krakow":
            dates_url = f"{api}/dates/in-cinema/{cinema['id']}/until/{until}"
            dates = cinema_city.fetch(http, "GET", dates_url).json()["body"]["dates"]
            for n in range(7):
                day = (ANCHOR + timedelta(days=n)).isoformat()
                cinema_city.unit(lambda c=cinema["id"], d=day, ds=dates: cinema_city.cinema_day(c, d, ds))
    kino_krakow = ReferenceScraper(sim)
    for n in range(7):
        kino_krakow.unit(lambda n=n: kino_krakow.day_page(n))

    for chain, scraper in (("cinema_city", cinema_city), ("kino_krakow", kino_krakow)):
        predicted = sim.scenario.predict(
            chain, days_ahead=7, client_attempts=2, task_tries=3, anchor_date=ANCHOR
        )
        totals = scraper.totals()
        observed = {key: totals.get(key, 0) for key in predicted}
        assert observed == predicted, chain


# --- cities -----------------------------------------------------------------------------------

TWO_SITES = {"cities": [{"slug": "krakow"}, {"slug": "lodz", "name": "Łódź", "films": 3, "days": 2}]}


def test_each_city_is_predicted_from_its_own_data_and_faults() -> None:
    scenario = small_scenario(kino_krakow=TWO_SITES)
    krakow = scenario.predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR)
    assert scenario.predict("kino_krakow", city_name="krakow", days_ahead=3, anchor_date=ANCHOR) == krakow
    lodz = scenario.predict("kino_krakow", city_name="Łódź", days_ahead=3, anchor_date=ANCHOR)
    lodz_programme = scenario.catalog.kk_cities["lodz"].programme
    assert lodz["units_total"] == 3 and lodz["units_skipped"] == 1  # Łódź shows 2 days: day 2 is empty
    assert lodz["showtimes_total"] == sum(fd.showtimes for day in lodz_programme.values() for fd in day)
    assert lodz["films_total"] == len({fd.film for day in lodz_programme.values() for fd in day})

    # A rule names its city by path: Łódź's layout change fails Łódź's days, not Kraków's.
    layout = {"site": "kino_krakow", "path": "/cities/lodz/cinema_program/by_movie", "day": 1}
    faulty = small_scenario(kino_krakow=TWO_SITES, faults=[{**layout, "kind": "selector_removed"}])
    assert faulty.predict("kino_krakow", days_ahead=3, anchor_date=ANCHOR) == krakow
    assert (
        faulty.predict("kino_krakow", city_name="lodz", days_ahead=3, anchor_date=ANCHOR)["units_failed"] == 1
    )


def test_a_city_the_sites_do_not_have() -> None:
    scenario = small_scenario()
    # Kino Krakow: the connection places it, the family has no such site; every page is a 404.
    assert scenario.predict("kino_krakow", city_name="Gdańsk", anchor_date=ANCHOR) == {
        **dict.fromkeys(scenario.predict("kino_krakow", anchor_date=ANCHOR), 0),
        "sync_failed": 1,
    }
    # Cinema City: no cinema of that city, a sync with nothing to do.
    assert not any(scenario.predict("cinema_city", city_name="Gdańsk", anchor_date=ANCHOR).values())


def test_cli_predicts_the_city_it_is_given() -> None:
    def cli(*args: str) -> dict:
        command = [sys.executable, "-m", "sitesim", "--scenario", "clean", "--predict", "--days-ahead", "2"]
        return json.loads(
            subprocess.run([*command, *args], capture_output=True, text=True, check=True).stdout
        )

    clean = load("clean")
    default, wroclaw = cli(), cli("--city", "Wrocław")
    for chain in ("cinema_city", "kino_krakow"):
        assert default[chain] == clean.predict(chain, days_ahead=2)
        assert wroclaw[chain] == clean.predict(chain, city_name="Wrocław", days_ahead=2)
        assert wroclaw[chain] != default[chain]
