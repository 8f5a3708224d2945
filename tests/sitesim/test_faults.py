"""Every fault kind over real HTTP, first_n recovery and reset, request ranges and time windows,
and how rules pick requests."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from sitesim import SiteSimulator
from sitesim.faults import GARBLED, FaultEngine, FaultRule, Request
from sitesim.polish import polish_date
from tests.fixtures.sitesim import ANCHOR, SitesimFactory, small_scenario

API = "/pl/data-api-service/v1/quickbook/10103"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def day(n: int) -> str:
    return (ANCHOR + timedelta(days=n)).isoformat()


def serve(factory: SitesimFactory, *faults: dict[str, Any]) -> SiteSimulator:
    return factory(small_scenario(faults=list(faults)), anchor_date=ANCHOR)


def events_url(sim: SiteSimulator, cinema: str = "1090", n: int = 0) -> str:
    return f"{sim.base_urls['cinema_city']}{API}/film-events/in-cinema/{cinema}/at-date/{day(n)}"


def kk_day_page(sim: SiteSimulator, n: int) -> requests.Response:
    """The correct per-day flow: own session, set_day with its token, then the programme."""
    base = sim.base_urls["kino_krakow"]
    session = requests.Session()
    token = CSRF_META.search(session.get(f"{base}/cinema_program/by_movie").text)[1]
    answer = session.post(f"{base}/settings/set_day/{n}", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200
    return session.get(f"{base}/cinema_program/by_movie")


def test_status_fault_always_fails(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory, {"site": "cinema_city", "path": "*/at-date/{day}", "kind": "status", "status": 502}
    )
    assert [requests.get(events_url(sim)).status_code for _ in range(3)] == [502, 502, 502]
    assert requests.get(events_url(sim, n=1)).status_code == 200  # {day} is day 0 only


def test_429_carries_retry_after(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "cinema_city", "path": "*/at-date/*", "kind": "status", "status": 429, "retry_after": 1},
    )
    answer = requests.get(events_url(sim))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    assert answer.json()["status_code"] == 429


def test_first_n_fails_then_serves_and_reset_starts_over(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"name": "flaky", "site": "cinema_city", "path": "*/at-date/{day+1}", "kind": "status", "status": 503,
         "first_n": 2},
    )  # fmt: skip
    assert [requests.get(events_url(sim, n=1)).status_code for _ in range(3)] == [503, 503, 200]
    sim.reset()
    assert [requests.get(events_url(sim, n=1)).status_code for _ in range(3)] == [503, 503, 200]
    assert [r.fault for r in sim.request_log] == ["flaky", "flaky", None] * 2
    requests.post(f"{sim.base_url}/_sitesim/reset")  # the same over HTTP, for the CLI
    assert requests.get(events_url(sim, n=1)).status_code == 503


def test_rules_compose_in_order(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "cinema_city", "regex": r".*/film-events/in-cinema/1090/.*", "kind": "status", "status": 503,
         "first_n": 1},
        {"site": "cinema_city", "path": "*/in-cinema/1090/*", "kind": "status", "status": 429, "first_n": 1},
    )  # fmt: skip
    assert [requests.get(events_url(sim)).status_code for _ in range(3)] == [503, 429, 200]


def test_delay_beyond_the_client_timeout_times_out_once(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory, {"site": "cinema_city", "path": "*", "kind": "delay", "seconds": 0.6, "first_n": 1}
    )
    with pytest.raises(requests.Timeout):
        requests.get(events_url(sim), timeout=0.2)
    assert requests.get(events_url(sim), timeout=0.2).status_code == 200


def test_truncated_and_invalid_json(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "cinema_city", "path": "*/at-date/{day}", "kind": "truncated_json", "first_n": 1},
        {"site": "cinema_city", "path": "*/at-date/{day+1}", "kind": "invalid_json", "first_n": 1},
    )
    truncated, full = requests.get(events_url(sim)), requests.get(events_url(sim))
    assert (
        truncated.status_code == 200
        and full.text.startswith(truncated.text)
        and len(truncated.text) < len(full.text)
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.text)
    invalid = requests.get(events_url(sim, n=1))
    assert invalid.status_code == 200 and invalid.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.JSONDecodeError):
        invalid.json()


def test_empty_fault_makes_a_listed_day_answer_empty_lists(sitesim_factory: SitesimFactory) -> None:
    sim = serve(sitesim_factory, {"site": "cinema_city", "path": "*/film-events/*/{day+1}", "kind": "empty"})
    dates = requests.get(f"{sim.base_urls['cinema_city']}{API}/dates/in-cinema/1090/until/{day(3)}").json()
    assert day(1) in dates["body"]["dates"]  # still listed: a silent failure
    assert requests.get(events_url(sim, n=1)).json() == {"body": {"films": [], "events": []}}


def test_tmdb_rules_can_target_one_query(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {
            "site": "tmdb",
            "path": "/3/search/movie",
            "query": {"query": "eternity"},
            "kind": "status",
            "status": 500,
        },
    )
    url = f"{sim.base_urls['tmdb']}/3/search/movie"
    assert requests.get(url, params={"api_key": "k", "query": "Eternity"}).status_code == 500
    assert requests.get(url, params={"api_key": "k", "query": "Uciekinier"}).status_code == 200


def test_kino_krakow_layout_change_on_one_day(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "kino_krakow", "path": "/cinema_program/by_movie", "day": 1, "kind": "selector_removed"},
    )
    changed = kk_day_page(sim, 1).text
    assert 'class="repert"' not in changed and 'class="notice"' not in changed
    assert "Uciekinier" in changed  # the data is there, in another layout
    assert 'class="repert"' in kk_day_page(sim, 0).text
    # A fresh session has chosen no day yet: the rule does not touch it (nor the sync's page).
    assert 'class="repert"' in requests.get(f"{sim.base_urls['kino_krakow']}/cinema_program/by_movie").text


def test_kino_krakow_empty_table_is_not_the_notice(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "kino_krakow", "path": "/cinema_program/by_movie", "day": 0, "kind": "empty"},
    )
    page = kk_day_page(sim, 0).text
    assert '<table class="repert"><tbody></tbody></table>' in page and 'class="notice"' not in page


def test_csrf_meta_tag_missing(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "kino_krakow", "path": "/cinema_program/by_movie", "kind": "csrf_missing", "first_n": 1},
    )
    url = f"{sim.base_urls['kino_krakow']}/cinema_program/by_movie"
    first, second = requests.get(url), requests.get(url)
    assert first.status_code == 200 and "csrf-token" not in first.text.replace("csrf-param", "")
    assert 'class="repert"' in first.text and CSRF_META.search(second.text)


def test_csrf_rejected_answers_422_despite_the_right_token(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "kino_krakow", "path": "/settings/set_day/1", "kind": "csrf_rejected", "first_n": 1},
    )
    base = sim.base_urls["kino_krakow"]
    session = requests.Session()
    token = CSRF_META.search(session.get(f"{base}/cinema_program/by_movie").text)[1]
    statuses = [
        session.post(f"{base}/settings/set_day/1", headers={"X-CSRF-Token": token}).status_code for _ in "ab"
    ]
    assert statuses == [422, 200]


def test_health_endpoint_describes_the_simulator(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory, {"name": "slow", "site": "cinema_city", "path": "*", "kind": "delay", "seconds": 0}
    )
    requests.get(events_url(sim))
    health = requests.get(f"{sim.base_url}/_sitesim/health").json()
    assert health["scenario"] == "small" and health["anchor_date"] == day(0)
    assert health["tmdb"] == sim.base_urls["tmdb"]
    assert health["fault_matches"] == {"slow": 1}


def test_a_request_range_fails_only_those_requests(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "cinema_city", "path": "*/at-date/*", "kind": "status", "status": 503, "requests": [2, 3]},
    )
    assert [requests.get(events_url(sim)).status_code for _ in range(4)] == [200, 503, 503, 200]
    sim.reset()
    assert requests.get(events_url(sim)).status_code == 200  # counting starts over


def test_a_time_window_since_the_start_or_the_last_reset(sitesim_factory: SitesimFactory) -> None:
    """ "429 for the first 0.3 s": over HTTP, then the window's edges on a clock the test moves."""
    sim = serve(
        sitesim_factory,
        {"site": "cinema_city", "path": "*/at-date/*", "kind": "status", "status": 429, "until_s": 0.3},
    )
    assert requests.get(events_url(sim)).status_code == 429
    time.sleep(0.35)
    assert requests.get(events_url(sim)).status_code == 200
    sim.reset()
    assert requests.get(events_url(sim)).status_code == 429

    now = [0.0]
    rule = FaultRule("later", "tmdb", "status", path="*", status=503, from_s=10, until_s=20)
    engine = FaultEngine((rule,), ANCHOR, clock=lambda: now[0])
    search = Request("tmdb", "GET", "/3/search/movie", "search")
    seen = []
    for now[0] in (9.9, 10.0, 19.9, 20.0):
        seen.append(engine.match(search) is rule)
    assert seen == [False, True, True, False]
    assert engine.counts() == {"later": 2}  # requests outside the window are not counted


