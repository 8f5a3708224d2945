"""The one factory of what the monitor store holds: execution summaries as the writer stores them
(``make_summary``, saved with ``save_all``) and raw rows with a chosen ``recorded_at`` for the reports
whose windows read it (``add_execution``, ``add_items``, ``add_runs``). Every seeded store in the suite
is built from these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import FAILED, RETRYING, SUCCESS
from scraper_monitor.store import persist
from scraper_monitor.store.db import connect
from scrapers.outcome import ItemOutcome, MatchQuality

T0 = datetime(2025, 11, 24, 10, 0, tzinfo=UTC)
# The moment the alert, SLO and metrics tests evaluate at.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_summary(
    *,
    dag_id: str = "cinema_city",
    task_id: str = "cinema_day.cinema_dates",
    map_index: int = 0,
    try_number: int = 1,
    run_id: str = "scheduled__2025-11-24T10:00:00+00:00",
    state: str = SUCCESS,
    started_at: datetime = T0,
    duration_ms: int | None = 1500,
    items: int | list[ItemOutcome] = 0,
    city: str | None = None,
    **fields: Any,
) -> ExecutionSummary:
    """One try's summary; ``items`` is a number of created showtimes or the outcomes themselves.
    The scraper is the DAG id unless given; ``city`` as a run's params spell it ("Kraków" or
    "krakow": the summary keeps its key), none by default."""
    values: dict[str, Any] = {
        "ended_at": None if started_at is None else started_at + timedelta(milliseconds=duration_ms or 0),
        "scraper": dag_id,
        "logical_date": T0,
        "counts": {"showtimes_found": 48},
    } | fields
    if isinstance(items, int):
        items = [
            ItemOutcome("showtime", f"cinema_city_showtime_1090_f{i}_e{i}", "created") for i in range(items)
        ]
    return ExecutionSummary(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
        state=state,
        started_at=started_at,
        duration_ms=duration_ms,
        items=items,
        city=city,
        **values,
    )


def film(
    external_id: str,
    title: str,
    *,
    confidence: float = 0.95,
    reason: str | None = None,
    method: str | None = "original_exact",
    tmdb_id: int | None = 1,
    tmdb_title: str | None = None,
) -> ItemOutcome:
    """A movie_details film item with its TMDB match quality: matched unless ``reason`` says why not."""
    quality = MatchQuality(
        title, confidence, method, tmdb_id, tmdb_title if tmdb_title is not None else title
    )
    if reason is None:
        return ItemOutcome("film", external_id, "created", match=quality)
    return ItemOutcome("film", external_id, "failed", "validation_error", reason, match=quality)


def save_all(dsn: str, summaries: Iterable[ExecutionSummary]) -> int:
    """Store the summaries the way the writer does (the upsert); returns how many."""
    with connect(dsn) as conn:
        n = 0
        for summary in summaries:
            persist.save(conn, summary)
            n += 1
    return n


def save_failures(dsn: str, messages: Iterable[str], now: datetime) -> None:
    """One failed try per message, an hour apart before ``now``, filed as ``categorize`` files it:
    what the teaching loop (unknown fingerprints, accept, recategorize) starts from."""
    from scraper_monitor.category import categorize
    from scraper_monitor.state import FAILED

    summaries = []
    for index, message in enumerate(messages):
        filed = categorize(message)
        summaries.append(
            make_summary(
                map_index=index,
                started_at=now - timedelta(hours=1 + index),
                state=FAILED,
                error_category=filed.category,
                error_type=filed.error_type,
                error_message=message,
                fingerprint=filed.fingerprint,
            )
        )
    save_all(dsn, summaries)


def count(dsn: str, query: str, *params: Any) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def add_execution(
    conn: psycopg.Connection,
    *,
    scraper: str = "cinema_city",
    task_id: str = "sync",
    run_id: str = "run-1",
    map_index: int = -1,
    try_number: int = 1,
    state: str = SUCCESS,
    started_at: datetime | None = None,
    ago: timedelta = timedelta(hours=1),
    duration_ms: int | None = 1000,
    city: str | None = None,
    **fields: Any,
) -> int:
    """One task_executions row; ``started_at`` defaults to ``NOW - ago``; ``city`` is stored as given
    (a key such as "krakow", as the writer stores it). Returns its id."""
    start = started_at if started_at is not None else NOW - ago
    values: dict[str, Any] = {
        "dag_id": scraper,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
        "scraper": scraper,
        "state": state,
        "started_at": start,
        "ended_at": start + timedelta(milliseconds=duration_ms or 0),
        "duration_ms": duration_ms,
        "recorded_at": start,
        "city": city,
        **fields,
    }
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"INSERT INTO task_executions ({columns}) VALUES ({placeholders}) RETURNING id",  # noqa: S608
        values,
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_items(
    conn: psycopg.Connection,
    execution_id: int,
    *,
    outcome: str,
    count: int,
    scraper: str = "cinema_city",
    entity_type: str = "showtime",
    reason: str | None = None,
) -> None:
    for n in range(count):
        conn.execute(
            "INSERT INTO item_outcomes (execution_id, scraper, entity_type, external_id, outcome, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                execution_id,
                scraper,
                entity_type,
                f"{scraper}_{entity_type}_{execution_id}_{n}",
                outcome,
                reason,
            ),
        )


def add_runs(
    conn: psycopg.Connection, outcomes: str, *, scraper: str = "cinema_city", task_id: str = "sync"
) -> None:
    """One run per character, oldest first: ``s`` success, ``f`` failed (one task per run)."""
    for i, outcome in enumerate(outcomes):
        add_execution(
            conn,
            scraper=scraper,
            task_id=task_id,
            run_id=f"{scraper}-run-{i}",
            state=SUCCESS if outcome == "s" else "failed",
            ago=timedelta(hours=len(outcomes) - i),
            error_category=None if outcome == "s" else "network_error",
            error_message=None if outcome == "s" else f"HTTP 503 from /api/{i}",
            fingerprint=None if outcome == "s" else "HTTP <n> from /api/<n>",
        )


def add_unit_run(
    conn: psycopg.Connection,
    run_id: str,
    *,
    failed: Iterable[int] = (),
    retrying: Iterable[int] = (),
    units: int = 7,
    ran: int | None = None,
    ago: timedelta = timedelta(hours=1),
    scraper: str = "kino_krakow",
    unit_task: str = "day.day_pages",
) -> None:
    """One chain run: a sync that planned ``units`` units, then the first ``ran`` of them (all, by
    default), each successful unless listed in ``failed`` (no tries left) or ``retrying`` (waiting)."""
    add_execution(conn, scraper=scraper, run_id=run_id, ago=ago, counts=Jsonb({"units": units}))
    failed, retrying = set(failed), set(retrying)
    for unit in range(units if ran is None else ran):
        state = FAILED if unit in failed else RETRYING if unit in retrying else SUCCESS
        add_execution(
            conn,
            scraper=scraper,
            task_id=unit_task,
            run_id=run_id,
            map_index=unit,
            state=state,
            ago=ago - timedelta(minutes=1),
            error_category=None if state == SUCCESS else "network_error",
            error_message=None if state == SUCCESS else f"Timeout after 30 s: POST /settings/set_day/{unit}",
            fingerprint=None if state == SUCCESS else "Timeout after <n> s: POST <url>",
        )
