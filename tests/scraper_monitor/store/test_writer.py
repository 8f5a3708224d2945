"""Monitor store: migrations, the summary upsert and the never-failing writer (real PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.category import categorize
from scraper_monitor.reports.executions import item_outcomes_of_run, of_run
from scraper_monitor.state import FAILED, RETRYING, STATES, SUCCESS
from scraper_monitor.store import migrate, rollup, spool
from scraper_monitor.store.db import connect, describe_error
from scraper_monitor.store.persist import ITEM_BATCH, save
from scraper_monitor.store.writer import SummaryWriter
from scrapers.outcome import ItemOutcome, MatchQuality
from tests.factories import T0, count, film, make_summary

TABLES = {"task_executions", "item_outcomes", "execution_daily", "item_daily"}
# The panel indexes at head (0003 replaced 0001's started_at indexes with ones in listing order).
INDEXES = {
    "ix_task_executions_newest",
    "ix_task_executions_scraper_newest",
    "ix_task_executions_failures_newest",
    "ix_task_executions_category_newest",
    "ix_task_executions_activity",
    "ix_task_executions_silent",
    "ix_item_outcomes_execution",
    "ix_item_outcomes_scraper_recorded",
    "uq_task_executions_try",
}


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    return pg_dsn


def _names(dsn: str, query: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {name for (name,) in conn.execute(query).fetchall()}


def test_upgrade_creates_the_schema_and_is_idempotent(pg_dsn: str) -> None:
    assert migrate.current_revision(pg_dsn) is None
    migrate.upgrade(pg_dsn)
    migrate.upgrade(pg_dsn)
    assert migrate.current_revision(pg_dsn) == migrate.head_revision() is not None
    tables = _names(pg_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    # Our own version table: never Airflow's alembic_version, which may live in the same database.
    assert TABLES | {"scraper_monitor_alembic_version"} <= tables
    assert "alembic_version" not in tables
    assert INDEXES <= _names(pg_dsn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    with psycopg.connect(pg_dsn) as conn:
        (failures_index,) = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_task_executions_failures_newest'"
        ).fetchone()
    assert "started_at DESC NULLS LAST" in failures_index and "'failed'" in failures_index


def test_the_city_migration_keeps_old_rows_and_their_history_without_a_city(pg_dsn: str) -> None:
    migrate.upgrade(pg_dsn, "0007")
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "INSERT INTO task_executions (dag_id, run_id, task_id, map_index, try_number, scraper, state,"
            " started_at) VALUES ('cinema_city', 'old-run', 'sync', -1, 1, 'cinema_city', 'failed', %s)",
            (T0,),
        )
        conn.execute(
            "INSERT INTO execution_daily (day, scraper, task_id, state, error_category, executions, silent,"
            " duration_ms_sum) VALUES (%s, 'cinema_city', 'sync', 'failed', 'network_error', 3, 0, 900)",
            (T0.date() - timedelta(days=200),),
        )
    migrate.upgrade(pg_dsn)

    with connect(pg_dsn) as conn:
        (old,) = of_run(conn, "cinema_city", "old-run")
        assert old.city is None and old.state == FAILED  # shown, as a run without a city
        # A city's runs land beside it, the same scraper, in their own rollup rows.
        save(conn, make_summary(run_id="new-run", started_at=T0, city="Kraków"))
        rollup.refresh(conn, T0.date() - timedelta(days=200), T0.date())
    with psycopg.connect(pg_dsn) as conn:
        daily = conn.execute(
            "SELECT day, city, sum(executions)::int FROM scraper_daily GROUP BY day, city ORDER BY day, city"
        ).fetchall()
    assert daily == [
        (T0.date() - timedelta(days=200), "", 3),  # rolled up before: kept, with no city
        (T0.date(), "", 1),
        (T0.date(), "krakow", 1),
    ]


def test_concurrent_upgrades_do_not_race(pg_dsn: str) -> None:
    # Processes, like a scheduler start and a CLI call (Alembic itself is not thread-safe).
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=migrate.upgrade, args=(pg_dsn,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert migrate.current_revision(pg_dsn) == migrate.head_revision()


def test_state_check_accepts_exactly_the_vocabulary(store_dsn: str) -> None:
    # The migration keeps a frozen copy of the states; this proves it still matches the module.
    for i, state in enumerate(STATES):
        with connect(store_dsn) as conn:
            save(conn, make_summary(map_index=i, state=state))
    with psycopg.connect(store_dsn) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO task_executions (dag_id, run_id, task_id, try_number, scraper, state)"
            " VALUES ('d', 'r', 't', 1, 's', 'completed')"
        )


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://postgres@/monitor?host=/tmp/pg%20sock",
            "postgresql+psycopg://postgres@/monitor?host=%2Ftmp%2Fpg+sock",
        ),
        ("host=db.example port=5433 dbname=m user=u", "postgresql+psycopg://u@/m?host=db.example&port=5433"),
        ("postgresql://u:p%40ss@db:5432/m", "postgresql+psycopg://u:p%40ss@/m?host=db&port=5432"),
    ],
)
def test_sqlalchemy_url_from_libpq_dsn(dsn: str, expected: str) -> None:
    assert migrate.sqlalchemy_url(dsn).render_as_string(hide_password=False) == expected


def test_upsert_same_key_twice_keeps_one_row_and_replaces_items(store_dsn: str) -> None:
    first = make_summary(items=5, state=RETRYING, error_category="network_error")
    second = make_summary(items=3, counts={"showtimes_found": 3})
    with connect(store_dsn) as conn:
        first_id = save(conn, first)
        second_id = save(conn, second)
        rows = of_run(conn, first.dag_id, first.run_id)
        items = item_outcomes_of_run(conn, first.dag_id, first.run_id)
    assert first_id == second_id
    assert [(r.state, r.counts, r.error_category) for r in rows] == [(SUCCESS, {"showtimes_found": 3}, None)]
    assert len(items) == 3 and {i.execution_id for i in items} == {first_id}
    assert items[0].recorded_at == second.ended_at  # items are dated by their execution


def test_one_row_per_try(store_dsn: str) -> None:
    with connect(store_dsn) as conn:
        save(conn, make_summary(try_number=1, state=RETRYING, error_message="HTTP 503"))
        save(conn, make_summary(try_number=2, state=SUCCESS, items=2))
        rows = of_run(conn, "cinema_city", make_summary().run_id)
    assert [(r.try_number, r.state) for r in rows] == [(1, RETRYING), (2, SUCCESS)]


def test_a_replayed_older_version_does_not_override_a_newer_one(store_dsn: str) -> None:
    newer = make_summary(state=SUCCESS, duration_ms=2000, items=1)
    older = make_summary(state=FAILED, duration_ms=1000, error_message="stale")
    with connect(store_dsn) as conn:
        save(conn, newer)
        assert save(conn, older) is None
        (row,) = of_run(conn, newer.dag_id, newer.run_id)
        assert len(item_outcomes_of_run(conn, newer.dag_id, newer.run_id)) == 1
    assert (row.state, row.error_message) == (SUCCESS, None)


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "'); DROP TABLE task_executions;--",
    "%(dag_id)s {0} $1 \\x00 ' \" ; -- /* */",
    "Brak seansów — «zażółć» 🎬\r\nsecond line",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_verbatim(store_dsn: str, text: str) -> None:
    summary = make_summary(error_message=text, silent_reason=text, skip_reason=text, fingerprint=text)
    summary.items = [ItemOutcome("film", text, "failed", "validation_error", text)]
    with connect(store_dsn) as conn:
        save(conn, summary)
        (row,) = of_run(conn, summary.dag_id, summary.run_id)
        (item,) = item_outcomes_of_run(conn, summary.dag_id, summary.run_id)
    assert row.error_message == row.silent_reason == row.skip_reason == row.fingerprint == text
    assert item.external_id == item.reason == text
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 1


def test_every_field_a_task_controls_is_bounded(store_dsn: str) -> None:
    summary = make_summary(
        skip_reason="s" * 5_000_000,
        silent_reason="r" * 10_000,
        counts={f"count_{i}_" + "k" * 200: i for i in range(1000)},
        duration_ms=2**40,  # a sensor deferred for decades
    )
    with connect(store_dsn) as conn:
        save(conn, summary)
        (row,) = of_run(conn, summary.dag_id, summary.run_id)
    assert (len(row.skip_reason or ""), len(row.silent_reason or "")) == (500, 500)
    assert len(row.counts) == 100 and max(map(len, row.counts)) == 100
    assert row.duration_ms == 2**31 - 1


def test_a_huge_item_list_is_written_in_batches_within_the_statement_timeout(store_dsn: str) -> None:
    """No statement carries more than a batch, so none comes near the store's statement timeout
    however long the list: the server counts each statement's rows (not a timing, which a busy
    machine would make flaky)."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE item_statements (rows bigint)")
        conn.execute(
            "CREATE FUNCTION count_item_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " INSERT INTO item_statements SELECT count(*) FROM new_items; RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER item_statements AFTER INSERT ON item_outcomes REFERENCING NEW TABLE AS new_items"
            " FOR EACH STATEMENT EXECUTE FUNCTION count_item_statement()"
        )
    summary = make_summary(items=[ItemOutcome("showtime", f"s{i}", "created") for i in range(60_000)])
    with connect(store_dsn, statement_timeout_ms=2_000) as conn:
        save(conn, summary)
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes") == 60_000
    with psycopg.connect(store_dsn) as conn:
        statements = [n for (n,) in conn.execute("SELECT rows FROM item_statements")]
    assert (
        sum(statements) == 60_000 and max(statements) == ITEM_BATCH and len(statements) == 60_000 / ITEM_BATCH
    )


