"""Starting the stack: a component that dies while starting is reported at once, with its log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local_stack import processes
from local_stack.paths import Paths


def test_a_component_that_dies_while_starting_ends_the_wait_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(tmp_path))
    paths = Paths(tmp_path)
    paths.run.mkdir()
    paths.logs.mkdir()
    (paths.logs / "api-server.log").write_text("starting\nSchemaError: Compiled regex exceeds size limit\n")
    # Exited but not reaped: what a crashed api-server looks like to the `start` command that launched it.
    crashed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    try:
        (paths.run / "api-server.pid").write_text(str(crashed.pid))
        with pytest.raises(SystemExit, match="api-server exited while starting") as stopped:
            processes.wait_healthy(paths, timeout_s=30, say=lambda line: None)
        assert "Compiled regex exceeds size limit" in str(stopped.value)
    finally:
        crashed.wait()
