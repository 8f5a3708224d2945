"""Indexes for the panels at scale (10 million task executions: docs/BENCHMARKS.md, "Panel API latency").

- Listings are ordered ``started_at DESC NULLS LAST, id DESC``. A plain ``started_at`` index read
  backwards gives NULLS FIRST, so PostgreSQL sorted every matching row to show 50 of them (seconds
  at 10 M rows). The two ``started_at`` indexes of 0001 are replaced by ones in the listing order;
  range conditions on ``started_at`` use them as before, so writes maintain no extra index here.
- ``coalesce(started_at, recorded_at)`` is a row's activity time: the day of the rollups, the
  retention cut-off, the "recent runs" order. Without an index each of those read the whole table.
- The executions panel filters by error category without a state condition, which the partial
  failure index of 0001 cannot serve; counting one category read the whole table.

Plain CREATE INDEX: it blocks writes while it builds (tens of seconds at 10 M rows). The writer's
short statement timeout sends summaries written meanwhile to the spool, which replays them later.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NEWEST_FIRST = (sa.text("started_at DESC NULLS LAST"), sa.text("id DESC"))
# Frozen on purpose, like 0001's ERROR_STATES: a migration must not change meaning with the code.
_FAILURES = sa.text("state IN ('failed', 'retrying')")


def upgrade() -> None:
    op.drop_index("ix_task_executions_started", table_name="task_executions")
    op.drop_index("ix_task_executions_scraper_started", table_name="task_executions")
    op.drop_index("ix_task_executions_failures", table_name="task_executions")
    op.create_index("ix_task_executions_newest", "task_executions", list(_NEWEST_FIRST))
    op.create_index(
        "ix_task_executions_scraper_newest", "task_executions", [sa.text("scraper"), *_NEWEST_FIRST]
    )
    op.create_index(
        "ix_task_executions_failures_newest",
        "task_executions",
        list(_NEWEST_FIRST),
        postgresql_include=["scraper", "error_category", "fingerprint"],
        postgresql_where=_FAILURES,
    )
    op.create_index(
        "ix_task_executions_category_newest",
        "task_executions",
        [sa.text("error_category"), *_NEWEST_FIRST],
        postgresql_where=sa.text("error_category IS NOT NULL"),
    )
    op.create_index(
        "ix_task_executions_activity", "task_executions", [sa.text("coalesce(started_at, recorded_at)")]
    )
    op.create_index(
        "ix_task_executions_unstarted",
        "task_executions",
        ["recorded_at"],
        postgresql_where=sa.text("started_at IS NULL"),
    )


def downgrade() -> None:
    for name in (
        "ix_task_executions_unstarted",
        "ix_task_executions_activity",
        "ix_task_executions_category_newest",
        "ix_task_executions_failures_newest",
        "ix_task_executions_scraper_newest",
        "ix_task_executions_newest",
    ):
        op.drop_index(name, table_name="task_executions")
    op.create_index(
        "ix_task_executions_failures",
        "task_executions",
        ["error_category", "started_at"],
        postgresql_where=_FAILURES,
    )
    op.create_index("ix_task_executions_scraper_started", "task_executions", ["scraper", "started_at"])
    op.create_index("ix_task_executions_started", "task_executions", ["started_at"])