def test_long_text_is_bounded_and_nul_replaced(store_dsn: str) -> None:
    summary = make_summary(error_message="x" * 10_000, silent_reason="a\x00b")
    summary.items = [ItemOutcome("film", "i" * 1000, "failed", reason="r" * 1000)]
    with connect(store_dsn) as conn:
        save(conn, summary)
        (row,) = of_run(conn, summary.dag_id, summary.run_id)
        (item,) = item_outcomes_of_run(conn, summary.dag_id, summary.run_id)
    assert len(row.error_message or "") == 2000 and row.error_message.startswith("x" * 1999)
    assert row.silent_reason == "a\ufffdb"  # PostgreSQL text cannot hold NUL
    assert (len(item.external_id or ""), len(item.reason or "")) == (300, 500)


FILMS = [
    film(
        "cinema_city_film_a", "Eternity. Wybieram ciebie", confidence=0.97, method="split_exact", tmdb_id=130
    ),
    film(
        "cinema_city_film_b",
        "Dom <i>dobry</i>\x00",
        confidence=0.595,
        reason="tmdb_needs_review",
        tmdb_id=171,
    ),
    film(
        "cinema_city_film_c", "Maraton", confidence=0.0, reason="tmdb_no_results", method=None, tmdb_id=None
    ),
]
FILM_ROWS = [
    (
        "cinema_city_film_a",
        "created",
        "Eternity. Wybieram ciebie",
        0.97,
        "split_exact",
        130,
        "Eternity. Wybieram ciebie",
    ),
    (
        "cinema_city_film_b",
        "failed",
        "Dom <i>dobry</i>\ufffd",
        0.595,
        "original_exact",
        171,
        "Dom <i>dobry</i>\ufffd",
    ),
    ("cinema_city_film_c", "failed", "Maraton", 0.0, None, None, "Maraton"),
]


