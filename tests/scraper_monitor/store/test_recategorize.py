"""Recategorizing the stored tries of a fingerprint after a rule was added: the rows and the daily
rollups (real PostgreSQL) both follow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from scraper_monitor.category import builtin_rules, categorize, load_rules
from scraper_monitor.state import FAILED, RETRYING
from scraper_monitor.store import migrate
from scraper_monitor.store.db import connect
from scraper_monitor.store.persist import save
from scraper_monitor.store.recategorize import recategorize
from scraper_monitor.store.rollup import rollup
from scraper_monitor.teaching import accept
from tests.factories import T0, make_summary

MESSAGES = ["Failure in step 3 of the import", "Failure in step 7 of the import"]  # one fingerprint
OTHER = "Read timed out. (read timeout=30)"


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    return pg_dsn


def _seed(dsn: str) -> str:
    """Two days of one unknown fingerprint, on two scrapers, and one timeout; returns the fingerprint."""
    summaries = []
    for day, (scraper, message, state) in enumerate(
        [
            ("cinema_city", MESSAGES[0], FAILED),
            ("kino_krakow", MESSAGES[1], RETRYING),
            ("cinema_city", OTHER, FAILED),
        ]
    ):
        filed = categorize(message)
        summaries.append(
            make_summary(
                dag_id=scraper,
                map_index=day,
                started_at=T0 + timedelta(days=day % 2),
                state=state,
                error_category=filed.category,
                error_type=filed.error_type,
                error_message=message,
                fingerprint=filed.fingerprint,
            )
        )
    with connect(dsn) as conn:
        for summary in summaries:
            save(conn, summary)
    rollup(dsn, T0.date(), T0.date() + timedelta(days=1))
    return categorize(MESSAGES[0]).fingerprint


def _categories(dsn: str, table: str) -> dict[tuple, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT day, scraper, error_category, sum(executions)::int FROM {table} GROUP BY 1, 2, 3"  # noqa: S608
        ).fetchall()
    return {row[:3]: row[3] for row in rows}


def _raw_categories(dsn: str) -> dict[tuple, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT (started_at AT TIME ZONE 'UTC')::date, scraper, coalesce(error_category, ''),"
            " count(*)::int FROM task_executions GROUP BY 1, 2, 3"
        ).fetchall()
    return {row[:3]: row[3] for row in rows}


def test_recategorizing_updates_the_rows_and_the_rollups(store_dsn: str, tmp_path: Path) -> None:
    fingerprint = _seed(store_dsn)
    assert categorize(MESSAGES[0]).category == "unknown_error"
    path = tmp_path / "rules.yaml"
    accept(
        path, fingerprint=fingerprint, example=MESSAGES[0], category="data_quality_error", error_type="import"
    )
    rules = load_rules(path) + builtin_rules()

    with connect(store_dsn) as conn:
        done = recategorize(conn, fingerprint, lambda message: categorize(message, rules=rules))

    new_fingerprint = categorize(MESSAGES[0], rules=rules).fingerprint
    assert (done.rows, done.changed, done.rollup_days) == (2, 2, 2)
    assert done.filed_as == {("data_quality_error", "import", new_fingerprint): 2}
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT error_category, error_type, fingerprint FROM task_executions"
            " WHERE error_message LIKE 'Failure%'"
        ).fetchall()
    assert rows == [("data_quality_error", "import", new_fingerprint)] * 2
    # Every day's rollups count the new category, exactly as the raw rows do, in both tables.
    assert _categories(store_dsn, "execution_daily") == _raw_categories(store_dsn)
    assert _categories(store_dsn, "scraper_daily") == _raw_categories(store_dsn)
    assert "unknown_error" not in {category for _, _, category in _categories(store_dsn, "scraper_daily")}

    with connect(store_dsn) as conn:  # a second run finds nothing left to do
        again = recategorize(conn, fingerprint, lambda message: categorize(message, rules=rules))
    assert (again.rows, again.changed) == (0, 0)
