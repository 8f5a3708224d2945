"""The CSV export under a real server (uvicorn): a download that is cancelled or stalls gives its
store connection back instead of holding a transaction open until the next garbage collection."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from scraper_monitor.store import migrate
from scraper_monitor.web import create_app
from scraper_monitor.web.routes import executions
from tests.fixtures.browser import serve

ROWS = 60_000  # several MB of CSV: far more than the socket buffers hold


@pytest.fixture
def big_store(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO task_executions (dag_id, run_id, task_id, map_index, try_number, scraper, state,"
            " started_at, error_message)"
            " SELECT 'cinema_city', 'run', 'cinema_day.cinema_dates', n, 1, 'cinema_city', 'failed',"
            " now() - n * interval '1 second', repeat('HTTP 503 Service Unavailable ', 4)"
            " FROM generate_series(1, %s) AS n",
            (ROWS,),
        )
    return pg_dsn


@pytest.fixture
def server(big_store: str) -> Iterator[tuple[str, int]]:
    with serve(create_app(lambda: big_store, lambda: None)) as url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 80


def _open_download(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.sendall(f"GET /api/export.csv HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert b"200 OK" in sock.recv(4096)  # the headers and the first rows have come
    return sock


def _export_sessions(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = 'scraper-monitor'"
            " AND datname = current_database()"
        ).fetchall()
    return [state for (state,) in rows]


def _wait_until(dsn: str, seconds: float, wanted: list[str]) -> list[str]:
    deadline = time.monotonic() + seconds
    while (seen := _export_sessions(dsn)) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen


def _wait_until_gone(dsn: str, seconds: float) -> list[str]:
    return _wait_until(dsn, seconds, [])


def test_a_cancelled_download_gives_its_connection_back(big_store: str, server: tuple[str, int]) -> None:
    sock = _open_download(*server)
    # The stream's snapshot, held while the client does not read (for a moment it may still be fetching).
    assert _wait_until(big_store, 5, ["idle in transaction"]) == ["idle in transaction"]
    sock.close()  # the user pressed cancel
    assert _wait_until_gone(big_store, 5) == []


def test_a_stalled_download_is_ended_by_the_server(
    big_store: str, monkeypatch: pytest.MonkeyPatch, server: tuple[str, int]
) -> None:
    monkeypatch.setattr(executions, "EXPORT_IDLE_MS", 1_000)
    sock = _open_download(*server)  # and then never reads again, nor closes
    try:
        assert _wait_until_gone(big_store, 8) == []
    finally:
        sock.close()
