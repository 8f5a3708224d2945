"""Where a try ran, and which summaries were recovered from Airflow rather than sent by the task.

- ``hostname``: the worker that ran the try, as Airflow records it (a fleet of Celery workers: which
  machine failed).
- ``recovered``: the row was written by ``scraper-monitor reconcile --repair`` (or the maintenance
  DAG) from Airflow's record of the try, because the task's own summary never arrived (its worker
  died, its spool was lost). It has what Airflow knows (state, timings, host, the error from the task
  log) and lacks what only the task knew (counts, item outcomes). A real summary arriving later
  replaces it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task_executions", sa.Column("hostname", sa.String(250)))
    op.add_column(
        "task_executions", sa.Column("recovered", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("task_executions", "recovered")
    op.drop_column("task_executions", "hostname")
