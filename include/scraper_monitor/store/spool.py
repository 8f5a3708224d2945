"""The spool: summaries the store could not take, kept as JSON lines until a replay stores them.

Protocol (every step holds an exclusive ``flock`` on the file it touches):

- append: open the spool, lock it, check it is still the file at the spool path (a replay may have
  renamed it away while we waited for the lock; then reopen), write whole lines, fsync.
- replay: lock the spool and rename it to ``<spool>.replaying.<uuid>`` while holding the lock, so
  the claimed file is locked from the moment it exists and appenders move on to a new spool. Store
  each entry (an upsert: storing twice never duplicates), append what failed back to the spool,
  then delete the claim.
- A replay that crashed leaves its claim behind, unlocked (the kernel drops a dead process's
  locks); the next replay finds it and processes it like a fresh claim. Nothing is lost, and
  entries stored twice are harmless.

Lines that cannot be read back at all go to ``<spool>.rejected`` so they stop blocking replays
but stay on disk for a person to look at.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg

from scraper_monitor.execution import ExecutionSummary
from scraper_monitor.store.db import connect, describe_error
from scraper_monitor.store.persist import save

log = logging.getLogger(__name__)

CLAIM_MARKER = ".replaying."
REJECTED_SUFFIX = ".rejected"


@dataclass(frozen=True)
class ReplayReport:
    replayed: int  # stored (or already stored) in this replay
    failed: int  # the store refused them or was unreachable; back in the spool
    deferred: int = 0  # not tried before the time budget ran out; back in the spool
    rejected: int = 0  # unreadable lines, moved to <spool>.rejected


def encode(summary: ExecutionSummary) -> bytes:
    # ensure_ascii: one entry is one line of plain bytes, whatever the scraped text contains.
    return (json.dumps(summary.to_json(), ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def append(spool_path: str | Path, summary: ExecutionSummary) -> None:
    _append_lines(Path(spool_path), [encode(summary)])


def pending(spool_path: str | Path) -> bool:
    """Cheap check for anything to replay (a non-empty spool or a claim left by a crash)."""
    path = Path(spool_path)
    try:
        if path.stat().st_size > 0:
            return True
    except FileNotFoundError:
        pass
    return any(_claims(path))


def replay(dsn: str, spool_path: str | Path, *, budget_s: float | None = None) -> ReplayReport:
    """Store every spooled summary exactly once; put back only what failed.

    ``budget_s`` bounds the time spent (the writer replays on the task's path); what is left when
    it runs out goes back to the spool untried.
    """
    path = Path(spool_path)
    with _Replayer(dsn, budget_s) as replayer:
        for claim in _claim_all(path):
            try:
                summaries, unreadable = _decode(claim.read())
                put_back = [line for line, summary in summaries if not replayer.store(summary)]
                if unreadable:
                    _append_lines(path.with_name(path.name + REJECTED_SUFFIX), unreadable)
                if put_back:
                    _append_lines(path, put_back)
                replayer.rejected += len(unreadable)
                # Only now, with every entry stored or put back, may the claim go.
                claim.delete()
            finally:
                claim.close()
    return replayer.report()


class _Replayer:
    """One connection and one time budget for a whole replay."""

    def __init__(self, dsn: str, budget_s: float | None) -> None:
        self._dsn = dsn
        self._deadline = None if budget_s is None else time.monotonic() + budget_s
        self._conn: psycopg.Connection | None = None
        self._store_down = False
        self.replayed = self.failed = self.deferred = self.rejected = 0

    def __enter__(self) -> _Replayer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            self._conn.close()

    def report(self) -> ReplayReport:
        return ReplayReport(self.replayed, self.failed, self.deferred, self.rejected)

    def store(self, summary: ExecutionSummary) -> bool:
        """True when stored; False when it must go back to the spool."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.deferred += 1
            return False
        if self._store_down:
            self.failed += 1
            return False
        try:
            self._conn = self._conn or connect(self._dsn)
            save(self._conn, summary)
        except psycopg.OperationalError as exc:
            # Unreachable or timing out: trying the rest now would only add delays.
            log.warning("spool replay stopped: monitor store unavailable (%s)", describe_error(exc))
            self._store_down = True
            self.failed += 1
            return False
        except Exception as exc:  # one bad entry must not stop the others
            log.warning("spool entry %s not stored (%s); kept", summary.key, describe_error(exc))
            self.failed += 1
            return False
        self.replayed += 1
        return True


def _decode(lines: list[bytes]) -> tuple[list[tuple[bytes, ExecutionSummary]], list[bytes]]:
    good: list[tuple[bytes, ExecutionSummary]] = []
    bad: list[bytes] = []
    for line in lines:
        try:
            good.append((line, ExecutionSummary.from_json(json.loads(line))))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("unreadable spool line set aside (%s)", type(exc).__name__)
            bad.append(line)
    return good, bad


def _is_current(fh: BinaryIO, path: Path) -> bool:
    """Whether the open file is still the one at ``path`` (not renamed away or deleted)."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fh.fileno())
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _append_lines(path: Path, lines: list[bytes]) -> None:
    data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with open(path, "ab") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if not _is_current(fh, path):
                continue  # a replay claimed this file while we waited: write to the new spool
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            return


def _claims(path: Path) -> Iterator[Path]:
    return path.parent.glob(path.name + CLAIM_MARKER + "*") if path.parent.is_dir() else iter(())


def _claim_all(path: Path) -> Iterator[_Claim]:
    """Claims left by crashed replays first (they hold older entries), then the current spool."""
    for orphan in sorted(_claims(path)):
        claim = _Claim.adopt(orphan)
        if claim is not None:
            yield claim
    claim = _Claim.take(path)
    if claim is not None:
        yield claim


class _Claim:
    """A claimed spool file, locked by us (the open file holds the lock) until closed."""

    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self._fh = fh
        self._path = path

    @classmethod
    def take(cls, spool: Path) -> _Claim | None:
        try:
            fh = open(spool, "rb")
        except FileNotFoundError:
            return None
        fcntl.flock(fh, fcntl.LOCK_EX)  # waits for an appender mid-write, never for a replay
        if not _is_current(fh, spool) or os.fstat(fh.fileno()).st_size == 0:
            fh.close()  # another replay claimed it first, or there is nothing to do
            return None
        claimed = spool.with_name(spool.name + CLAIM_MARKER + uuid.uuid4().hex)
        os.rename(spool, claimed)
        return cls(fh, claimed)

    @classmethod
    def adopt(cls, orphan: Path) -> _Claim | None:
        try:
            fh = open(orphan, "rb")
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()  # a live replay is working on it
            return None
        if not _is_current(fh, orphan):
            fh.close()  # finished and deleted between our glob and our lock
            return None
        return cls(fh, orphan)

    def read(self) -> list[bytes]:
        return [line for line in self._fh.read().splitlines() if line.strip()]

    def delete(self) -> None:
        self._path.unlink()

    def close(self) -> None:
        self._fh.close()
