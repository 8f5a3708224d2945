"""The overview's health lines: summaries the store could never take are counted and shown, never
silently dropped (the spool sets them aside on the worker and tells the store); the monitor's own
DAGs that do not run on time are named with what the user goes without."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from scraper_monitor.reports.background import ALERTS, MAINTENANCE, SNAPSHOTS, BackgroundDagRecord
from scraper_monitor.store import migrate, spool
from scraper_monitor.store.persist import save
from scraper_monitor.web import create_app
from tests.factories import make_summary


def test_the_overview_says_how_many_summaries_were_set_aside(pg_dsn: str, tmp_path: Path) -> None:
    migrate.upgrade(pg_dsn)
    spool_file = tmp_path / "spool.jsonl"
    spool.append(spool_file, make_summary(try_number=2**40))  # the store refuses it on every replay
    spool.append(spool_file, make_summary(map_index=1))
    assert spool.replay(pg_dsn, spool_file).rejected == 1

    with TestClient(create_app(lambda: pg_dsn, lambda: None)) as client:
        assert client.get("/api/overview").json()["spool_rejects"] == 1
        page = client.get("/", headers={"accept": "text/html"}).text
        restricted = create_app(lambda: pg_dsn, lambda: None, dag_scope=lambda: frozenset({"kino_krakow"}))
    assert "1 execution summary could not be stored and was set aside on the workers" in page
    with TestClient(restricted) as other_team:  # the refused try was cinema_city's
        assert other_team.get("/api/overview").json()["spool_rejects"] == 0


def test_the_overview_names_a_background_dag_that_is_late_and_what_it_costs(pg_dsn: str) -> None:
    migrate.upgrade(pg_dsn)
    now = datetime.now(UTC)
    records = [
        BackgroundDagRecord(ALERTS, known=True, paused=True, last_run_state="success", last_success_at=now),
        BackgroundDagRecord(MAINTENANCE, known=True, every=timedelta(hours=1), last_run_state="failed"),
        BackgroundDagRecord(SNAPSHOTS, known=True, every=timedelta(minutes=5), last_run_state="success",
                            last_success_at=now - timedelta(minutes=1)),
    ]  # fmt: skip
    app = create_app(lambda: pg_dsn, lambda: None, background_source=lambda: records)
    with TestClient(app) as client:
        late = client.get("/api/overview").json()["background"]
        page = client.get("/", headers={"accept": "text/html"}).text
    assert [(i["dag_id"], i["problem"]) for i in late] == [
        (ALERTS, "is paused"),
        (MAINTENANCE, "failed on its last run"),
    ]
    assert f'data-dag="{ALERTS}"' in page and "is paused" in page and "no Slack alerts" in page
    assert f'data-dag="{MAINTENANCE}"' in page and f'data-dag="{SNAPSHOTS}"' not in page


def test_without_airflow_or_when_it_does_not_answer_the_overview_still_answers(pg_dsn: str) -> None:
    migrate.upgrade(pg_dsn)

    def metadata_db_down() -> list[BackgroundDagRecord]:
        raise ConnectionError("the metadata DB is down")

    with TestClient(create_app(lambda: pg_dsn, lambda: None)) as client:
        assert client.get("/api/overview").json()["background"] is None
    with TestClient(create_app(lambda: pg_dsn, lambda: None, background_source=metadata_db_down)) as client:
        answer = client.get("/api/overview")
        page = client.get("/", headers={"accept": "text/html"})
    assert answer.status_code == 200 and answer.json()["background"] is None
    assert page.status_code == 200 and "background-banner" not in page.text


def test_a_summary_lost_on_its_worker_and_rebuilt_by_the_repair_is_a_warning_on_the_overview(
    pg_dsn: str,
) -> None:
    """A try whose summary never arrived (its spool's disk was full: the drill spool_full) gets a row
    from the repair, marked recovered; the overview counts those, so the loss is on the panel too."""
    migrate.upgrade(pg_dsn)
    now = datetime.now(UTC)
    with psycopg.connect(pg_dsn) as conn:
        save(conn, make_summary(started_at=now - timedelta(hours=1), recovered=True))
        save(conn, make_summary(started_at=now - timedelta(hours=1), map_index=1))
    with TestClient(create_app(lambda: pg_dsn, lambda: None)) as client:
        assert client.get("/api/overview").json()["recovered"] == 1
        page = client.get("/", headers={"accept": "text/html"}).text
    assert 'data-testid="recovered-banner"' in page
    assert "1 execution summary of the last 24 h never arrived from its worker" in page
