"""The city of a run, a dimension of the monitor (issue 9).

- ``task_executions.city``: the key of the city the run scraped (``scraper_monitor.city``: "krakow"
  for Kino Krakow's ``city=krakow`` and Cinema City's ``city_name=Kraków`` alike), bounded like every
  stored text; NULL for rows written before, and for DAGs without a city param. An index serves the
  listings filtered by city, newest first (the executions, errors and silent panels).
- ``execution_daily.city`` and ``scraper_daily.city`` ('' when none, as ``error_category``, since
  both are in the primary key): trends and their week-over-week split by city. The rows rolled up
  before get '' (no city), so their history stays where it was.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies on purpose (see 0001): a migration must not change meaning when the code grows.
_CITY_MAX_CHARS = 100
_EXECUTION_DAILY_KEY = ("day", "scraper", "task_id", "state", "error_category")
_SCRAPER_DAILY_KEY = ("day", "scraper", "error_category")
_VALUE_COLUMNS = {
    "execution_daily": ("executions", "silent", "duration_ms_sum", "duration_ms_max"),
    "scraper_daily": (
        "executions",
        "success",
        "failed",
        "retrying",
        "skipped",
        "upstream_failed",
        "silent",
        "duration_ms_sum",
    ),
}
_MAX_COLUMNS = ("duration_ms_max",)


def upgrade() -> None:
    op.add_column("task_executions", sa.Column("city", sa.String(_CITY_MAX_CHARS)))
    op.create_index(
        "ix_task_executions_city_newest",
        "task_executions",
        ["city", sa.text("started_at DESC NULLS LAST"), sa.text("id DESC")],
        postgresql_where=sa.text("city IS NOT NULL"),
    )
    for table, key in (("execution_daily", _EXECUTION_DAILY_KEY), ("scraper_daily", _SCRAPER_DAILY_KEY)):
        op.add_column(table, sa.Column("city", sa.Text, nullable=False, server_default=""))
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, [*key, "city"])


def downgrade() -> None:
    for table, key in (("execution_daily", _EXECUTION_DAILY_KEY), ("scraper_daily", _SCRAPER_DAILY_KEY)):
        # The cities of a key fold back into the one row the table held before (their sums).
        values = _VALUE_COLUMNS[table]
        folded = ", ".join(f"{'max' if c in _MAX_COLUMNS else 'sum'}({c}) AS {c}" for c in values)
        keys = ", ".join(key)
        op.execute(
            f"CREATE TEMP TABLE folded AS SELECT {keys}, {folded} FROM {table} GROUP BY {keys}"  # noqa: S608 (frozen names)
        )
        op.execute(f"TRUNCATE {table}")
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.drop_column(table, "city")
        op.execute(f"INSERT INTO {table} ({keys}, {', '.join(values)}) SELECT * FROM folded")  # noqa: S608
        op.execute("DROP TABLE folded")
        op.create_primary_key(f"{table}_pkey", table, list(key))
    op.drop_index("ix_task_executions_city_newest", table_name="task_executions")
    op.drop_column("task_executions", "city")
