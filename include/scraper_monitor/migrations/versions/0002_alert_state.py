"""Alert lifecycle state: which alerts are open and what Slack still has to be told.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies on purpose (see 0001): a migration must not change meaning when the code grows.
STATUSES = ("open", "resolved")
EVENTS = ("opened", "repeat", "resolved")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "alert_state",
        # e.g. "slo:cinema_city:movie_details"; one row per alert for its whole life, reopened in place.
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("check_name", sa.Text, nullable=False),
        sa.Column("scraper", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        # Last message Slack accepted; the repeat interval counts from here.
        sa.Column("last_sent_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        # The alert as last evaluated (facts, top error): a repeat shows current numbers and a
        # "resolved" message can say what was wrong without evaluating it again.
        sa.Column("last_payload", postgresql.JSONB, nullable=False),
        # A message is owed to Slack (written before sending, cleared after Slack accepted it): a
        # failed or timed-out send is retried on the next evaluation, a delivered one never again.
        sa.Column("pending_send", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("pending_event", sa.Text),
        sa.Column("send_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(_in_list("status", STATUSES), name="ck_alert_state_status"),
        sa.CheckConstraint(
            f"pending_event IS NULL OR {_in_list('pending_event', EVENTS)}", name="ck_alert_state_event"
        ),
        sa.CheckConstraint("pending_send = (pending_event IS NOT NULL)", name="ck_alert_state_pending"),
    )


def downgrade() -> None:
    op.drop_table("alert_state")
