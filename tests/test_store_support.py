"""Helpers shared by the store tests (test_store*, test_spool*, test_retention*, test_queries*)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.state import SUCCESS
from scrapers.outcome import ItemOutcome

T0 = datetime(2025, 11, 24, 10, 0, tzinfo=UTC)


def make_summary(
    *,
    task_id: str = "cinema_day.cinema_dates",
    map_index: int = 0,
    try_number: int = 1,
    run_id: str = "scheduled__2025-11-24T10:00:00+00:00",
    state: str = SUCCESS,
    started_at: datetime = T0,
    duration_ms: int | None = 1500,
    items: int = 0,
    **fields: Any,
) -> ExecutionSummary:
    values: dict[str, Any] = {
        "dag_id": "cinema_city",
        "scraper": "cinema_city",
        "logical_date": T0,
        "counts": {"showtimes_found": 48},
    } | fields
    return ExecutionSummary(
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
        state=state,
        started_at=started_at,
        ended_at=started_at + timedelta(milliseconds=duration_ms or 0),
        duration_ms=duration_ms,
        items=[
            ItemOutcome("showtime", f"cinema_city_showtime_1090_f{i}_e{i}", "created") for i in range(items)
        ],
        **values,
    )


def count(dsn: str, query: str, *params: Any) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])
