"""Rollup bookkeeping, so that late rows add to history instead of erasing it.

- ``retention_watermark``: the day before which raw rows were pruned. Below it the rollups are all
  that is left, so they are never recomputed from raw rows again; a row that arrives late for such a
  day (a spool replayed after a long outage, a worker clock far behind) is added to them.
- ``rollup_pending``: the (day, scraper) keys whose raw rows changed after the day left the regular
  rollup window (two days); the maintenance DAG rolls them up whatever their age.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_watermark",
        # One row: the constant primary key makes a second one impossible.
        sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
        sa.Column("pruned_before", sa.Date, nullable=False),
        sa.CheckConstraint("id", name="ck_retention_watermark_single_row"),
    )
    op.create_table(
        "rollup_pending",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("day", "scraper"),
    )


def downgrade() -> None:
    op.drop_table("rollup_pending")
    op.drop_table("retention_watermark")
