"""The spool: concurrent appends, exactly-once replay, crash recovery (real PostgreSQL)."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.store import migrate, spool
from tests.factories import count, make_summary

ROOT = Path(__file__).resolve().parents[3]

PROCESSES = 4
PER_PROCESS = 40


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    return pg_dsn


def _append_many(spool_file: str, worker: int) -> None:
    for i in range(PER_PROCESS):
        # Lines well over PIPE_BUF (4 KiB): only the lock keeps concurrent writes from interleaving.
        summary = make_summary(task_id=f"worker_{worker}", map_index=i, items=60, error_message="é" * 1500)
        spool.append(spool_file, summary)


def _start_appenders(spool_file: Path) -> list[multiprocessing.process.BaseProcess]:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(spool_file), w)) for w in range(PROCESSES)]
    for worker in workers:
        worker.start()
    return workers


def _join(workers: list[multiprocessing.process.BaseProcess]) -> None:
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0


def test_concurrent_appenders_do_not_corrupt_the_spool(tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    _join(_start_appenders(spool_file))
    lines = spool_file.read_bytes().splitlines()
    summaries = [ExecutionSummary.from_json(json.loads(line)) for line in lines]
    assert len({s.key for s in summaries}) == len(summaries) == PROCESSES * PER_PROCESS
    assert all(len(s.items) == 60 for s in summaries)


def test_replay_racing_appenders_stores_everything_once(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    workers = _start_appenders(spool_file)
    replayed = 0
    while any(w.is_alive() for w in workers):
        replayed += spool.replay(store_dsn, spool_file).replayed
    _join(workers)
    replayed += spool.replay(store_dsn, spool_file).replayed
    assert replayed == PROCESSES * PER_PROCESS
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == PROCESSES * PER_PROCESS
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes") == PROCESSES * PER_PROCESS * 60
    assert not spool.pending(spool_file)
    # No claim left behind; the spool went with the last claim (the replay lock file stays, empty).
    assert [p.name for p in tmp_path.iterdir()] == [spool_file.name + spool.REPLAY_LOCK_SUFFIX]


def test_store_down_keeps_every_entry(tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    for i in range(3):
        spool.append(spool_file, make_summary(map_index=i))
    before = spool_file.read_bytes()
    report = spool.replay(f"postgresql://postgres@/db?host={tmp_path}/nowhere", spool_file)
    assert (report.replayed, report.failed) == (0, 3)
    assert spool_file.read_bytes() == before


def test_a_crashed_replay_is_picked_up_and_never_duplicates(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    summaries = [make_summary(map_index=i, items=2) for i in range(4)]
    for summary in summaries[:2]:
        spool.append(spool_file, summary)
    spool.replay(store_dsn, spool_file)
    # A replay that had claimed all four and stored the first two when it died: its claim stays.
    orphan = spool_file.with_name(spool_file.name + spool.CLAIM_MARKER + "dead")
    orphan.write_bytes(b"".join(spool.encode(s) for s in summaries))
    spool.append(spool_file, make_summary(map_index=9))

    assert spool.pending(spool_file)
    report = spool.replay(store_dsn, spool_file)
    assert (report.replayed, report.failed) == (5, 0)
    assert not orphan.exists() and not spool.pending(spool_file)
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 5
    assert count(store_dsn, "SELECT count(*) FROM item_outcomes") == 8


def test_entries_that_can_never_be_stored_are_set_aside_with_their_reason(
    store_dsn: str, tmp_path: Path
) -> None:
    spool_file = tmp_path / "spool.jsonl"
    poison = make_summary(map_index=1, try_number=2**40)  # out of range for the column, on every replay
    for summary in (make_summary(map_index=0), poison, make_summary(map_index=2)):
        spool.append(spool_file, summary)
    with spool_file.open("ab") as fh:
        fh.write(b'{"truncated": \n')

    report = spool.replay(store_dsn, spool_file)
    assert (report.replayed, report.failed, report.rejected) == (2, 0, 2)
    assert not spool.pending(spool_file)  # nothing comes back on the next replay
    unreadable, refused = (
        json.loads(line) for line in spool.rejected_path(spool_file).read_bytes().splitlines()
    )
    assert unreadable == {"reason": "unreadable: JSONDecodeError", "entry": '{"truncated": '}
    assert refused["reason"] == "refused by the store: NumericValueOutOfRange"
    assert ExecutionSummary.from_json(json.loads(refused["entry"])).key == poison.key  # kept for a person
    assert spool.replay(store_dsn, spool_file).replayed == 0
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 2
    # The store is told too, so the overview can say that summaries went missing.
    with psycopg.connect(store_dsn) as conn:
        noted = conn.execute(
            "SELECT dag_id, map_index, try_number, reason FROM spool_rejects ORDER BY id"
        ).fetchall()
    assert noted == [
        (None, None, None, "unreadable: JSONDecodeError"),
        ("cinema_city", 1, 2**40, "refused by the store: NumericValueOutOfRange"),
    ]


def test_an_entry_that_times_out_goes_back_and_the_ones_behind_it_are_stored(
    store_dsn: str, tmp_path: Path
) -> None:
    spool_file = tmp_path / "spool.jsonl"
    for i in range(3):
        spool.append(spool_file, make_summary(map_index=i))
    with psycopg.connect(store_dsn, autocommit=True) as blocker:
        # One try's row is locked (a long transaction on it): its upsert times out, the others go on.
        blocker.execute("BEGIN")
        blocker.execute(
            "INSERT INTO task_executions (dag_id, run_id, task_id, map_index, try_number, scraper, state)"
            " VALUES ('cinema_city', %s, 'cinema_day.cinema_dates', 1, 1, 'cinema_city', 'success')",
            (make_summary().run_id,),
        )
        report = spool.replay(store_dsn, spool_file)
        blocker.execute("ROLLBACK")
    assert (report.replayed, report.failed, report.rejected) == (2, 1, 0)
    assert spool.replay(store_dsn, spool_file).replayed == 1
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 3


def test_a_write_torn_by_a_full_disk_never_swallows_the_next_record(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    spool.append(spool_file, make_summary(map_index=0))
    # A child process whose file-size limit ends inside the next record: the kernel writes what fits
    # and refuses the rest (EFBIG), as a full disk does.
    limit = spool_file.stat().st_size + 100
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from scraper_monitor.store import spool\n"
        "from tests.factories import make_summary\n"
        "try:\n"
        f"    spool.append({str(spool_file)!r}, make_summary(map_index=1))\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    failed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert failed.stdout.strip() == "OSError", failed.stderr
    spool.append(spool_file, make_summary(map_index=2))  # acknowledged: it must be replayed
    report = spool.replay(store_dsn, spool_file)
    assert report.replayed == 2
    with psycopg.connect(store_dsn) as conn:
        stored = {row[0] for row in conn.execute("SELECT map_index FROM task_executions").fetchall()}
    assert stored == {0, 2}


def test_an_appender_never_waits_for_a_replay(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    for i in range(3):
        spool.append(spool_file, make_summary(map_index=i))
    # An appender that opened the spool just before a replay renamed it away (its next step is the lock).
    late = open(spool_file, "a+b")  # noqa: SIM115
    with psycopg.connect(store_dsn) as blocker:
        blocker.execute("LOCK TABLE task_executions IN ACCESS EXCLUSIVE MODE")  # a slow replay: 3 x 2 s
        replaying = threading.Thread(target=spool.replay, args=(store_dsn, spool_file))
        replaying.start()
        while not any(spool._claims(spool_file)):
            time.sleep(0.01)
        started = time.monotonic()
        fcntl.flock(late, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        late.close()
        replaying.join()
    assert waited < 0.5  # not the replay's seconds: the appender moves on to the new spool at once


def test_budget_defers_the_rest(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    for i in range(3):
        spool.append(spool_file, make_summary(map_index=i))
    report = spool.replay(store_dsn, spool_file, budget_s=0)
    assert (report.replayed, report.deferred) == (0, 3)
    assert len(spool_file.read_bytes().splitlines()) == 3


def test_a_line_spooled_before_cities_were_recorded_replays_without_one(
    store_dsn: str, tmp_path: Path
) -> None:
    spool_file = tmp_path / "spool.jsonl"
    # A worker that ran the code before migration 0008 wrote its summaries without a "city" key.
    old = make_summary(map_index=0).to_json()
    del old["city"]
    spool_file.write_text(json.dumps(old) + "\n")
    spool.append(spool_file, make_summary(map_index=1, city="Kraków"))

    assert spool.replay(store_dsn, spool_file).replayed == 2
    with psycopg.connect(store_dsn) as conn:
        cities = conn.execute("SELECT map_index, city FROM task_executions ORDER BY map_index").fetchall()
    assert cities == [(0, None), (1, "krakow")]
