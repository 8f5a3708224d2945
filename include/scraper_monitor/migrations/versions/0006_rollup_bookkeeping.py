"""Rollup bookkeeping, so that late rows add to history instead of erasing it, and a record of the
spooled summaries the store could never take.

- ``retention_watermark``: the day before which raw rows were pruned. Below it the rollups are all
  that is left, so they are never recomputed from raw rows again; a row that arrives late for such a
  day (a spool replayed after a long outage, a worker clock far behind) is added to them.
- ``rollup_pending``: the (day, scraper) keys whose raw rows changed after the day left the regular
  rollup window (two days); the maintenance DAG rolls them up whatever their age.
- ``spool_rejects``: spool entries set aside because the store refuses them for what they are (or
  they cannot be read back): the overview says how many, so no summary goes missing unseen. The
  entries themselves stay in the worker's ``<spool>.rejected`` file.

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

    op.create_table(
        "spool_rejects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("dag_id", sa.Text),  # NULL: the line could not be read back at all
        sa.Column("run_id", sa.Text),
        sa.Column("task_id", sa.Text),
        sa.Column("map_index", sa.BigInteger),
        sa.Column("try_number", sa.BigInteger),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("spool_rejects")
    op.drop_table("rollup_pending")
    op.drop_table("retention_watermark")
