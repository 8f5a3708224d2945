"""Every fault kind over real HTTP, first_n recovery and reset, and how rules pick requests."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import requests

from sitesim import SiteSimulator
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
