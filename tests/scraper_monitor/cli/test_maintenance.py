"""`scraper-monitor db upgrade | prune | replay-spool | rollup` end to end, and DSN/spool resolution."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper_monitor.settings import SettingsError, project_root, read_env_file, resolve_dsn, spool_path
from scraper_monitor.store import migrate, spool
from scraper_monitor.store.db import connect
from scraper_monitor.store.persist import save
from tests.factories import count, make_summary
from tests.fixtures.cli import run_cli


def test_db_upgrade_then_maintenance_commands(pg_dsn: str, tmp_path: Path) -> None:
    first = run_cli("db", "upgrade", "--dsn", pg_dsn)
    assert first.returncode == 0, first.stderr
    assert run_cli("db", "upgrade", "--dsn", pg_dsn).stdout == first.stdout  # idempotent
    assert migrate.current_revision(pg_dsn) == migrate.head_revision()

    now = datetime.now(UTC)
    with connect(pg_dsn) as conn:
        save(conn, make_summary(run_id="old", started_at=now - timedelta(days=120), items=2))
        save(conn, make_summary(run_id="new", started_at=now, items=1))
    spool_file = tmp_path / "spool.jsonl"
    spool.append(spool_file, make_summary(run_id="spooled", started_at=now - timedelta(days=3)))

    replayed = run_cli("replay-spool", "--spool", str(spool_file), "--dsn", pg_dsn, "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout) == {
        "replayed": 1,
        "failed": 0,
        "deferred": 0,
        "rejected": 0,
        "busy": False,
    }

    rolled = run_cli("rollup", "--days", "1", "--dsn", pg_dsn, "--json")
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["execution_rows"] == 1  # today only

    pruned = run_cli("prune", "--days", "90", "--dsn", pg_dsn)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("deleted 1 executions and 2 item outcomes before ")
    assert count(pg_dsn, "SELECT count(*) FROM task_executions") == 2

    snap = run_cli("snapshot", "--dsn", pg_dsn, "--json")
    assert snap.returncode == 0, snap.stderr
    assert json.loads(snap.stdout)["slo_statuses"] > 0
    assert count(pg_dsn, "SELECT count(*) FROM snapshots WHERE computed_at >= %s", now) == 2


def test_dsn_comes_from_the_local_env_file(pg_dsn: str, tmp_path: Path) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "env").write_text(
        f"AIRFLOW_HOME={json.dumps('/x')}\nSCRAPER_MONITOR_DSN={json.dumps(pg_dsn)}\n"
    )
    result = run_cli("db", "upgrade", env={"SCRAPER_MONITOR_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert migrate.current_revision(pg_dsn) == migrate.head_revision()


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    no_store = run_cli("prune", env={"SCRAPER_MONITOR_HOME": str(tmp_path)})  # a project without .local/
    assert no_store.returncode == 2
    assert no_store.stderr.count("\n") == 1 and "no monitor store configured" in no_store.stderr
    assert run_cli("rollup", "--days", "0", "--dsn", "x").returncode == 2
    down = run_cli("rollup", "--dsn", f"postgresql://postgres@/db?host={tmp_path}")
    assert down.returncode == 2 and down.stderr.startswith("scraper-monitor: monitor store: OperationalError")
    assert down.stderr.count("\n") == 1


def test_replay_spool_exits_1_while_the_store_is_down(tmp_path: Path) -> None:
    spool_file = tmp_path / "spool.jsonl"
    spool.append(spool_file, make_summary())
    result = run_cli("replay-spool", "--dsn", f"postgresql://postgres@/db?host={tmp_path}", "--json",
                     env={"SCRAPER_MONITOR_SPOOL": str(spool_file)})  # fmt: skip
    assert result.returncode == 1
    assert json.loads(result.stdout)["failed"] == 1
    assert spool.pending(spool_file)


def test_resolution_order(tmp_path: Path) -> None:
    (tmp_path / ".local").mkdir()
    env_file = tmp_path / ".local" / "env"
    env_file.write_text("# written by the stack\nexport SCRAPER_MONITOR_DSN='from-file'\nOTHER=1\n")
    home = {"SCRAPER_MONITOR_HOME": str(tmp_path)}
    assert resolve_dsn("explicit", home | {"SCRAPER_MONITOR_DSN": "from-env"}) == "explicit"
    assert resolve_dsn(None, home | {"SCRAPER_MONITOR_DSN": "from-env"}) == "from-env"
    assert resolve_dsn(None, home) == "from-file"
    env_file.write_text("OTHER=1\n")
    with pytest.raises(SettingsError, match="pass --dsn, set SCRAPER_MONITOR_DSN"):
        resolve_dsn(None, home)
    assert read_env_file(env_file) == {"OTHER": "1"}

    assert spool_path(home) == tmp_path / ".local" / "spool" / "summaries.jsonl"
    assert spool_path(home | {"SCRAPER_MONITOR_SPOOL": "/s.jsonl"}) == Path("/s.jsonl")


def test_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "dags").mkdir()
    assert project_root({}, cwd=tmp_path / "dags") == tmp_path.resolve()
    assert project_root({}, cwd=tmp_path.parent) == tmp_path.parent.resolve()
