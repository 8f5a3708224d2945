"""PostgresShowtimeSink against a fresh real PostgreSQL database."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from scrapers.sink import MAX_CINEMA, MAX_TITLE, PostgresShowtimeSink, ShowtimeRecord
from scrapers.timeparse import WARSAW


def record(external_id: str, title: str = "Eternity", **overrides) -> ShowtimeRecord:
    fields = {
        "external_id": external_id,
        "source": "cinema_city",
        "title": title,
        "tmdb_id": 42,
        "cinema": "Kraków - Bonarka",
        "starts_at": datetime(2025, 11, 24, 18, 30, tzinfo=WARSAW),
        "payload": {"auditorium": "Sala 3"},
        **overrides,
    }
    return ShowtimeRecord(**fields)


def rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT external_id, title, tmdb_id, cinema, starts_at, payload, first_seen_at <= last_seen_at"
            " FROM scraped_showtimes ORDER BY external_id"
        ).fetchall()


def test_first_batch_creates_rerun_updates_without_duplicates(pg_dsn):
    sink = PostgresShowtimeSink(pg_dsn)
    batch = [record("a"), record("b")]
    assert sink.upsert(batch) == {"a": "created", "b": "created"}
    changed = [record("a", title="Eternity (new)"), record("b"), record("c")]
    assert sink.upsert(changed) == {"a": "updated", "b": "updated", "c": "created"}
    stored = rows(pg_dsn)
    assert [r[0] for r in stored] == ["a", "b", "c"]
    assert stored[0][1] == "Eternity (new)"
    assert stored[0][4] == datetime(2025, 11, 24, 18, 30, tzinfo=WARSAW)
    assert stored[0][5] == {"auditorium": "Sala 3"}
    assert all(r[6] for r in stored)


def test_a_new_sink_on_an_existing_table_reports_updated(pg_dsn):
    PostgresShowtimeSink(pg_dsn).upsert([record("a")])
    assert PostgresShowtimeSink(pg_dsn).upsert([record("a")]) == {"a": "updated"}
    assert len(rows(pg_dsn)) == 1


def test_repeated_id_in_one_batch_is_stored_once(pg_dsn):
    assert PostgresShowtimeSink(pg_dsn).upsert([record("a", title="x"), record("a", title="y")]) == {
        "a": "created"
    }
    assert rows(pg_dsn)[0][1] == "y"


def test_untrusted_text_is_bounded_and_nul_free(pg_dsn):
    hostile = "Robert'); DROP TABLE scraped_showtimes;--\x00" + "x" * 5000
    sink = PostgresShowtimeSink(pg_dsn)
    sink.upsert([record("a", title=hostile, cinema=hostile, payload={"note": hostile, "n": [hostile]})])
    (_, title, _, cinema, _, payload, _) = rows(pg_dsn)[0]
    assert title.startswith("Robert'); DROP TABLE") and len(title) == MAX_TITLE and "\x00" not in title
    assert len(cinema) == MAX_CINEMA
    assert len(payload["note"]) == 2000 and "\x00" not in payload["note"]


def test_oversized_payload_is_replaced_by_a_marker(pg_dsn):
    PostgresShowtimeSink(pg_dsn).upsert([record("a", payload={f"k{i}": "v" * 1000 for i in range(100)})])
    assert rows(pg_dsn)[0][5]["truncated"] is True


@pytest.mark.parametrize("bad_id", ["", "x" * 301, "a\x00b"])
def test_invalid_external_ids_are_rejected_not_truncated(pg_dsn, bad_id):
    with pytest.raises(ValueError):
        PostgresShowtimeSink(pg_dsn).upsert([record(bad_id)])


def test_empty_batch_touches_nothing(pg_dsn):
    assert PostgresShowtimeSink(pg_dsn).upsert([]) == {}
