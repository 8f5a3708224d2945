"""SLOs: the config file (defaults from the origin system, validation) and status from a real store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from scraper_monitor import settings, slo
from scraper_monitor.alerts.config import parse_alert_config
from scraper_monitor.cli import main
from scraper_monitor.reports.slo import slo_statuses
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, UPSTREAM_FAILED
from tests.factories import NOW, add_execution
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401

SHIPPED = yaml.safe_load(settings.DEFAULT_SLO_CONFIG.read_text())
SEED_000 = Path(__file__).resolve().parents[2] / "docs" / "seeds" / "000_30d12a3416766b78.txt"
#: The seed's jobs per chain -> the DAG tasks that do their work.
SEED_JOBS = {
    "cinema_city": {
        "CinemaDateJob": "cinema_day.cinema_dates",
        "MovieDetailJob": "movie_details",
        "ShowtimeProcessJob": "cinema_day.showtimes",
    },
    "kino_krakow": {
        "SyncJob": "sync",
        "DayPageJob": "day.day_pages",
        "MovieDetailJob": "movie_details",
        "ShowtimeProcessJob": "day.showtimes",
    },
}


def _config(**changes: object) -> slo.SloConfig:
    raw = yaml.safe_load(settings.DEFAULT_SLO_CONFIG.read_text())
    raw.update(changes)
    return slo.parse_config(raw)


# --- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scraper", "task_id", "expected"),
    [
        ("cinema_city", "sync", (0.95, 2000, 0.85)),
        ("cinema_city", "cinema_day.cinema_dates", (0.95, 3000, 0.90)),
        ("cinema_city", "movie_details", (0.85, 2000, 0.75)),
        ("cinema_city", "cinema_day.showtimes", (0.90, 1500, 0.80)),
        ("kino_krakow", "sync", (0.95, 2000, 0.85)),
        ("kino_krakow", "day.day_pages", (0.90, 3000, 0.80)),
        ("kino_krakow", "movie_details", (0.80, 2000, 0.75)),  # the seed: titles are harder there
        ("kino_krakow", "day.showtimes", (0.90, 1500, 0.80)),
        ("cinema_city", "plan_films", (0.90, 3000, 0.80)),  # not listed: the scraper's own SLO
        ("cinema_city", None, (0.90, 3000, 0.80)),
        ("kino_krakow", None, (0.85, 3000, 0.75)),  # no scraper-wide SLO declared: the defaults
        ("some_other_dag", "extract", (0.85, 3000, 0.75)),
    ],
)
def test_shipped_config_has_the_seed_and_origin_targets(
    scraper: str, task_id: str | None, expected: tuple
) -> None:
    target = slo.load_config().target_for(scraper, task_id)
    assert (target.target_success_rate, target.target_duration_ms, target.alert_threshold) == expected


def _seed_section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_shipped_targets_are_the_seeds() -> None:
    """Seed 000's SLO example for cinema_city and its per-job success targets, read from the seed's
    own text: a drift on either side fails here."""
    text = SEED_000.read_text(encoding="utf-8")
    config = slo.load_config()
    block = re.search(r'"cinema_city" => %\{(.*?)\}', text, re.DOTALL)
    assert block, "seed 000 has no cinema_city SLO block"
    seed = {key: float(value) for key, value in re.findall(r"(\w+):\s*([\d.]+)", block[1])}
    assert seed == {"target_success_rate": 0.90, "target_avg_duration_ms": 3000, "alert_threshold": 0.80}
    assert config.target_for("cinema_city") == slo.SloTarget(
        target_success_rate=seed["target_success_rate"],
        target_duration_ms=int(seed["target_avg_duration_ms"]),
        alert_threshold=seed["alert_threshold"],
    )
    headings = {
        "cinema_city": "### Cinema City Job Chain Analysis",
        "kino_krakow": "### Kino Krakow Job Chain Analysis",
    }
    for scraper, heading in headings.items():
        metrics = _seed_section(text, heading).split("**Success Metrics**", 1)[1]
        targets = {
            job: int(pct) / 100 for job, pct in re.findall(r"- \*\*(\w+)\*\*: (\d+)%\+ success", metrics)
        }
        assert set(targets) == set(SEED_JOBS[scraper]), scraper  # every job of the seed is mapped
        for job, rate in targets.items():
            task_id = SEED_JOBS[scraper][job]
            assert task_id in config.scrapers[scraper].tasks, (scraper, task_id)
            assert config.target_for(scraper, task_id).target_success_rate == rate, (scraper, job)


def test_shipped_config_window_minimum_and_alert_tuning() -> None:
    config = slo.load_config()
    assert config.window == timedelta(hours=168)
    assert config.min_runs == 5
    alerts = parse_alert_config(config.alerts)
    assert alerts.repeat_interval == timedelta(hours=4)
    assert (alerts.failed_runs.k, alerts.failed_runs.n) == (2, 3)
    assert (alerts.failed_units.k, alerts.failed_units.lookback) == (3, timedelta(days=7))
    assert alerts.error_spike.min_errors == 5


def test_shipped_matching_target_and_its_verdicts() -> None:
    target = slo.load_config().matching
    assert target == slo.MatchingSlo(0.80, timedelta(hours=24), 10, 0.80)
    without = {k: v for k, v in SHIPPED.items() if k != "matching"}
    assert slo.parse_config(without).matching == slo.DEFAULT_MATCHING  # no section: the same defaults
    assert slo.classify_matched(0.80, 10, target) == slo.MET
    assert slo.classify_matched(0.79, 100, target) == slo.BELOW_TARGET
    assert slo.classify_matched(0.10, 9, target) == slo.INSUFFICIENT_DATA  # too few films to judge
    assert slo.classify_matched(None, 0, target) == slo.INSUFFICIENT_DATA


def test_env_var_selects_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "slo.yaml"
    other.write_text(yaml.safe_dump({**SHIPPED, "min_runs": 2}))
    monkeypatch.setenv(settings.SLO_CONFIG_ENV, str(other))
    assert slo.load_config().min_runs == 2


def test_task_inherits_missing_fields_from_its_scraper() -> None:
    config = _config(
        scrapers={"x": {"slo": {"target_duration_ms": 9000}, "tasks": {"t": {"target_success_rate": 0.99}}}}
    )
    assert config.target_for("x") == slo.SloTarget(0.85, 9000, 0.75)
    assert config.target_for("x", "t") == slo.SloTarget(0.99, 9000, 0.75)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"scrapers": {"cinema_city": {"tasks": {"sync": {"target_success_rate": "high"}}}}},
            "scrapers.cinema_city.tasks.sync.target_success_rate: expected a number, got str 'high'",
        ),
        (
            {"scrapers": {"cinema_city": {"tasks": {"sync": {"target_success_rate": 95}}}}},
            "scrapers.cinema_city.tasks.sync.target_success_rate: 95 is out of range; expected between 0 and",
        ),
        (
            {"scrapers": {"kino_krakow": {"tasks": {"sync": {"alert_threshold": 0.99}}}}},
            "scrapers.kino_krakow.tasks.sync.alert_threshold: 0.99 is above target_success_rate",
        ),
        (
            {"scrapers": {"kino_krakow": {"tasks": {"sync": {"target_sucess_rate": 0.9}}}}},
            "scrapers.kino_krakow.tasks.sync.target_sucess_rate: unknown field",
        ),
        (
            {"defaults": {"target_success_rate": 0.9, "alert_threshold": 0.8}},
            "defaults.target_duration_ms: missing",
        ),
        ({"min_runs": 2.5}, "min_runs: expected an integer, got float 2.5"),
        ({"window_hours": True}, "window_hours: expected a number, got bool True"),
        ({"scrapers": ["cinema_city"]}, "scrapers: expected a mapping, got list"),
        ({"windowhours": 5}, "windowhours: unknown field"),
        ({"matching": {"target_matched_rate": 80}}, "matching.target_matched_rate: 80 is out of range"),
        ({"matching": {"min_films": 0}}, "matching.min_films: 0 is out of range; expected >= 1"),
        ({"matching": {"low_confidence_below": 0.6}}, "matching.low_confidence_below: 0.6 lists no match"),
        ({"matching": {"target": 0.8}}, "matching.target: unknown field"),
    ],
)
def test_invalid_config_names_the_field(changes: dict, message: str) -> None:
    with pytest.raises(slo.SloConfigError) as error:
        _config(**changes)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"failed_runs": {"k": 4, "n": 3}}, "alerts.failed_runs.k: 4 is larger than n (3)"),
        ({"error_spike": {"factor": 0}}, "alerts.error_spike.factor: expected a number > 0, got 0"),
        ({"repeat_interval_minutes": "4h"}, "alerts.repeat_interval_minutes: expected a whole number >= 1"),
        ({"silent_failures": {"window": 24}}, "alerts.silent_failures.window: unknown field"),
        ({"failed_units": {"k": 0}}, "alerts.failed_units.k: expected a whole number >= 1, got 0"),
    ],
)
def test_invalid_alert_tuning_names_the_field(alerts: dict, message: str) -> None:
    with pytest.raises(slo.SloConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_alert_config(alerts)


def test_unreadable_or_broken_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(slo.SloConfigError, match="missing.yaml: cannot read"):
        slo.load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("defaults: [unclosed")
    with pytest.raises(slo.SloConfigError, match="broken.yaml: not valid YAML"):
        slo.load_config(broken)


# --- classification ----------------------------------------------------------------------------

TARGET = slo.SloTarget(target_success_rate=0.9, target_duration_ms=2000, alert_threshold=0.8)


@pytest.mark.parametrize(
    ("rate", "avg_ms", "runs", "expected"),
    [
        (0.95, 1500.0, 10, slo.MET),
        (0.90, 2000.0, 10, slo.MET),  # exactly on target
        (0.85, 1500.0, 10, slo.BELOW_TARGET),
        (0.95, 2500.0, 10, slo.BELOW_TARGET),  # reliable but too slow
        (0.80, 1500.0, 10, slo.BELOW_TARGET),  # exactly on the threshold is not critical
        (0.79, 1500.0, 10, slo.CRITICAL),
        (0.0, None, 10, slo.CRITICAL),
        (0.0, None, 4, slo.INSUFFICIENT_DATA),  # under the minimum volume: no verdict
        (None, None, 0, slo.INSUFFICIENT_DATA),
    ],
)
def test_classify(rate: float | None, avg_ms: float | None, runs: int, expected: str) -> None:
    assert slo.classify(rate, avg_ms, runs, TARGET, min_runs=5) == expected


# --- status from the store ---------------------------------------------------------------------


def _statuses(db: psycopg.Connection, **kwargs: object) -> dict[tuple[str, str | None], slo.SloStatus]:
    return {(s.scraper, s.task_id): s for s in slo_statuses(db, slo.load_config(), now=NOW, **kwargs)}


def test_status_counts_final_tries_only(db: psycopg.Connection) -> None:
    # 10 movie_details instances: 7 succeed at once, 1 succeeds on its second try, 2 fail for good.
    for i in range(7):
        add_execution(db, task_id="movie_details", map_index=i, duration_ms=1000)
    add_execution(
        db, task_id="movie_details", map_index=7, try_number=1, state=RETRYING, error_category="network_error"
    )
    add_execution(db, task_id="movie_details", map_index=7, try_number=2, duration_ms=3000)
    for i in (8, 9):
        add_execution(db, task_id="movie_details", map_index=i, state=FAILED, error_category="network_error")
    # Neither counts: a task that skipped itself, and one that never ran.
    add_execution(db, task_id="movie_details", map_index=10, state=SKIPPED)
    add_execution(db, task_id="movie_details", map_index=11, state=UPSTREAM_FAILED, duration_ms=None)

    status = _statuses(db)[("cinema_city", "movie_details")]
    assert (status.runs, status.succeeded, status.failed, status.silent) == (10, 8, 2, 0)
    assert status.success_rate == pytest.approx(0.8)
    assert status.avg_duration_ms == pytest.approx(1250.0)  # successes only: 7 x 1000 + 3000
    assert status.status == slo.BELOW_TARGET  # 80 %: under the 85 % target, over the 75 % threshold


def test_silent_success_counts_as_a_miss_and_window_is_respected(db: psycopg.Connection) -> None:
    for i in range(6):
        add_execution(db, task_id="sync", run_id=f"r{i}", duration_ms=500)
    add_execution(db, task_id="sync", run_id="r-silent", silent=True, silent_reason="cinemas == 0")
    add_execution(db, task_id="sync", run_id="r-old", state=FAILED, ago=timedelta(days=8))  # outside

    status = _statuses(db)[("cinema_city", "sync")]
    assert (status.runs, status.succeeded, status.silent, status.failed) == (7, 6, 1, 0)
    assert status.success_rate == pytest.approx(6 / 7)
    assert status.status == slo.BELOW_TARGET  # 85.7 % < 95 % target, >= 85 % threshold


def test_critical_scraper_total_and_insufficient_data(db: psycopg.Connection) -> None:
    for i in range(5):
        add_execution(db, task_id="cinema_day.cinema_dates", map_index=i, state=FAILED)
    add_execution(db, task_id="cinema_day.cinema_dates", map_index=5)
    add_execution(db, task_id="sync")  # one run only

    statuses = _statuses(db)
    assert statuses[("cinema_city", "cinema_day.cinema_dates")].status == slo.CRITICAL
    assert statuses[("cinema_city", "sync")].status == slo.INSUFFICIENT_DATA
    total = statuses[("cinema_city", None)]
    assert (total.runs, total.failed, total.status) == (7, 5, slo.CRITICAL)
    # Configured SLOs without any data are listed too, so the CLI shows the whole picture.
    assert statuses[("kino_krakow", "day.day_pages")].status == slo.INSUFFICIENT_DATA
    assert statuses[("kino_krakow", "day.day_pages")].runs == 0


def test_status_for_one_scraper(db: psycopg.Connection) -> None:
    add_execution(db, scraper="kino_krakow", task_id="day.day_pages")
    add_execution(db, scraper="cinema_city", task_id="sync")
    assert {s for s, _ in _statuses(db, scraper="kino_krakow")} == {"kino_krakow"}


def test_only_declared_scrapers_have_slos_unless_every_dag_is_measured(db: psycopg.Connection) -> None:
    """A deployment's other DAGs are not scrapers: a branching example DAG at 100% success is not "below
    target" because its p95 is 19 s against a scraper's 3 s default."""
    for i in range(6):
        add_execution(
            db, scraper="example_branch_operator", task_id="branching", run_id=f"r{i}", duration_ms=19_000
        )
        add_execution(db, scraper="cinema_city", task_id="sync", run_id=f"r{i}", duration_ms=500)

    shipped = {s.scraper for s in slo_statuses(db, slo.load_config(), now=NOW)}
    assert "example_branch_operator" not in shipped and "cinema_city" in shipped
    everything = {
        (s.scraper, s.task_id): s for s in slo_statuses(db, _config(measure_undeclared=True), now=NOW)
    }
    assert everything[("example_branch_operator", None)].status == slo.BELOW_TARGET  # against `defaults`
    with pytest.raises(slo.SloConfigError, match="measure_undeclared: must be true or false"):
        _config(measure_undeclared="yes")


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_json_and_table(store: str, db: psycopg.Connection, capsys: pytest.CaptureFixture[str]) -> None:
    just_now = datetime.now(UTC) - timedelta(minutes=5)  # the CLI reads the real clock
    for i in range(5):
        add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=i, started_at=just_now)

    assert main(["slo", "--dsn", store, "--scraper", "kino_krakow", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    pages = next(r for r in rows if r["task_id"] == "day.day_pages")
    assert pages["status"] == "met"
    assert pages["success_rate"] == 1.0
    assert pages["target"] == {"target_success_rate": 0.9, "target_duration_ms": 3000, "alert_threshold": 0.8}

    assert main(["slo", "--dsn", store]) == 0
    out = capsys.readouterr().out
    assert re.search(r"kino_krakow +day.day_pages +met +100.0% +90.0% +80.0% +5 ", out)
    assert "insufficient_data" in out  # cinema_city has no runs


def test_cli_reports_a_bad_config_and_a_dead_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "slo.yaml"
    bad.write_text(yaml.safe_dump({**SHIPPED, "min_runs": 0}))
    assert main(["slo", "--config", str(bad), "--dsn", "postgresql://x@/x"]) == 2
    assert "min_runs: 0 is out of range" in capsys.readouterr().err

    secret = "postgresql://u:s3cret@127.0.0.1:1/x?connect_timeout=1"
    assert main(["slo", "--dsn", secret]) == 2
    err = capsys.readouterr().err
    assert "cannot read the monitor store" in err
    assert "s3cret" not in err
