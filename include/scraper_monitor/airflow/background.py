"""What Airflow knows of the monitor's own DAGs (paused, schedule, newest runs), for the overview's
health line (``scraper_monitor.reports.background`` judges it).

Read through the ORM: only "server" processes may, and the web app runs inside the api-server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scraper_monitor.reports.background import BACKGROUND_DAGS, BackgroundDagRecord


def background_dag_records(now: datetime | None = None) -> list[BackgroundDagRecord]:
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    now = now or datetime.now(UTC)
    records = []
    with create_session() as session:
        for dag_id in BACKGROUND_DAGS:
            model = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id))
            if model is None or model.is_stale:  # stale: its file is gone or no longer defines it
                records.append(BackgroundDagRecord(dag_id=dag_id, known=False))
                continue
            newest = session.scalar(
                select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(1)
            )
            last_success_at = session.scalar(
                select(func.max(DagRun.end_date)).where(DagRun.dag_id == dag_id, DagRun.state == "success")
            )
            records.append(
                BackgroundDagRecord(
                    dag_id=dag_id,
                    known=True,
                    paused=bool(model.is_paused),
                    every=schedule_interval(model.timetable_summary, now),
                    # str() of a DagRunState is its value; the report speaks plain strings.
                    last_run_state=str(newest.state) if newest is not None and newest.state else None,
                    last_run_at=newest.end_date if newest is not None else None,
                    last_success_at=last_success_at,
                )
            )
    return records


def schedule_interval(expression: str | None, now: datetime) -> timedelta | None:
    """The longest gap between the cron ticks around ``now`` (a weekday-only schedule waits over the
    weekend); None for a schedule that is no cron expression (manual, assets, a fixed delta)."""
    from croniter import CroniterBadCronError, croniter

    if not expression:
        return None
    try:
        before = croniter(expression, now).get_prev(datetime)
        after = croniter(expression, now).get_next(datetime)
        later = croniter(expression, after).get_next(datetime)
    except (CroniterBadCronError, ValueError, KeyError):
        return None
    return max(after - before, later - after)
