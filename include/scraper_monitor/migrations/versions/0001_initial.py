"""Initial monitor store: task_executions, item_outcomes and their daily rollups.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies on purpose: a migration records the schema as it was when written, so it must not
# change meaning when scraper_monitor.state or scrapers.outcome grow. A test checks that they still
# agree; a new state needs a new revision that rewrites the CHECK.
STATES = ("success", "failed", "retrying", "skipped", "upstream_failed")
ERROR_STATES = ("failed", "retrying")
OUTCOMES = ("created", "updated", "skipped_expected", "failed")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "task_executions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        # The key columns are NOT NULL: a NULL in a unique key would let replays duplicate rows.
        sa.Column("dag_id", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("map_index", sa.Integer, nullable=False, server_default="-1"),
        sa.Column("try_number", sa.Integer, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("logical_date", sa.DateTime(timezone=True)),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("counts", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("error_category", sa.Text),
        sa.Column("error_type", sa.Text),
        sa.Column("error_message", sa.String(2000)),
        sa.Column("fingerprint", sa.Text),
        sa.Column("silent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("silent_reason", sa.Text),
        sa.Column("skip_reason", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(_in_list("state", STATES), name="ck_task_executions_state"),
        sa.UniqueConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", name="uq_task_executions_try"
        ),
    )
    op.create_index("ix_task_executions_scraper_started", "task_executions", ["scraper", "started_at"])
    op.create_index("ix_task_executions_started", "task_executions", ["started_at"])
    op.create_index(
        "ix_task_executions_failures",
        "task_executions",
        ["error_category", "started_at"],
        postgresql_where=sa.text(_in_list("state", ERROR_STATES)),
    )
    op.create_index(
        "ix_task_executions_silent", "task_executions", ["started_at"], postgresql_where=sa.text("silent")
    )
    # No separate (dag_id, run_id) index: uq_task_executions_try starts with those two columns and
    # serves run lookups (the chain view) already; a second index would only slow every write.

    op.create_table(
        "item_outcomes",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "execution_id",
            sa.BigInteger,
            sa.ForeignKey("task_executions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("entity_type", sa.Text, nullable=False),
        sa.Column("external_id", sa.String(300)),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("reason", sa.String(500)),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(_in_list("outcome", OUTCOMES), name="ck_item_outcomes_outcome"),
    )
    op.create_index("ix_item_outcomes_execution", "item_outcomes", ["execution_id"])
    op.create_index("ix_item_outcomes_scraper_recorded", "item_outcomes", ["scraper", "recorded_at"])

    op.create_table(
        "execution_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("error_category", sa.Text, nullable=False, server_default=""),
        sa.Column("executions", sa.Integer, nullable=False),
        sa.Column("silent", sa.Integer, nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger, nullable=False),
        sa.Column("duration_ms_max", sa.Integer),
        sa.PrimaryKeyConstraint("day", "scraper", "task_id", "state", "error_category"),
    )
    op.create_table(
        "item_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("entity_type", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "scraper", "entity_type", "outcome"),
    )


def downgrade() -> None:
    for table in ("item_daily", "execution_daily", "item_outcomes", "task_executions"):
        op.drop_table(table)
