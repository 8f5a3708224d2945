"""`scraper-monitor errors unknown | accept` and `recategorize`: the teaching loop a user runs, against
a real store (PostgreSQL), a real rules file and the CLI's own argument parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from scraper_monitor import settings
from scraper_monitor.category import categorize, default_cues
from scraper_monitor.cli import main
from scraper_monitor.store import migrate
from tests.factories import save_failures

# Below the reading threshold: unknown_error today, with a guess (a venue).
UNKNOWN = "Unable to determine which venue hosts event 8821"
GIBBERISH = "qwzx plorb vexmt"


@pytest.fixture
def store_dsn(pg_dsn: str) -> str:
    migrate.upgrade(pg_dsn)
    save_failures(pg_dsn, [UNKNOWN, UNKNOWN, UNKNOWN, GIBBERISH], datetime.now(UTC))
    return pg_dsn


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_teaching_loop(
    store_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "team_rules.yaml"
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(rules))
    assert categorize(UNKNOWN).category == "unknown_error"

    code, out, _ = _cli(capsys, "errors", "unknown", "--dsn", store_dsn, "--json")
    assert code == 0
    listed = json.loads(out)["groups"]
    assert [(g["count"], g["example_message"]) for g in listed] == [(3, UNKNOWN), (1, GIBBERISH)]
    guess = listed[0]["suggestion"]
    assert (guess["category"], guess["decided"]) == ("venue_error", False)
    assert "venue" in guess["cues"] and guess["confidence"] < default_cues().threshold
    assert listed[1]["suggestion"] is None  # nothing in gibberish speaks for a category

    code, out, _ = _cli(capsys, "errors", "unknown", "--dsn", store_dsn)
    assert (
        code == 0 and "venue_error / venue_processing_failed?" in out and listed[0]["fingerprint"][:12] in out
    )

    fingerprint = listed[0]["fingerprint"]
    code, out, _ = _cli(capsys, "errors", "accept", fingerprint[:12], "--dsn", store_dsn)
    assert code == 0, out
    assert (
        f"added rule 'accepted_{fingerprint[:12]}' to {rules}: venue_error / venue_processing_failed" in out
    )
    assert f"rule:accepted_{fingerprint[:12]}" in _explained(UNKNOWN, rules)

    code, out, _ = _cli(capsys, "recategorize", "--fingerprint", fingerprint, "--dsn", store_dsn, "--json")
    assert code == 0
    done = json.loads(out)
    assert (done["rows"], done["changed"]) == (3, 3)
    assert done["filed_as"][0]["category"] == "venue_error"
    with psycopg.connect(store_dsn) as conn:
        categories = conn.execute(
            "SELECT error_category, count(*) FROM task_executions GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert categories == [("unknown_error", 1), ("venue_error", 3)]

    code, out, _ = _cli(capsys, "errors", "unknown", "--dsn", store_dsn, "--json")
    assert [g["example_message"] for g in json.loads(out)["groups"]] == [GIBBERISH]


def test_accept_needs_a_category_when_nothing_is_suggested(
    store_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    fingerprint = categorize(GIBBERISH).fingerprint
    code, _, err = _cli(capsys, "errors", "accept", fingerprint, "--rules", str(rules), "--dsn", store_dsn)
    assert code == 2 and "suggests a category: choose one (--category)" in err and not rules.exists()
    code, out, _ = _cli(
        capsys, "errors", "accept", fingerprint, "--category", "network_error", "--rules", str(rules),
        "--dsn", store_dsn,
    )  # fmt: skip
    assert code == 0 and "network_error / accepted" in out
    code, _, err = _cli(capsys, "errors", "accept", "zz", "--rules", str(rules), "--dsn", store_dsn)
    assert code == 2 and "6 to 16 characters of 0-9 and a-f" in err


def _explained(message: str, rules: Path) -> str:
    """How a new process (a task's callback, the CLI) files ``message`` with the team's rules."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("scraper-monitor")), "categorize", "--explain", "--json"],
        input=message + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, settings.ERROR_RULES_ENV: str(rules)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    decided = json.loads(proc.stdout)["decided_by"]
    return f"{decided['step']}:{decided.get('rule', '')}"
