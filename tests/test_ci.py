"""`.ci/run` never passes with a skipped test: skips fail the run in CI, and only there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SKIPPING = """
import pytest

@pytest.fixture
def chromium():
    pytest.skip("chromium is missing")

def test_in_a_fixture(chromium):
    pass

def test_inline():
    pytest.skip("promtool is missing")

def test_fine():
    pass
"""


def _pytest(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.fixtures.ci", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_skip_fails_the_run_in_ci(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    # A skip in a fixture fails the test's setup (an error), one in the test body fails the test.
    assert "1 failed, 1 passed, 1 error" in result.stdout
    assert "skipped in CI: Skipped: chromium is missing" in result.stdout
    assert "skipped in CI: Skipped: promtool is missing" in result.stdout


def test_a_skip_stays_a_skip_on_a_laptop(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ci=False)
    assert result.returncode == 0 and "1 passed, 2 skipped" in result.stdout, result.stdout


def test_ci_run_sets_ci() -> None:
    assert 'export CI="${CI:-true}"' in (ROOT / ".ci" / "run").read_text()
