"""The spool: concurrent appends, exactly-once replay, crash recovery (real PostgreSQL)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.store import migrate, spool
from tests.factories import count, make_summary

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
    assert [
        p.name for p in tmp_path.iterdir()
    ] == []  # no claim left behind; the spool went with the last claim


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


def test_only_failed_entries_go_back(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    bad = make_summary(map_index=1)
    bad.duration_ms = 2**40  # out of range for the column: the store refuses this one entry
    for summary in (make_summary(map_index=0), bad, make_summary(map_index=2)):
        spool.append(spool_file, summary)
    with spool_file.open("ab") as fh:
        fh.write(b'{"truncated": \n')

    report = spool.replay(store_dsn, spool_file)
    assert (report.replayed, report.failed, report.rejected) == (2, 1, 1)
    (kept,) = spool_file.read_bytes().splitlines()
    assert ExecutionSummary.from_json(json.loads(kept)).key == bad.key
    rejected = spool_file.with_name(spool_file.name + spool.REJECTED_SUFFIX)
    assert rejected.read_bytes() == b'{"truncated": \n'
    assert spool.replay(store_dsn, spool_file).failed == 1  # still kept, still not duplicated
    assert count(store_dsn, "SELECT count(*) FROM task_executions") == 2


def test_budget_defers_the_rest(store_dsn: str, tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    for i in range(3):
        spool.append(spool_file, make_summary(map_index=i))
    report = spool.replay(store_dsn, spool_file, budget_s=0)
    assert (report.replayed, report.deferred) == (0, 3)
    assert len(spool_file.read_bytes().splitlines()) == 3