def test_drop_and_garble_one_cinema_city_cell(sitesim_factory: SitesimFactory) -> None:
    def first_rows(field: str, kind: str) -> tuple[dict, dict, list]:
        fault = {"site": "cinema_city", "path": "*/at-date/{day}", "kind": kind, "field": field}
        body = requests.get(events_url(serve(sitesim_factory, fault))).json()["body"]
        return body["films"][0], body["events"][0], body["events"][1:]

    film, event, others = first_rows("showtime_time", "drop_field")
    assert "eventDateTime" not in event and all("eventDateTime" in e for e in others)
    film, event, _ = first_rows("event_attributes", "garble_field")
    assert event["attributeIds"] == GARBLED and "eventDateTime" in event
    film, _, _ = first_rows("film_title", "drop_field")
    assert "name" not in film


def test_garble_a_kino_krakow_cell(sitesim_factory: SitesimFactory) -> None:
    fault = {"site": "kino_krakow", "path": "/cinema_program/by_movie", "day": 0, "kind": "garble_field"}
    title = serve(sitesim_factory, {**fault, "field": "film_title"})
    page = kk_day_page(title, 0).text
    assert page.count(f"{GARBLED}</a></td></tr>") == 1  # one film row lost its title
    hour = serve(sitesim_factory, {**fault, "kind": "drop_field", "field": "showtime_time"})
    assert kk_day_page(hour, 0).text.count(f'/by_cinema/{day(0)}"></a>') == 1


def test_day_not_switched_answers_as_usual_but_keeps_the_day(sitesim_factory: SitesimFactory) -> None:
    sim = serve(
        sitesim_factory,
        {"site": "kino_krakow", "path": "/settings/set_day/1", "kind": "day_not_switched"},
    )
    stuck = kk_day_page(sim, 1).text  # kk_day_page asserts the 200

    def date_row(n: int) -> str:
        return f'<th class="date" colspan="2">{polish_date(ANCHOR + timedelta(days=n))}</th>'

    assert date_row(0) in stuck and date_row(1) not in stuck  # day 0's programme, silently
    assert date_row(1) in kk_day_page(serve(sitesim_factory), 1).text