def _film_rows(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT external_id, outcome, film_title, match_confidence, match_method, tmdb_id, tmdb_title"
            " FROM item_outcomes WHERE entity_type = 'film' ORDER BY external_id"
        ).fetchall()


def test_a_films_match_is_stored_bounded(store_dsn: str) -> None:
    huge = MatchQuality("t" * 5000, float("nan"), "m" * 500, 2**70, "c" * 5000)
    summary = make_summary(items=[*FILMS, ItemOutcome("film", "huge", "created", match=huge)])
    with connect(store_dsn) as conn:
        save(conn, summary)
    rows = _film_rows(store_dsn)
    assert rows[:3] == FILM_ROWS
    assert rows[3][0] == "huge" and [len(rows[3][2]), rows[3][3], len(rows[3][4]), rows[3][5]] == [
        300,
        None,
        100,
        None,
    ]
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes WHERE entity_type = 'film'") == 4


def test_a_lone_surrogate_is_categorized_and_stored_replaced(store_dsn: str) -> None:
    """Bug (found by the parser fuzzers): a message holding a lone surrogate, which a JSON answer's
    ``"\\ud800"`` decodes to, crashed categorize (the fingerprint's UTF-8 encoding) and PostgreSQL's
    encoding of every text column: the execution had no summary."""
    filed = categorize(ValueError("film \ud800 without name"))
    assert len(filed.fingerprint) == 16
    summary = make_summary(
        error_message="ValueError: film \ud800 without name",
        fingerprint=filed.fingerprint,
        silent_reason="a\udc00b",
    )
    summary.items = [ItemOutcome("film", "f\ud800", "failed", reason="r\ud800")]
    with connect(store_dsn) as conn:
        save(conn, summary)
        (row,) = of_run(conn, summary.dag_id, summary.run_id)
        (item,) = item_outcomes_of_run(conn, summary.dag_id, summary.run_id)
    assert (row.error_message, row.silent_reason) == ("ValueError: film \ufffd without name", "a\ufffdb")
    assert (item.external_id, item.reason) == ("f\ufffd", "r\ufffd")


