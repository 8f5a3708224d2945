"""`scraper-monitor chain | reconcile` without Airflow, and how they find and read Airflow.

With Airflow reachable, reconcile is covered end to end against the real stack (test_e2e*).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.pgserver import EmbeddedPostgres
from scraper_monitor.airflow.task_instances import dag_structure, task_instance_record
from scraper_monitor.settings import airflow_credentials, airflow_url
from tests.fixtures.cli import run_cli
from tests.fixtures.cli_store import CC_RUN, Seeded, seeded_store


@pytest.fixture
def store(pg_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_store(pg_server, tmp_path_factory.getbasetemp())


@pytest.fixture
def closed_url() -> str:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_chain_without_airflow_prints_the_stores_view(store: Seeded, closed_url: str) -> None:
    result = run_cli("chain", "cinema_city", CC_RUN, "--airflow-url", closed_url, "--dsn", store.dsn)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Airflow unreachable: cannot reach Airflow at {closed_url}" in out
    assert "showing what the monitor store knows" in out
    assert "8/10 succeeded (80%); 2 failed, 1 skipped, 1 silent" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("TASK"))
    day_2 = next(line for line in lines if "cinema_dates[2]" in line)
    assert day_2.startswith("├─ cinema_dates[2]") and day_2.index("failed") == header.index("STATE")
    assert "network_error: HTTPError: 503" in day_2
    assert any(line.startswith("Cinema-days (1 failed, 1 skipped, 3 success)") for line in lines)
    assert "  failure   cinema_dates[2] failed (network_error: HTTPError: 503" in out
    assert "  silent    cinema_dates[3] succeeded silently: +listed day answered with 0 showtimes" in out

    data = json.loads(
        run_cli(
            "chain", "cinema_city", CC_RUN, "--airflow-url", closed_url, "--dsn", store.dsn, "--json"
        ).stdout
    )
    assert data["source"] == "store"
    assert data["airflow"]["url"] == closed_url and "unreachable" in data["airflow"]["error"]
    assert data["summary"]["text"] == "8/10 succeeded (80%)"
    assert (data["summary"]["failed"], data["summary"]["skipped"], data["summary"]["silent"]) == (2, 1, 1)
    assert [s["key"] for s in data["stages"]] == ["sync", "units", "films", "showtimes"]
    units = {n["label"]: n for n in data["stages"][1]["nodes"]}
    assert (units["cinema_dates[1]"]["state"], units["cinema_dates[1]"]["try_number"]) == ("success", 2)
    assert (units["cinema_dates[2]"]["state"], units["cinema_dates[2]"]["try_number"]) == ("failed", 3)
    assert data["items"] == {"created": 4, "failed": 2}
    assert [(i["kind"], i["root"]) for i in data["incidents"]] == [
        ("failure", "cinema_dates[2]"),
        ("failure", "movie_details[1]"),
        ("silent", "cinema_dates[3]"),
    ]


def test_chain_and_reconcile_errors(store: Seeded, closed_url: str) -> None:
    unknown = run_cli("chain", "cinema_city", "nope", "--airflow-url", closed_url, "--dsn", store.dsn)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith(
        "scraper-monitor: no run 'nope' of 'cinema_city' in the store nor in Airflow"
    )
    bad_dag = run_cli("chain", "cinema city", CC_RUN, "--dsn", store.dsn)
    assert bad_dag.returncode == 2 and "dag_id must be 1-250 letters" in bad_dag.stderr

    # reconcile cannot compare without Airflow: an error (2), never "0 differences" (0).
    down = run_cli(
        "reconcile", "cinema_city", CC_RUN, "--airflow-url", closed_url, "--dsn", store.dsn, "--json"
    )
    assert down.returncode == 2 and down.stdout == ""
    assert down.stderr == f"scraper-monitor: cannot reach Airflow at {closed_url} (ConnectionError)\n"


def test_where_the_cli_finds_airflow(tmp_path: Path) -> None:
    assert airflow_url("http://x:1", {"AIRFLOW_API_URL": "http://y:2"}) == "http://x:1"
    assert (
        airflow_url(None, {"AIRFLOW_API_URL": "http://y:2", "AIRFLOW__API__BASE_URL": "http://z"})
        == "http://y:2"
    )
    assert airflow_url(None, {"AIRFLOW__API__BASE_URL": "http://z:3"}) == "http://z:3"
    assert airflow_url(None, {"SCRAPER_MONITOR_HOME": str(tmp_path)}) == "http://127.0.0.1:8080"

    env = {"SCRAPER_MONITOR_HOME": str(tmp_path)}
    assert airflow_credentials(env) is None  # no stack here: try without a login
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "demo-login.json").write_text('{"username": "admin", "password": "s3cret"}')
    assert airflow_credentials(env) == ("admin", "s3cret")
    stack_dir = tmp_path / "private-stack"
    stack_dir.mkdir()
    (stack_dir / "demo-login.json").write_text('{"username": "other", "password": "pw"}')
    assert airflow_credentials(env | {"SCRAPER_STACK_DIR": str(stack_dir)}) == ("other", "pw")
    assert airflow_credentials(env | {"AIRFLOW_USERNAME": "me", "AIRFLOW_PASSWORD": "x"}) == ("me", "x")
    (stack_dir / "demo-login.json").write_text("{not json")
    assert airflow_credentials(env | {"SCRAPER_STACK_DIR": str(stack_dir)}) is None


def test_rest_payloads_become_chain_inputs() -> None:
    tasks = [
        {"task_id": "sync", "downstream_task_ids": ["cinema_day.cinema_dates"]},
        {"task_id": "cinema_day.cinema_dates", "downstream_task_ids": ["plan_films", "cinema_day.showtimes"]},
        {"task_id": "plan_films", "downstream_task_ids": ["cinema_day.showtimes"]},
        {"task_id": "cinema_day.showtimes", "downstream_task_ids": []},
    ]
    structure = dag_structure("cinema_city", tasks)
    assert {t.task_id: t.upstream for t in structure.tasks} == {
        "sync": (),
        "cinema_day.cinema_dates": ("sync",),
        "plan_films": ("cinema_day.cinema_dates",),
        "cinema_day.showtimes": ("cinema_day.cinema_dates", "plan_films"),
    }
    record = task_instance_record(
        {
            "task_id": "cinema_day.showtimes",
            "map_index": 3,
            "rendered_map_index": "Kraków - Bonarka 2025-11-27",
            "state": "upstream_failed",
            "try_number": 0,
            "start_date": None,
            "end_date": None,
            "duration": None,
        }
    )
    assert (record.state, record.try_number, record.start_date) == ("upstream_failed", 0, None)
    assert record.name == "Kraków - Bonarka 2025-11-27"  # what groups a cinema's failed days
    ran = task_instance_record(
        {
            "task_id": "sync",
            "map_index": -1,
            "state": "success",
            "try_number": 1,
            "start_date": "2025-11-24T06:00:01.123456Z",
            "end_date": "2025-11-24T06:00:02.5Z",
            "duration": 1.38,
        }
    )
    assert ran.start_date is not None and ran.start_date.utcoffset() is not None
    assert ran.end_date is not None and (ran.end_date - ran.start_date).total_seconds() == pytest.approx(
        1.376544
    )


def test_the_cli_never_imports_airflow() -> None:
    probe = (
        "import sys; from scraper_monitor.cli import build_parser; build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # chain and reconcile talk to Airflow over REST only
