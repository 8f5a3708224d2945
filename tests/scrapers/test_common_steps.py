"""plan_films, collect_matches and the shared showtimes step (with the real PostgreSQL sink)."""

from __future__ import annotations

from scrapers.common_steps import collect_matches, film_match_result, plan_films, store_showtimes
from scrapers.outcome import MatchQuality, StepResult
from scrapers.sink import PostgresShowtimeSink
from scrapers.tmdb.matching import MatchResult


def unit(
    films: list[str],
    showtimes: list[dict] | None = None,
    skip: str | None = None,
    day: str = "2025-11-24",
) -> dict:
    return StepResult(
        data={
            "unit": {"date": day},
            "films": [{"film_key": f, "title": f.title()} for f in films],
            "showtimes": showtimes or [],
        },
        skip_reason=skip,
    ).to_dict()


MON, TUE, WED = "2025-11-24", "2025-11-25", "2025-11-26"


def test_plan_films_unique_across_successful_units_only():
    units = [{"date": MON}, {"date": MON}, {"date": TUE}, {"date": WED}]
    results = [
        unit(["a", "b"], [showtime("1", "a"), showtime("2", "a"), showtime("3", "b")], day=MON),
        unit(["b", "c"], [showtime("4", "b"), showtime("5", "c")], day=MON),
        None,  # Tuesday's unit failed
        unit([], skip="nothing scheduled", day=WED),
    ]
    result = plan_films(results, units)
    assert [f["film_key"] for f in result.data["films"]] == ["a", "b", "c"]
    assert result.counts == {"units": 2, "films": 3}
    # Showtimes per film and date, summed over a date's units; 0 on the legitimately empty Wednesday;
    # nothing on Tuesday, whose unit failed (the film may have screened there).
    assert {f["film_key"]: f["listed_showtimes"] for f in result.data["films"]} == {
        "a": {MON: 2, WED: 0},
        "b": {MON: 2, WED: 0},
        "c": {MON: 1, WED: 0},
    }


def test_a_date_with_one_failed_unit_of_several_is_not_compared():
    result = plan_films([unit(["a"], [showtime("1", "a")], day=MON), None], [{"date": MON}, {"date": MON}])
    assert result.data["films"][0]["listed_showtimes"] == {}


def match(matched: bool, reason: str | None = None) -> MatchResult:
    return MatchResult(matched, 7 if matched else None, 7, 0.9 if matched else 0.55, reason, "T", 1)


def test_film_match_result_outcomes():
    ok = film_match_result(external_id="cc_film_a", film_key="a", title="A", match=match(True))
    assert ok.items[0].outcome == "created" and ok.counts == {"matched": 1, "not_matched": 0}
    assert ok.data == {
        "film_key": "a",
        "matched": True,
        "tmdb_id": 7,
        "confidence": 0.9,
        "reason": None,
        "title": "A",
        "runtime": None,
        "imdb_id": None,
    }
    review = film_match_result(
        external_id="cc_film_b", film_key="b", title="B", match=match(False, "tmdb_needs_review")
    )
    item = review.items[0]
    assert (item.outcome, item.category, item.reason) == ("failed", "validation_error", "tmdb_needs_review")
    assert review.counts == {"matched": 0, "not_matched": 1}
    # The film item carries its match quality to the monitor, through XCom as a plain dict.
    assert item.match == MatchQuality("B", 0.55, None, 7, "T")
    assert StepResult.from_dict(review.to_dict()).items == review.items


def test_collect_matches_ignores_failed_detail_tasks():
    results = [
        film_match_result(external_id="x_a", film_key="a", title="A", match=match(True)).to_dict(),
        None,
        film_match_result(
            external_id="x_b", film_key="b", title="B", match=match(False, "tmdb_no_results")
        ).to_dict(),
    ]
    result = collect_matches(results)
    assert set(result.data["matches"]) == {"a", "b"}
    assert result.data["matches"]["b"]["reason"] == "tmdb_no_results"
    assert result.counts == {"matched": 1, "not_matched": 1}


def showtime(
    external_id: str | None,
    film_key: str | None,
    starts_at: str | None = "2025-11-24T18:30:00+01:00",
    version: str | None = None,
):
    return {
        "external_id": external_id,
        "film_key": film_key,
        "title": "T",
        "cinema": "Bonarka",
        "starts_at": starts_at,
        "payload": {},
        **({"version": version} if version else {}),
    }


def test_store_showtimes_outcomes_and_rerun(pg_dsn):
    matches = {
        "a": {"matched": True, "tmdb_id": 1, "reason": None},
        "b": {"matched": False, "tmdb_id": None, "reason": "tmdb_no_results"},
    }
    unit_result = unit(
        ["a", "b"],
        [
            showtime("s1", "a"),
            showtime("s2", "a", version="subtitled 3D IMAX"),
            showtime("s1", "a"),  # repeated by the listing
            showtime("s3", "b"),
            showtime("s4", "gone"),  # its movie_details task failed
            showtime("s5", "a", starts_at=None),
            showtime("s6", "a", starts_at="24 listopada"),
            showtime(None, "a"),
        ],
    )
    sink = PostgresShowtimeSink(pg_dsn)
    first = store_showtimes(unit_result, matches, sink, source="test")
    assert first.counts == {"showtimes": 8, "created": 2, "updated": 0, "skipped": 3, "failed": 3}
    by_id = {(i.external_id, i.outcome): i for i in first.items}
    assert by_id[("s3", "skipped_expected")].reason == "film_not_matched:tmdb_no_results"
    assert by_id[("s4", "skipped_expected")].reason == "film_detail_missing"
    assert by_id[("s1", "skipped_expected")].reason == "duplicate_in_unit"
    assert by_id[("s5", "failed")].reason == "missing_field:starts_at"
    assert by_id[("s5", "failed")].category == "validation_error"
    assert by_id[("s6", "failed")].reason == "missing_field:starts_at"
    assert by_id[("test_showtime_without_id_7", "failed")].reason == "missing_field:external_id"
    # A stored showtime says which version it is; one whose listing gives none (Kino Krakow) says nothing.
    assert by_id[("s2", "created")].reason == "version:subtitled 3D IMAX"
    assert by_id[("s1", "created")].reason is None
    second = store_showtimes(unit_result, matches, sink, source="test")
    assert (second.counts["created"], second.counts["updated"]) == (0, 2)
    assert {i.external_id: i.reason for i in second.items if i.outcome == "updated"} == {
        "s1": None,
        "s2": "version:subtitled 3D IMAX",
    }


def test_store_showtimes_of_an_empty_unit_does_not_touch_the_sink():
    unreachable = PostgresShowtimeSink("postgresql://nobody@/none?host=/nonexistent&connect_timeout=1")
    result = store_showtimes(unit([]), {}, unreachable, source="test")
    assert result.counts == {"showtimes": 0, "created": 0, "updated": 0, "skipped": 0, "failed": 0}
