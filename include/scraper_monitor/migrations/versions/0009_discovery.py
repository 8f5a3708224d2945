"""City discovery: which sources run for which city, how often, with which settings, and who changed it.

- ``discovery_cities``: a city (its key, the slug the monitor files its runs under, and its name as
  people write it) and the city-level switch.
- ``discovery_sources``: per city and source (the source DAG's id) whether it runs, how often
  (``frequency_hours`` > 0, checked here too so no writer can store a zero), the DAG params it runs with
  (``settings``, validated against the DAG's Param schema before they are saved) and when it is next
  due (``next_run_at``; null: due at the next orchestrator run). The origin never wrote its
  ``next_run_at`` back and queued every source twice; here the orchestrator writes it in the step that
  triggered, and the run id it triggers with is deterministic (``scraper_monitor.discovery``).
- ``discovery_changes``: every change (who, when, what), shown on the Discovery panel.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovery_cities",
        sa.Column("city", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("discovery_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("city ~ '^[a-z][a-z0-9-]*$'", name="discovery_city_key"),
    )
    op.create_table(
        "discovery_sources",
        sa.Column(
            "city",
            sa.String(80),
            sa.ForeignKey("discovery_cities.city", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("source", sa.String(250), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("frequency_hours", sa.Integer, nullable=False, server_default="24"),
        sa.Column("settings", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("next_run_at", sa.DateTime(timezone=True)),
        sa.Column("last_queued_at", sa.DateTime(timezone=True)),
        sa.Column("last_run_id", sa.String(250)),
        sa.CheckConstraint("frequency_hours > 0 AND frequency_hours <= 8760", name="discovery_frequency"),
    )
    op.create_table(
        "discovery_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("city", sa.String(80), nullable=False),
        sa.Column("source", sa.String(250)),
        sa.Column("change", sa.String(2000), nullable=False),
    )
    op.create_index("discovery_changes_at", "discovery_changes", [sa.text("at DESC")])


def downgrade() -> None:
    op.drop_table("discovery_changes")
    op.drop_table("discovery_sources")
    op.drop_table("discovery_cities")