def test_writer_stores_and_drains_the_spool(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    spool.append(spool_file, make_summary(map_index=7, items=2))
    writer = SummaryWriter(store_dsn, spool_file)
    assert writer.write(make_summary(map_index=1)) == "stored"
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 2
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes") == 2
    assert not spool.pending(spool_file)


def test_a_wedged_store_costs_a_task_at_most_the_statement_timeout(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    with psycopg.connect(store_dsn) as blocker:
        # Someone holds the table (a long migration, a stuck maintenance job): the upsert must give up.
        blocker.execute("LOCK TABLE task_executions IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert SummaryWriter(store_dsn, spool_file).write(make_summary()) == "spooled"
        assert time.monotonic() - started < 3
    assert spool.replay(store_dsn, spool_file).replayed == 1


@contextmanager
def stalled_backends(dsn: str) -> Iterator[None]:
    """Freeze the store's backends serving the monitor (SIGSTOP), as a storage stall or a paused VM
    would: connections stay open, the server never answers."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        pids = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'scraper-monitor'"
                " AND datname = current_database()"
            ).fetchall()
        ]
    assert pids, "no monitor connection to stall"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_a_stalled_backend_costs_the_write_its_deadline_then_the_summary_is_spooled(
    store_dsn: str, tmp_path: Path
) -> None:
    spool_file = tmp_path / "spool.jsonl"
    writer = SummaryWriter(store_dsn, spool_file, write_deadline_s=1.0)
    assert writer.write(make_summary(map_index=0)) == "stored"  # the writer keeps this connection
    with stalled_backends(store_dsn):
        started = time.monotonic()
        assert writer.write(make_summary(map_index=1)) == "spooled"
        # Bounded by the client-side deadline: the server's statement timeout never fires on a
        # backend that is not running, and Airflow would kill the callback at 20 s.
        assert time.monotonic() - started < 3
    assert spool.replay(store_dsn, spool_file).replayed == 1
    # The abandoned write may also finish once the backend runs again: still one row per try.
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 2


def test_a_stalled_backend_costs_the_history_lookup_its_deadline(store_dsn: str, tmp_path: Path) -> None:
    writer = SummaryWriter(store_dsn, tmp_path / "spool.jsonl", history_deadline_s=0.5)
    assert writer.history("cinema_city", "cinema_day.cinema_dates", "showtimes_found", 5, city=None) == []
    with stalled_backends(store_dsn):
        started = time.monotonic()
        assert writer.history("cinema_city", "cinema_day.cinema_dates", "showtimes_found", 5, city=None) == []
        assert time.monotonic() - started < 2
    # The next lookup does not wait on the abandoned connection.
    assert writer.write(make_summary()) == "stored"
    assert writer.history("cinema_city", "cinema_day.cinema_dates", "showtimes_found", 5, city=None) == [48]


def test_writer_spools_bad_data_instead_of_raising(store_dsn: str, tmp_path: Path) -> None:
    summary = make_summary(try_number=2**40)  # does not fit the int column
    spool_file = tmp_path / "spool.jsonl"
    assert SummaryWriter(store_dsn, spool_file).write(summary) == "spooled"
    assert len(spool_file.read_text().splitlines()) == 1


def test_writer_without_a_dsn_spools(tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    assert SummaryWriter("", spool_file).write(make_summary()) == "spooled"
    assert spool.pending(spool_file)


def test_writer_reports_lost_when_even_the_spool_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert SummaryWriter("", blocker / "spool.jsonl").write(make_summary()) == "lost"


def test_error_descriptions_never_echo_the_dsn() -> None:
    with pytest.raises(psycopg.Error) as bad_dsn:
        psycopg.connect("postgresql://u:s3cret@/db?host=/nonexistent&bogus_option=1")
    assert "s3cret" not in describe_error(bad_dsn.value)
    with pytest.raises(psycopg.OperationalError) as down:
        connect("postgresql://u:s3cret@/db?host=/nonexistent")
    described = describe_error(down.value)
    assert described.startswith("OperationalError: ") and "s3cret" not in described


def test_store_down_spools_fast_and_replays_exactly_once(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg" / "data")
    server.start()
    try:
        server.ensure_database("monitor")
        dsn = server.dsn("monitor")
        migrate.upgrade(dsn)
        spool_file = tmp_path / "spool" / "summaries.jsonl"
        writer = SummaryWriter(dsn, spool_file)
        summaries = [make_summary(map_index=i, items=3) for i in range(6)]
        # A movie_details try spooled while the store is down keeps each film's match quality.
        summaries[4].task_id, summaries[4].items = "movie_details", FILMS
        summaries += [
            make_summary(map_index=0, try_number=2, started_at=summaries[0].started_at + timedelta(1))
        ]

        assert [writer.write(s) for s in summaries[:2]] == ["stored", "stored"]
        server.stop()
        for summary in summaries[2:]:
            started = time.monotonic()
            assert writer.write(summary) == "spooled"
            assert time.monotonic() - started < 3
        assert len(spool_file.read_text().splitlines()) == 5

        server.start()
        report = spool.replay(dsn, spool_file)
        assert (report.replayed, report.failed, report.rejected) == (5, 0, 0)
        assert spool.replay(dsn, spool_file).replayed == 0  # nothing left to replay
        # Replaying the same entries again (say, after a crash before the claim was deleted) is harmless.
        for summary in summaries[2:]:
            spool.append(spool_file, summary)
        assert spool.replay(dsn, spool_file).replayed == 5

        with connect(dsn) as conn:
            rows = of_run(conn, "cinema_city", summaries[0].run_id)
        assert sorted(r.map_index for r in rows) == sorted(s.map_index for s in summaries)
        assert {(r.map_index, r.try_number) for r in rows} == {(s.map_index, s.try_number) for s in summaries}
        assert count(dsn, "SELECT count(*) FROM item_outcomes") == 3 * len(summaries[:6])
        assert not spool.pending(spool_file)
        assert _film_rows(dsn) == FILM_ROWS
    finally:
        server.stop()
