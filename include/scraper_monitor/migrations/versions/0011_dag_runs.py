"""One row per DAG run the store holds executions of (``dag_runs``), for city discovery's statistics.

``reports.discovery.stats`` counts a city-source's runs, failed runs and newest run over up to 90
days. Read from the executions, that is grouping tens of thousands of rows by run per call (a week of
100 cities x 2 sources: 46,000 rows for 1,400 runs); this table holds the run-level answer, so the
query reads the runs. A run's row: its DAG and run id, its city (NULL: none), when its first try
started (``coalesce(started_at, recorded_at)``, the activity time everywhere), and whether any task
instance ended failed or upstream_failed.

Kept by triggers on task_executions, in the transaction that changes the executions, so every writer
keeps it without knowing: the summary upsert, the spool replay, the repair, retention, the tests'
factories. A transaction's executions are merged into their runs when it commits (a deferred row
trigger that acts once per run and transaction: earliest start, failed once any try failed, the city
once known, from the run's rows): a merge with what the run's row holds, so two tasks of one run
recorded at the same moment cannot overwrite each other's part, and deferred so that the run's row
is locked only during a commit, never while a writer is stalled inside its transaction. A delete
(retention) recounts the runs it touched from what remains and drops the runs with nothing left; a
TRUNCATE empties it. Bulk loads (the benchmark generators) switch the merge off and recount at the
end (``store.dag_runs.bulk_load``).

The last error is not kept here: it is read from the failed executions through the partial index
added below (one probe per city-source), and stays right when ``errors recategorize`` rewrites a
category.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# A run failed when a task instance ended failed or upstream_failed (reports.discovery's definition;
# the states spelled out, as a migration must not change when scraper_monitor.state does).
_MERGE = """
CREATE FUNCTION dag_runs_merge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    merged text := 'scraper_monitor.run_' || md5(NEW.dag_id || chr(31) || NEW.run_id);
BEGIN
    -- Once per run and transaction: the first of its executions merges what the run's rows say now
    -- (this transaction's included: the trigger fires at the commit). One merge per execution would
    -- rewrite the run's row once per row: quadratic for a transaction writing thousands of one run.
    IF current_setting(merged, true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config(merged, 'yes', true);
    INSERT INTO dag_runs AS r (dag_id, run_id, city, started_at, failed)
    SELECT dag_id, run_id, max(city), min(coalesce(started_at, recorded_at)),
           bool_or(state IN ('failed', 'upstream_failed'))
    FROM task_executions
    WHERE dag_id = NEW.dag_id AND run_id = NEW.run_id
    GROUP BY dag_id, run_id
    ON CONFLICT (dag_id, run_id) DO UPDATE SET
        city = coalesce(EXCLUDED.city, r.city),
        started_at = least(r.started_at, EXCLUDED.started_at),
        failed = r.failed OR EXCLUDED.failed;
    RETURN NULL;
END $$
"""

_RECOUNT = """
CREATE FUNCTION dag_runs_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH touched AS (
        SELECT DISTINCT dag_id, run_id FROM gone
    ), fresh AS (
        SELECT e.dag_id, e.run_id, max(e.city) AS city,
               min(coalesce(e.started_at, e.recorded_at)) AS started_at,
               bool_or(e.state IN ('failed', 'upstream_failed')) AS failed
        FROM task_executions e JOIN touched t USING (dag_id, run_id)
        GROUP BY e.dag_id, e.run_id
    ), emptied AS (
        DELETE FROM dag_runs r USING touched t
        WHERE (r.dag_id, r.run_id) = (t.dag_id, t.run_id)
          AND NOT EXISTS (SELECT 1 FROM fresh f WHERE (f.dag_id, f.run_id) = (t.dag_id, t.run_id))
    )
    UPDATE dag_runs r SET city = f.city, started_at = f.started_at, failed = f.failed
    FROM fresh f WHERE (r.dag_id, r.run_id) = (f.dag_id, f.run_id);
    RETURN NULL;
END $$
"""

# DELETE, not TRUNCATE: a TRUNCATE naming both tables (a test resetting every table) would otherwise
# truncate dag_runs a second time from inside its own statement, which PostgreSQL refuses.
_EMPTY = """
CREATE FUNCTION dag_runs_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dag_runs;
    RETURN NULL;
END $$
"""

_TRIGGERS = (
    # Deferred to the commit: the run's row is locked only while the writing transaction commits, so
    # a writer stalled inside its transaction never holds up the other tasks of its run.
    "CREATE CONSTRAINT TRIGGER dag_runs_on_write AFTER INSERT OR UPDATE ON task_executions"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dag_runs_merge()",
    "CREATE TRIGGER dag_runs_on_delete AFTER DELETE ON task_executions"
    " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION dag_runs_recount()",
    "CREATE TRIGGER dag_runs_on_truncate AFTER TRUNCATE ON task_executions"
    " FOR EACH STATEMENT EXECUTE FUNCTION dag_runs_empty()",
)

_BACKFILL = """
INSERT INTO dag_runs (dag_id, run_id, city, started_at, failed)
SELECT dag_id, run_id, max(city), min(coalesce(started_at, recorded_at)),
       bool_or(state IN ('failed', 'upstream_failed'))
FROM task_executions
GROUP BY dag_id, run_id
"""


def upgrade() -> None:
    op.create_table(
        "dag_runs",
        sa.Column("dag_id", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("city", sa.String(100)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "run_id"),
    )
    # The statistics read each city-source's runs of a window, newest first...
    op.create_index(
        "ix_dag_runs_source_started",
        "dag_runs",
        ["dag_id", "city", sa.text("started_at DESC")],
        postgresql_include=["failed", "run_id"],
    )
    # ...and its newest failed try in the window (the last error).
    op.create_index(
        "ix_task_executions_failed_source",
        "task_executions",
        ["dag_id", "city", sa.text("coalesce(started_at, recorded_at) DESC")],
        postgresql_where=sa.text("state = 'failed'"),
    )
    for statement in (_MERGE, _RECOUNT, _EMPTY, *_TRIGGERS):
        op.execute(statement)
    # After the triggers, in the same transaction: no write can fall between backfill and triggers.
    op.execute(_BACKFILL)


def downgrade() -> None:
    for trigger in ("dag_runs_on_write", "dag_runs_on_delete", "dag_runs_on_truncate"):
        op.execute(f"DROP TRIGGER {trigger} ON task_executions")
    for function in ("dag_runs_merge", "dag_runs_recount", "dag_runs_empty"):
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_index("ix_task_executions_failed_source", table_name="task_executions")
    op.drop_table("dag_runs")
