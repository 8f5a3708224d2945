"""The Matching report on factory rows: matched-film rates per scraper and UTC day against the SLO
file's target, a film counted once per run (its latest try), the films that fail most, the weakest
matches, the reader's DAGs; and its two faces, the API and ``scraper-monitor matching --json``,
giving the same answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from scraper_monitor import slo
from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.reports import matching
from scraper_monitor.store.db import connect
from scraper_monitor.web import create_app
from scrapers.outcome import ItemOutcome
from tests.factories import NOW, film, make_summary, save_all
from tests.fixtures.alert_store import migrated_store_fixture, store_fixture  # noqa: F401
from tests.fixtures.cli import run_cli

XSS_TITLE = "<script>alert('film')</script> Dom dobry"
TARGET = slo.DEFAULT_MATCHING  # 80 % from at least 10 films; matches below 80 % listed


def movie_details(
    run_id: str, at: datetime, films: list[ItemOutcome], *, dag_id: str = "cinema_city", try_number: int = 1
) -> list[ExecutionSummary]:
    """One run's movie_details tasks, one film each (map index = position)."""
    return [
        make_summary(
            dag_id=dag_id,
            run_id=run_id,
            task_id="movie_details",
            map_index=i,
            try_number=try_number,
            started_at=at + timedelta(seconds=i),
            items=[f],
        )
        for i, f in enumerate(films)
    ]


def matched(n: int, prefix: str = "m", **match: object) -> list[ItemOutcome]:
    return [film(f"cinema_city_film_{prefix}{i}", f"Film {prefix}{i}", **match) for i in range(n)]  # type: ignore[arg-type]


def dom_dobry() -> ItemOutcome:
    return film(
        "cinema_city_film_dom",
        XSS_TITLE,
        confidence=0.595,
        reason="tmdb_needs_review",
        method="polish_exact+any_year",
        tmdb_id=100171,
        tmdb_title="Dom dobry (1979)",
    )


def seed(store: str, now: datetime) -> None:
    """cinema_city: 9 of 10 matched the day before; two runs today, 6 of 10 and 7 of 10 (Dom dobry
    failed on its first try and matched when cleared and run again: counted once, matched).
    kino_krakow today: 4 of 5. The weak match, 0.72, is in both of today's cinema_city runs."""
    yesterday, today = now - timedelta(hours=30), now - timedelta(hours=2)
    weak = film("cinema_city_film_weak", "Serce wojownika", confidence=0.72, method="guessed_split_exact")
    summaries = movie_details("cc-y", yesterday, [*matched(9), dom_dobry()])
    summaries += movie_details(
        "cc-1",
        today,
        [
            *matched(4),
            weak,
            film("cinema_city_film_x", "Sezon na misia", confidence=0.33, reason="tmdb_low_confidence"),
            film("cinema_city_film_y", "Maraton", confidence=0.0, reason="tmdb_no_results", method=None),
            film("cinema_city_film_z", "Kulej", confidence=0.34, reason="tmdb_low_confidence"),
            dom_dobry(),
            matched(1, prefix="p", method="polish_exact+any_year+page2")[0],
        ],
    )
    unknown = [
        film(f"cinema_city_film_q{i}", f"Maraton {i}", confidence=0.0, reason="tmdb_no_results", method=None)
        for i in range(3)
    ]
    later = today + timedelta(minutes=30)
    summaries += movie_details("cc-2", later, [*matched(5, prefix="n"), dom_dobry(), *unknown, weak])
    rerun = film("cinema_city_film_dom", XSS_TITLE, confidence=0.9, tmdb_id=100170, tmdb_title="Dom dobry")
    summaries += [
        make_summary(
            run_id="cc-2",
            task_id="movie_details",
            map_index=5,
            try_number=2,
            started_at=later + timedelta(minutes=10),
            items=[rerun],
        )
    ]
    summaries += movie_details("kk-1", today, [*matched(4, prefix="k"), dom_dobry()], dag_id="kino_krakow")
    save_all(store, summaries)


