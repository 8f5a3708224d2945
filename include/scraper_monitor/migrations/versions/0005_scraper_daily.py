"""The trends rollup and a covering index for the overview (docs/BENCHMARKS.md, "Panel API latency").

- ``scraper_daily``: ``execution_daily`` summed over tasks, with the states as columns: one row per
  day, scraper and error category, exactly the rows the trends panel reads. 90 days of 20 scrapers
  are ~12,600 rows instead of ~72,000, which took the trends query from ~80 ms to a few. Filled here
  from ``execution_daily``; kept in step with it by ``store.rollup.refresh``.
- The listing-order index carries the columns the overview's 24-hour statistics read, so those
  ~110,000 rows (at 10 M executions) come from the index alone instead of the heap.

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NEWEST_FIRST = (sa.text("started_at DESC NULLS LAST"), sa.text("id DESC"))
# Frozen copies on purpose (see 0001): a migration must not change meaning when the code grows.
_STATE_COLUMNS = ("success", "failed", "retrying", "skipped", "upstream_failed")


def upgrade() -> None:
    op.create_table(
        "scraper_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("error_category", sa.Text, nullable=False),
        sa.Column("executions", sa.Integer, nullable=False),
        *(sa.Column(state, sa.Integer, nullable=False) for state in _STATE_COLUMNS),
        sa.Column("silent", sa.Integer, nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "scraper", "error_category"),
    )
    per_state = ", ".join(
        f"coalesce(sum(executions) FILTER (WHERE state = '{state}'), 0)" for state in _STATE_COLUMNS
    )
    op.execute(
        f"""
        INSERT INTO scraper_daily (day, scraper, error_category, executions, {", ".join(_STATE_COLUMNS)},
                                   silent, duration_ms_sum)
        SELECT day, scraper, error_category, sum(executions), {per_state}, sum(silent), sum(duration_ms_sum)
        FROM execution_daily
        GROUP BY day, scraper, error_category
        """  # noqa: S608 (frozen literals above, no input)
    )
    op.drop_index("ix_task_executions_newest", table_name="task_executions")
    op.create_index(
        "ix_task_executions_newest",
        "task_executions",
        list(_NEWEST_FIRST),
        postgresql_include=["scraper", "state", "silent", "duration_ms"],
    )


def downgrade() -> None:
    op.drop_index("ix_task_executions_newest", table_name="task_executions")
    op.create_index("ix_task_executions_newest", "task_executions", list(_NEWEST_FIRST))
    op.drop_table("scraper_daily")
