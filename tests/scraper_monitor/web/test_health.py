"""The overview's health line: summaries the store could never take are counted and shown, never
silently dropped (the spool sets them aside on the worker and tells the store)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from scraper_monitor.store import migrate, spool
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
