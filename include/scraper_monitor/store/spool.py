"""The spool: summaries the store could not take, kept as JSON lines until a replay stores them.

Protocol:

- append: open the spool, lock it (``flock``), check it is still the file at the spool path (a replay
  may have renamed it away while we waited; then reopen), write whole lines, fsync. A record always
  starts on a line of its own: a write that failed half-way (disk full) is cut back off, and if a
  fragment is left anyway the next record starts with a newline, so the fragment is one unreadable
  line and never swallows the record after it.
- replay: only one at a time (``<spool>.replay-lock``). Lock the spool just long enough to rename it
  to ``<spool>.replaying.<uuid>`` and read it; appenders then move on to a new spool and never wait
  for the replay itself. Store each entry (an upsert: storing twice never duplicates), append what
  must be tried again back to the spool, then delete the claim.
- A replay that crashed leaves its claim behind; the next replay (holding the replay lock, so no
  other replay owns it) processes it like a fresh claim. Nothing is lost, and entries stored twice
  are harmless.

Entries that can never be stored are set aside in ``<spool>.rejected`` (one JSON object per line: the
reason and the entry as it was), so they stop coming back on every replay but stay on disk for a
person: lines that cannot be read back, and entries the store refuses for what they are (a value out
of a column's range, a broken constraint). An entry that only timed out, or met a store that was down,
goes back to the spool; the entries behind it are still tried.
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
REPLAY_LOCK_SUFFIX = ".replay-lock"


@dataclass(frozen=True)
class ReplayReport:
    replayed: int  # stored (or already stored) in this replay
    failed: int  # the store refused them or was unreachable; back in the spool
    deferred: int = 0  # not tried before the time budget ran out; back in the spool
    rejected: int = 0  # unreadable, or refused by the store for what they are: set aside in <spool>.rejected
    busy: bool = False  # another replay was running: nothing was done


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


def replay(
    dsn: str, spool_path: str | Path, *, budget_s: float | None = None, wait: bool = True
) -> ReplayReport:
    """Store every spooled summary exactly once; put back only what may still be stored.

    ``budget_s`` bounds the time spent (the writer replays on the task's path); what is left when
    it runs out goes back to the spool untried. With ``wait=False`` a replay already running elsewhere
    means there is nothing to do now (``busy``).
    """
    path = Path(spool_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + REPLAY_LOCK_SUFFIX), "ab") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return ReplayReport(0, 0, busy=True)
        with _Replayer(dsn, budget_s) as replayer:
            for claim, lines in _claim_all(path):
                summaries, set_aside = _decode(lines)
                put_back = []
                for line, summary in summaries:
                    verdict = replayer.store(summary)
                    if verdict == "retry":
                        put_back.append(line)
                    elif verdict != "stored":
                        set_aside.append(_Rejection(line, verdict, summary.key))
                if set_aside:
                    _append_lines(rejected_path(path), [r.record() for r in set_aside])
                    replayer.note(set_aside)
                if put_back:
                    _append_lines(path, put_back)
                replayer.rejected += len(set_aside)
                # Only now, with every entry stored, put back or set aside, may the claim go.
                claim.unlink()
        return replayer.report()


def rejected_path(spool_path: str | Path) -> Path:
    path = Path(spool_path)
    return path.with_name(path.name + REJECTED_SUFFIX)


def _short(value: object) -> object:
    return value[:250] if isinstance(value, str) else value


@dataclass(frozen=True)
class _Rejection:
    """A spool line that can never be stored, with why (and whose try it was, when readable)."""

    line: bytes
    reason: str
    key: tuple[str, str, str, int, int] | None = None

    def record(self) -> bytes:
        entry = self.line.decode("utf-8", "replace")
        return json.dumps({"reason": self.reason, "entry": entry}, ensure_ascii=True).encode()


# Told to the store too, so the overview can say that summaries went missing (the entries
# themselves stay in the worker's <spool>.rejected file).
_NOTE_REJECT = """
INSERT INTO spool_rejects (dag_id, run_id, task_id, map_index, try_number, reason)
VALUES (%s, %s, %s, %s, %s, %s)
"""


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

    def store(self, summary: ExecutionSummary) -> str:
        """ "stored"; "retry" when it must go back to the spool; else why the store will never take it."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.deferred += 1
            return "retry"
        if self._store_down:
            self.failed += 1
            return "retry"
        try:
            self._conn = self._conn or connect(self._dsn)
            save(self._conn, summary)
        except psycopg.errors.QueryCanceled:
            # This entry took too long (a statement timeout): the store is up, so go on with the rest.
            log.warning("spool entry %s timed out; kept for the next replay", summary.key)
            self.failed += 1
            return "retry"
        except psycopg.OperationalError as exc:
            # Unreachable: trying the rest now would only add delays.
            log.warning("spool replay stopped: monitor store unavailable (%s)", describe_error(exc))
            self._store_down = True
            self._drop()
            self.failed += 1
            return "retry"
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            # The entry itself is wrong for the table: it would be refused on every replay.
            log.error("spool entry %s refused by the store (%s); set aside", summary.key, describe_error(exc))
            return f"refused by the store: {type(exc).__name__}"
        except Exception as exc:  # one bad entry must not stop the others
            log.warning("spool entry %s not stored (%s); kept", summary.key, describe_error(exc))
            self._drop()
            self.failed += 1
            return "retry"
        self.replayed += 1
        return "stored"

    def note(self, rejections: list[_Rejection]) -> None:
        """Record set-aside entries in the store (best effort: the file keeps them anyway)."""
        if self._store_down:
            return
        try:
            self._conn = self._conn or connect(self._dsn)
            with self._conn.transaction():
                for r in rejections:
                    key = r.key or (None, None, None, None, None)
                    self._conn.execute(_NOTE_REJECT, (*[_short(k) for k in key], r.reason[:500]))
        except Exception as exc:  # noted next time a person runs replay-spool; the file has them
            log.warning(
                "could not record %d set-aside spool entries (%s)", len(rejections), describe_error(exc)
            )
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


def _decode(lines: list[bytes]) -> tuple[list[tuple[bytes, ExecutionSummary]], list[_Rejection]]:
    """The readable entries, and the rejections of the lines that are not."""
    good: list[tuple[bytes, ExecutionSummary]] = []
    bad: list[_Rejection] = []
    for line in lines:
        try:
            good.append((line, ExecutionSummary.from_json(json.loads(line))))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("unreadable spool line set aside (%s)", type(exc).__name__)
            bad.append(_Rejection(line, f"unreadable: {type(exc).__name__}"))
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
        with open(path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if not _is_current(fh, path):
                continue  # a replay claimed this file while we waited: write to the new spool
            size = os.fstat(fh.fileno()).st_size
            if size and os.pread(fh.fileno(), 1, size - 1) != b"\n":
                data = b"\n" + data  # a torn write before us: leave its fragment on a line of its own
            try:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            except OSError:
                _cut_back(fh, size)
                raise
            return


def _cut_back(fh: BinaryIO, size: int) -> None:
    """Remove what a failed write left after ``size`` bytes (best effort: the file may refuse too)."""
    try:
        os.ftruncate(fh.fileno(), size)
    except OSError:
        log.warning("could not cut a torn spool write back; the next record starts on a new line")


def _claims(path: Path) -> Iterator[Path]:
    return path.parent.glob(path.name + CLAIM_MARKER + "*") if path.parent.is_dir() else iter(())


def _claim_all(path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """Each claimed file with its lines: claims left by crashed replays first (they hold older
    entries), then the current spool. The caller holds the replay lock, so every claim is ours."""
    for orphan in sorted(_claims(path)):
        try:
            yield orphan, _lines(orphan.read_bytes())
        except FileNotFoundError:
            continue
    claimed = _take(path)
    if claimed is not None:
        yield claimed


def _lines(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if line.strip()]


def _take(spool: Path) -> tuple[Path, list[bytes]] | None:
    """Rename the spool away and read it, holding its lock only for that (appenders never wait
    for a replay: one that opened the old file sees it is no longer current and reopens)."""
    try:
        fh = open(spool, "rb")
    except FileNotFoundError:
        return None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # waits for an appender mid-write, never for a replay
        if not _is_current(fh, spool) or os.fstat(fh.fileno()).st_size == 0:
            return None
        claimed = spool.with_name(spool.name + CLAIM_MARKER + uuid.uuid4().hex)
        os.rename(spool, claimed)
        return claimed, _lines(fh.read())