def test_rates_per_day_failing_films_and_weak_matches(store: str) -> None:
    seed(store, NOW)
    with connect(store) as conn:
        report = matching.matching(conn, 7, target=TARGET, now=NOW)
        scoped = matching.matching(conn, 7, target=TARGET, now=NOW, visible=frozenset({"kino_krakow"}))
        one = matching.matching(conn, 1, target=TARGET, now=NOW, scraper="cinema_city")

    assert (report.first_day, report.last_day) == ((NOW - timedelta(days=6)).date(), NOW.date())
    cc, kk = report.scrapers
    assert [(d.day, d.films, d.matched, d.status) for d in cc.days] == [
        ((NOW - timedelta(days=1)).date(), 10, 9, slo.MET),
        (NOW.date(), 20, 13, slo.BELOW_TARGET),  # 6 of 10, then 7 of 10 with the rerun's match
    ]
    assert (cc.films, cc.matched, cc.matched_rate) == (30, 22, pytest.approx(22 / 30))
    assert cc.methods["guessed_split_exact"] == 2 and cc.methods["polish_exact+any_year+page2"] == 1
    assert [(d.films, d.matched, d.status) for d in kk.days] == [(5, 4, slo.INSUFFICIENT_DATA)]

    # Dom dobry did not match in two cinema_city runs (and one kino_krakow run); cc-2's rerun matched.
    top = report.failing[0]
    assert (top.title, top.failures, top.last_reason) == (XSS_TITLE, 2, "tmdb_needs_review")
    assert (top.last_confidence, top.last_candidate) == (0.595, "Dom dobry (1979)")
    assert [f.scraper for f in report.failing].count("kino_krakow") == 1
    assert sorted(f.external_id for f in report.failing if f.scraper == "cinema_city") == [
        "cinema_city_film_dom",
        *(f"cinema_city_film_q{i}" for i in range(3)),
        "cinema_city_film_x",
        "cinema_city_film_y",
        "cinema_city_film_z",
    ]

    [weak] = report.low_confidence
    assert (weak.title, weak.confidence, weak.method, weak.runs) == (
        "Serce wojownika",
        0.72,
        "guessed_split_exact",
        2,
    )

    assert [s.scraper for s in scoped.scrapers] == ["kino_krakow"]
    assert {f.scraper for f in scoped.failing} == {"kino_krakow"} and scoped.low_confidence == []
    assert [s.scraper for s in one.scrapers] == ["cinema_city"] and len(one.scrapers[0].days) == 1


def test_matched_rates_over_a_window_name_the_film_that_fails_most(store: str) -> None:
    seed(store, NOW)
    with connect(store) as conn:
        rates = matching.matched_rates(conn, since=NOW - timedelta(hours=24), until=NOW)
    cc, kk = rates  # the day before is outside the 24 hours
    assert (cc.scraper, cc.films, cc.matched, cc.matched_rate, cc.top_failures) == (
        "cinema_city",
        20,
        13,
        0.65,
        1,
    )
    assert (kk.films, kk.matched, kk.top_title, kk.top_reason) == (5, 4, XSS_TITLE, "tmdb_needs_review")


def test_bad_windows_are_refused(store: str) -> None:
    with connect(store) as conn:
        for days in (0, matching.MAX_DAYS + 1):
            with pytest.raises(ValueError, match="days must be a whole number from 1 to 90"):
                matching.matching(conn, days, target=TARGET)


@pytest.fixture
def api(store: str) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: store, lambda: None)) as client:
        yield client


def test_the_cli_json_is_the_apis(store: str, api: TestClient) -> None:
    # The faces read "the last N days" from the clock: seed around now.
    seed(store, datetime.now(UTC))
    for params in ({"days": 2}, {"days": 30, "scraper": "kino_krakow"}):
        args = [f"--{k}={v}" for k, v in params.items()]
        result = run_cli("matching", *args, "--json", "--dsn", store)
        assert result.returncode == 0, result.stderr
        cli = json.loads(result.stdout)
        assert cli == api.get("/api/matching", params=params).json()
        assert cli["scrapers"] and XSS_TITLE in {f["title"] for f in cli["failing"]}

    table = run_cli("matching", "--days", "2", "--dsn", store)
    assert table.returncode == 0, table.stderr
    assert "BELOW TARGET" in table.stdout and XSS_TITLE in table.stdout and "Serce wojownika" in table.stdout

    assert api.get("/api/matching", params={"days": 0}).status_code == 422
    bad = run_cli("matching", "--days", "0", "--dsn", store)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "scraper-monitor: --days must be a whole number from 1 to 90, got 0"
    )
