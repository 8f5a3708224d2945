"""The chain builder on realistic runs of both scrapers (plain records; no Airflow, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scraper_monitor.chain import (
    DagStructure,
    TaskInstanceRecord,
    TaskSpec,
    build_chain,
)
from scraper_monitor.stages import StageRule
from tests.fixtures.monitor_store import STRUCTURES

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

# The two chains' task graphs, as the DAG factory builds them.
CINEMA_CITY = STRUCTURES["cinema_city"]
KINO_KRAKOW = STRUCTURES["kino_krakow"]


def ti(
    task_id: str,
    map_index: int,
    state: str | None,
    *,
    offset: float = 0,
    secs: float = 1.0,
    tries=1,
    name: str | None = None,
):
    start = T0 + timedelta(seconds=offset) if state not in (None, "upstream_failed", "queued") else None
    end = start + timedelta(seconds=secs) if start and state not in ("running",) else None
    return TaskInstanceRecord(
        task_id=task_id,
        map_index=map_index,
        state=state,
        try_number=tries,
        start_date=start,
        end_date=end,
        duration=secs if end else None,
        name=name,
    )


def execution(task_id: str, map_index: int, state: str, try_number: int = 1, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
        "state": state,
        "counts": {},
        "error_category": None,
        "error_type": None,
        "error_message": None,
        "silent": False,
        "silent_reason": None,
        "skip_reason": None,
        "duration_ms": 900,
        "started_at": None,
        "ended_at": None,
    }
    row.update(extra)
    return row


def cinema_city_run() -> tuple[list[TaskInstanceRecord], list[dict[str, Any]], list[dict[str, Any]]]:
    """7 cinema-days (one failed after retries, one failed outright, one legitimately empty, one
    silent), 10 films (one failed), showtimes batches per cinema-day."""
    tis = [ti("sync", -1, "success", secs=0.8)]
    execs = [execution("sync", -1, "success", counts={"cinemas": 7})]
    for i in range(7):
        state = {4: "failed", 5: "failed", 6: "skipped"}.get(i, "success")
        tis.append(ti("cinema_day.cinema_dates", i, state, offset=2 + i, tries=3 if i == 4 else 1))
        if i == 4:
            for attempt in (1, 2):
                execs.append(
                    execution(
                        "cinema_day.cinema_dates",
                        4,
                        "retrying",
                        try_number=attempt,
                        error_category="network_error",
                        error_type="http_5xx",
                        error_message=f"HTTP 503 on try {attempt}",
                    )
                )
            execs.append(
                execution(
                    "cinema_day.cinema_dates",
                    4,
                    "failed",
                    try_number=3,
                    error_category="network_error",
                    error_type="http_5xx",
                    error_message="HTTP 503 Service Unavailable for "
                    "https://www.cinema-city.pl/pl/data-api-service/v1/quickbook/10103/film-events/x",
                )
            )
        elif i == 5:
            execs.append(
                execution(
                    "cinema_day.cinema_dates",
                    5,
                    "failed",
                    error_category="data_quality_error",
                    error_type="unexpected_shape",
                    error_message="response has no 'body'",
                )
            )
        elif i == 6:
            execs.append(execution("cinema_day.cinema_dates", 6, "skipped", skip_reason="no screenings"))
        else:
            execs.append(
                execution(
                    "cinema_day.cinema_dates",
                    i,
                    "success",
                    counts={"films": 0 if i == 1 else 4, "showtimes": 0 if i == 1 else 48},
                    silent=i == 1,
                    silent_reason="films == 0 on a listed business day" if i == 1 else None,
                )
            )
    tis.append(ti("plan_films", -1, "success", offset=10))
    execs.append(execution("plan_films", -1, "success", counts={"films": 10}))
    for f in range(10):
        state = "failed" if f == 7 else "success"
        tis.append(ti("movie_details", f, state, offset=11 + f * 0.1))
        execs.append(
            execution(
                "movie_details",
                f,
                state,
                error_category="network_error" if f == 7 else None,
                error_message="TMDB timed out after 10s" if f == 7 else None,
            )
        )
    tis.append(ti("collect_matches", -1, "success", offset=13))
    execs.append(execution("collect_matches", -1, "success"))
    for i in range(7):
        state = {4: "upstream_failed", 5: "upstream_failed", 6: "skipped"}.get(i, "success")
        tis.append(ti("cinema_day.showtimes", i, state, offset=14 + i))
        if state == "success":
            execs.append(execution("cinema_day.showtimes", i, "success", counts={"created": 40}))
    outcomes = [
        {"task_id": "cinema_day.showtimes", "map_index": 0, "outcome": "created", "items": 40},
        {"task_id": "cinema_day.showtimes", "map_index": 0, "outcome": "skipped_expected", "items": 8},
        {"task_id": "cinema_day.showtimes", "map_index": 2, "outcome": "created", "items": 45},
        {"task_id": "movie_details", "map_index": 7, "outcome": "failed", "items": 1},
    ]
    return tis, execs, outcomes


def test_cinema_city_run_stages_states_and_summary():
    tis, execs, outcomes = cinema_city_run()
    chain = build_chain(CINEMA_CITY, tis, execs, outcomes, run_id="scheduled__2026-11-23")

    assert [s.key for s in chain.stages] == ["sync", "units", "films", "showtimes"]
    assert [s.title for s in chain.stages] == ["Sync", "Cinema-days", "Films", "Showtime batches"]
    films = chain.stages[2]
    assert [n.label for n in films.nodes][:3] == ["plan_films", "movie_details[0]", "movie_details[1]"]
    assert films.nodes[-1].label == "collect_matches"

    # 27 nodes, 2 legitimately skipped: 20 of the 25 finished ones succeeded.
    assert chain.summary.text == "20/25 succeeded (80%)"
    assert chain.summary.success_rate == 0.8
    assert (chain.summary.failed, chain.summary.upstream_failed, chain.summary.skipped) == (3, 2, 2)
    assert chain.summary.silent == 1

    units = chain.stages[1]
    assert units.states == {"success": 4, "failed": 2, "skipped": 1}
    assert units.counts == {"films": 12, "showtimes": 144}
    failed_day = units.nodes[4]
    # Errors of the latest try, tries from Airflow.
    assert failed_day.try_number == 3
    assert failed_day.error_message.startswith("HTTP 503 Service Unavailable")
    assert chain.stages[3].items == {"created": 85, "skipped_expected": 8}
    assert chain.items["failed"] == 1


def test_upstream_failed_children_appear_without_a_summary():
    tis, execs, outcomes = cinema_city_run()
    chain = build_chain(CINEMA_CITY, tis, execs, outcomes, run_id="r")
    batch = next(n for n in chain.nodes if n.label == "showtimes[4]")
    assert batch.state == "upstream_failed"
    assert batch.has_summary is False
    assert batch.task_id == "cinema_day.showtimes"


def test_cascades_collapse_per_map_index_into_incidents():
    tis, execs, outcomes = cinema_city_run()
    chain = build_chain(CINEMA_CITY, tis, execs, outcomes, run_id="r")
    failures = [i for i in chain.incidents if i.kind == "failure"]
    assert [i.text for i in failures] == [
        "cinema_dates[4] failed (network_error: HTTP 503 Service Unavailable for "
        "https://www.cinema-city.pl/pl/data-api-service…): showtimes[4] never ran",
        "cinema_dates[5] failed (data_quality_error: response has no 'body'): showtimes[5] never ran",
        "movie_details[7] failed (network_error: TMDB timed out after 10s): its showtimes were skipped",
    ]
    assert [n.label for n in failures[0].casualties] == ["showtimes[4]"]
    assert failures[0].casualties[0].blocked_by == "cinema_dates[4]"
    silent = [i for i in chain.incidents if i.kind == "silent"]
    assert [i.text for i in silent] == [
        "cinema_dates[1] succeeded silently: films == 0 on a listed business day"
    ]


def units_of_two_cinemas(failed: dict[str, set[int]], category: str) -> tuple[list, list]:
    """Two Kraków cinemas x 7 days, named as the DAG names them; ``failed``: cinema -> failed days."""
    tis, execs = [ti("sync", -1, "success")], [execution("sync", -1, "success", counts={"cinemas": 2})]
    for c, cinema in enumerate(("Kraków - Bonarka", "Kraków - Galeria Kazimierz")):
        for day in range(7):
            index, name = c * 7 + day, f"{cinema} 2026-11-{23 + day}"
            bad = day in failed.get(cinema, set())
            tis.append(ti("cinema_day.cinema_dates", index, "failed" if bad else "success", name=name))
            tis.append(ti("cinema_day.showtimes", index, "upstream_failed" if bad else "success", name=name))
            if bad:
                execs.append(execution("cinema_day.cinema_dates", index, "failed", error_category=category))
    return tis, execs


def test_the_failed_days_of_one_cinema_are_one_incident():
    failed = {"Kraków - Galeria Kazimierz": set(range(7)), "Kraków - Bonarka": {3}}
    tis, execs = units_of_two_cinemas(failed, "data_quality_error")
    chain = build_chain(CINEMA_CITY, tis, execs, [], run_id="r")
    assert [i.text for i in chain.incidents] == [
        "cinema_dates[3] failed (data_quality_error): showtimes[3] never ran",
        "Kraków - Galeria Kazimierz: 7 of 7 cinema-days failed, data_quality_error; 7 showtime batches"
        " never ran",
    ]
    kazimierz = chain.incidents[1]
    assert [n.label for n in kazimierz.failed] == [f"cinema_dates[{i}]" for i in range(7, 14)]
    assert len(kazimierz.casualties) == 7 and kazimierz.root is kazimierz.failed[0]


def test_two_failed_days_of_a_cinema_say_how_many_of_its_days_failed():
    tis, execs = units_of_two_cinemas({"Kraków - Bonarka": {1, 5}}, "network_error")
    (incident,) = build_chain(CINEMA_CITY, tis, execs, [], run_id="r").incidents
    assert incident.text == (
        "Kraków - Bonarka: 2 of 7 cinema-days failed, network_error; 2 showtime batches never ran"
    )


def test_every_day_page_failing_is_one_incident():
    """csrf_missing on every page: each day is its own entity, but the whole stage failed."""
    tis = [ti("sync", -1, "success")]
    execs = []
    for day in range(7):
        name = f"day {day} (2026-11-{23 + day})"
        tis += [ti("day.day_pages", day, "failed", name=name), ti("day.showtimes", day, "upstream_failed")]
        execs.append(execution("day.day_pages", day, "failed", error_category="data_quality_error"))
    (incident,) = build_chain(KINO_KRAKOW, tis, execs, [], run_id="r").incidents
    assert incident.text == (
        "day_pages: 7 of 7 day pages failed, data_quality_error; 7 showtime batches never ran"
    )


def test_a_tmdb_outage_is_one_incident_and_a_single_failed_film_stays_its_own():
    def run(failed: set[int]) -> list[str]:
        tis = [ti("sync", -1, "success"), ti("plan_films", -1, "success")]
        tis += [
            ti("movie_details", f, "failed" if f in failed else "success", name=f"Film {f}") for f in range(4)
        ]
        execs = [execution("movie_details", f, "failed", error_category="network_error") for f in failed]
        return [i.text for i in build_chain(CINEMA_CITY, tis, execs, [], run_id="r").incidents]

    assert run({0, 1, 2, 3}) == [
        "movie_details: 4 of 4 film details failed, network_error; its showtimes were skipped"
    ]
    assert run({2}) == ["movie_details[2] failed (network_error): its showtimes were skipped"]


def test_a_sync_that_found_nothing_is_an_empty_incident():
    tis = [
        ti("sync", -1, "success"),
        ti("cinema_day.cinema_dates", -1, "skipped"),
        ti("cinema_day.showtimes", -1, "skipped"),
        ti("plan_films", -1, "success"),
        ti("movie_details", -1, "skipped"),
        ti("collect_matches", -1, "success"),
    ]
    counts = {"cinemas": 0, "units": 0, "units_listed": 0}
    execs = [execution("sync", -1, "success", counts=counts)]
    (incident,) = build_chain(CINEMA_CITY, tis, execs, [], run_id="r").incidents
    assert (incident.kind, incident.text) == ("empty", "sync returned 0 cinemas: nothing downstream ran")
    # Without Airflow's task instances, the store's counts alone tell it.
    (from_store,) = build_chain(CINEMA_CITY, [], execs, [], run_id="r").incidents
    assert from_store.text == "sync returned 0 cinemas: nothing downstream ran"
    assert build_chain(CINEMA_CITY, [ti("sync", -1, "success")], [], [], run_id="r").incidents == []


def test_failed_sync_takes_down_the_unexpanded_mapped_tasks():
    tis = [
        ti("sync", -1, "failed", tries=2),
        ti("day.day_pages", -1, "upstream_failed"),
        ti("plan_films", -1, "upstream_failed"),
        ti("movie_details", -1, "upstream_failed"),
        ti("collect_matches", -1, "upstream_failed"),
        ti("day.showtimes", -1, "upstream_failed"),
    ]
    execs = [
        execution(
            "sync",
            -1,
            "failed",
            try_number=2,
            error_category="data_quality_error",
            error_message="csrf-token meta tag missing",
        )
    ]
    chain = build_chain(KINO_KRAKOW, tis, execs, [], run_id="r")
    assert [s.title for s in chain.stages] == ["Sync", "Day pages", "Films", "Showtime batches"]
    (incident,) = chain.incidents
    assert incident.text == (
        "sync failed (data_quality_error: csrf-token meta tag missing): day_pages, plan_films, "
        "movie_details, collect_matches and showtimes never ran"
    )
    assert chain.summary.text == "0/6 succeeded (0%)"


def test_many_casualties_are_counted_by_kind():
    structure = DagStructure(
        "cinema_city",
        (
            TaskSpec("sync"),
            TaskSpec("cinema_day.cinema_dates", ("sync",)),
            TaskSpec("movie_details", ("cinema_day.cinema_dates",)),
            TaskSpec("cinema_day.showtimes", ("cinema_day.cinema_dates", "movie_details")),
        ),
    )
    tis = [ti("sync", -1, "success"), ti("cinema_day.cinema_dates", 0, "failed")]
    tis += [ti("movie_details", -1, "upstream_failed")]
    tis += [ti("cinema_day.showtimes", i, "upstream_failed") for i in range(3)]
    chain = build_chain(structure, tis, [], [], run_id="r")
    (incident,) = chain.incidents
    assert incident.text == "cinema_dates[0] failed: movie_details and 3 showtime batches never ran"


def test_running_and_queued_are_shown_but_not_errors():
    tis = [
        ti("sync", -1, "success"),
        ti("cinema_day.cinema_dates", 0, "running"),
        ti("cinema_day.cinema_dates", 1, "queued"),
        ti("cinema_day.cinema_dates", 2, "scheduled"),
        ti("cinema_day.cinema_dates", 3, "up_for_retry", tries=1),
        ti("cinema_day.showtimes", 0, None),
        ti("cinema_day.showtimes", 9, "removed"),
    ]
    execs = [
        execution(
            "cinema_day.cinema_dates", 3, "retrying", error_category="network_error", error_message="timeout"
        )
    ]
    chain = build_chain(CINEMA_CITY, tis, execs, [], run_id="r")
    states = {n.label: n.state for n in chain.nodes}
    assert states == {
        "sync": "success",
        "cinema_dates[0]": "running",
        "cinema_dates[1]": "queued",
        "cinema_dates[2]": "queued",
        "cinema_dates[3]": "retrying",
        "showtimes[0]": "none",
    }
    assert chain.summary.pending == 4
    assert chain.summary.text == "1/2 succeeded (50%)"
    assert [i.text for i in chain.incidents] == [
        "cinema_dates[3] is retrying (try 1) (network_error: timeout)"
    ]


def test_without_task_instances_the_store_states_are_used():
    execs = [
        execution("sync", -1, "success"),
        execution("cinema_day.cinema_dates", 0, "retrying", try_number=1, error_category="network_error"),
        execution("cinema_day.cinema_dates", 0, "success", try_number=2, counts={"films": 3}),
    ]
    chain = build_chain(CINEMA_CITY, [], execs, [], run_id="r")
    node = chain.stages[1].nodes[0]
    assert (node.state, node.try_number, node.counts, node.error_category) == (
        "success",
        2,
        {"films": 3},
        None,
    )
    assert chain.summary.text == "2/2 succeeded (100%)"


def test_upstream_failed_without_a_known_cause_is_an_orphan_incident():
    tis = [ti("cinema_day.showtimes", i, "upstream_failed") for i in range(2)]
    chain = build_chain(CINEMA_CITY, tis, [], [], run_id="r")
    (incident,) = chain.incidents
    assert incident.kind == "orphan"
    assert incident.text == "2 showtime batches never ran: an upstream task failed"


def test_a_new_scraper_gets_its_chain_from_task_id_suffixes():
    structure = DagStructure(
        "multikino",
        (
            TaskSpec("sync"),
            TaskSpec("venue.day_pages", ("sync",)),
            TaskSpec("venue.showtimes", ("venue.day_pages",)),
            TaskSpec("notify", ("venue.showtimes",)),
        ),
    )
    tis = [
        ti("sync", -1, "success"),
        ti("venue.day_pages", 0, "failed"),
        ti("venue.day_pages", 1, "success"),
        ti("venue.showtimes", 0, "upstream_failed"),
        ti("venue.showtimes", 1, "success"),
        ti("notify", -1, "upstream_failed"),
    ]
    chain = build_chain(structure, tis, [], [], run_id="r")
    assert [(s.key, s.title) for s in chain.stages] == [
        ("sync", "Sync"),
        ("units", "Day pages"),
        ("showtimes", "Showtime batches"),
        ("other", "Other tasks"),
    ]
    (incident,) = chain.incidents
    # notify depends on every batch; batch 0 never ran because of day page 0.
    assert incident.text == "day_pages[0] failed: 1 showtime batch and notify never ran"


def test_custom_stage_rules_can_be_passed():
    rules = (StageRule("fetch", "units", "Fetches", "fetch", "fetches"),)
    chain = build_chain(
        DagStructure("x", (TaskSpec("fetch"),)),
        [ti("fetch", -1, "success")],
        [],
        [],
        run_id="r",
        stage_rules=rules,
    )
    assert [(s.key, s.title) for s in chain.stages] == [("units", "Fetches")]


def test_durations_come_from_airflow_and_stage_spans():
    tis, execs, outcomes = cinema_city_run()
    chain = build_chain(CINEMA_CITY, tis, execs, outcomes, run_id="r")
    assert chain.stages[0].duration_s == 0.8
    assert chain.duration_s == 21.0  # first start (sync, +0 s) to last end (showtimes[6], +20 s + 1 s)


def test_empty_run():
    chain = build_chain(CINEMA_CITY, [], [], [], run_id="r")
    assert chain.stages == [] and chain.incidents == []
    assert chain.summary.text == "no finished task instances yet"
    assert chain.summary.success_rate is None


def test_a_cleared_mapped_task_that_shrank_shows_only_its_current_instances():
    """Cleared after the mapped input went from 3 to 1: Airflow marks work[1] and work[2] removed. Their
    rows from the first attempt are history, not this run: no success from an old row, no old times."""
    structure = DagStructure("shrinking", (TaskSpec("make_list"), TaskSpec("work", ("make_list",))))
    first_attempt = T0 - timedelta(hours=1)
    tis = [
        ti("make_list", -1, "success", tries=2, secs=1),
        ti("work", 0, "success", offset=2, tries=2, secs=1),
        ti("work", 1, "removed", tries=1),
        ti("work", 2, "removed", tries=1),
    ]
    old = {"started_at": first_attempt, "ended_at": first_attempt + timedelta(seconds=1)}
    execs = [
        execution("make_list", -1, "success", try_number=1, **old),
        *(execution("work", i, "success", try_number=1, **old) for i in range(3)),
        execution("make_list", -1, "success", try_number=2),
        execution("work", 0, "success", try_number=2),
    ]
    chain = build_chain(structure, tis, execs, [], run_id="manual__1")

    assert [n.label for n in chain.nodes] == ["make_list", "work[0]"]
    assert chain.summary.text == "2/2 succeeded (100%)" and chain.summary.removed == 2
    assert chain.duration_s == 3.0  # the current attempt only, not since the first one an hour ago


def test_a_cleared_task_not_finished_again_does_not_show_its_old_try():
    structure = DagStructure("cleared", (TaskSpec("load"),))
    tis = [ti("load", -1, "queued", tries=2)]
    execs = [execution("load", -1, "failed", try_number=1, error_message="old failure")]
    [node] = build_chain(structure, tis, execs, [], run_id="manual__1").nodes
    assert (node.state, node.error_message, node.has_summary) == ("queued", None, False)
