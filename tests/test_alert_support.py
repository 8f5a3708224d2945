"""Helpers shared by the SLO, alert and metrics tests: a migrated store seeded with plain INSERTs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.state import SUCCESS
from scraper_monitor.store.migrate import upgrade

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DATABASE = "alerts_tests"


@pytest.fixture(scope="session", name="migrated_store")
def migrated_store_fixture(pg_server: EmbeddedPostgres) -> str:
    """One database per session, migrated with the store's own migrations (creating a database
    costs about 0.3 s, emptying one a few milliseconds)."""
    pg_server.ensure_database(DATABASE)
    dsn = pg_server.dsn(DATABASE)
    upgrade(dsn)
    return dsn


# Named fixtures: test modules import the functions (``store_fixture``, ``db_fixture``, ...) and ask
# for ``store`` / ``db``, so an argument never shadows an import.
@pytest.fixture(name="store")
def store_fixture(migrated_store: str) -> str:
    """An empty store at the newest revision (0002 adds alert_state)."""
    with psycopg.connect(migrated_store, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'scraper_monitor_alembic_version'"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return migrated_store


@pytest.fixture(name="db")
def db_fixture(store: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(store, autocommit=True) as conn:
        yield conn


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
    **fields: Any,
) -> int:
    """One task_executions row; ``started_at`` defaults to ``NOW - ago``. Returns its id."""
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
    conn: psycopg.Connection, execution_id: int, *, outcome: str, count: int, scraper: str = "cinema_city"
) -> None:
    for n in range(count):
        conn.execute(
            "INSERT INTO item_outcomes (execution_id, scraper, entity_type, external_id, outcome)"
            " VALUES (%s, %s, 'showtime', %s, %s)",
            (execution_id, scraper, f"{scraper}_showtime_{execution_id}_{n}", outcome),
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
