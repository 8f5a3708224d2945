"""The embedded PostgreSQL helper shared by the local stack, the tests and the benchmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# `make e2e` starts the server through one helper object and stops it through another at the end.
STOP_FROM_ANOTHER_HANDLE = """
import sys
from pathlib import Path
from local_stack.pgserver import EmbeddedPostgres

pgdata = Path(sys.argv[1])
EmbeddedPostgres(pgdata).start()
EmbeddedPostgres(pgdata).stop()
print("stopped")
"""


def test_a_stop_from_another_handle_exits_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STOP_FROM_ANOTHER_HANDLE, str(tmp_path / "pgdata")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
    assert "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()  # and the server really stopped
