"""Snapshots: numbers over long windows (SLO statuses, the metrics exposition), computed on a schedule.

The overview and ``/scraper-monitor/metrics`` read them instead of aggregating a week of raw rows
per request (seconds at 10 M executions; docs/BENCHMARKS.md). One row per snapshot name,
replaced in place by each refresh (``scraper_monitor.precompute``).

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("name", sa.Text, primary_key=True),
        # The "now" the numbers were computed for: readers judge freshness by it.
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", postgresql.JSONB, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snapshots")
