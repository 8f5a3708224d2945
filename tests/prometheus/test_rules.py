"""Prometheus rules and Alertmanager routing, checked with the real tools, and tied to the metrics:
every series a rule reads must exist (pre-initialised) in the exposition of a real store, with the
label values the rule matches on. The tools come from the Debian packages prometheus and
prometheus-alertmanager (scripts/install-debian-packages.sh); a missing tool fails, never skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scraper_monitor import metrics, slo
from tests.airflow_env import ROOT
from tests.factories import NOW, add_execution
from tests.fixtures.alert_store import db_fixture, migrated_store_fixture, store_fixture  # noqa: F401

RULES = ROOT / "include" / "prometheus" / "rules.yml"
RULE_TESTS = sorted((ROOT / "include" / "prometheus" / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "include" / "alertmanager" / "alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install-debian-packages.sh")
    return path


def run(*args: str | Path) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_check_rules() -> None:
    assert "SUCCESS" in run(tool("promtool"), "check", "rules", RULES)


def test_promtool_unit_tests() -> None:
    assert RULE_TESTS, "no rule unit tests"
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", *RULE_TESTS)


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {
        rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    }
    cases: dict[str, list[bool]] = {}
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(bool(case["exp_alerts"]))
    for alert in alerts:
        assert True in cases.get(alert, []), f"{alert} never tested firing"
        assert False in cases.get(alert, []), f"{alert} never tested quiet"


def test_promtool_check_example_prometheus_config(tmp_path: Path) -> None:
    # promtool insists the token file exists: check a copy that points at a scratch one.
    config = yaml.safe_load((ROOT / "include" / "prometheus" / "prometheus.yml").read_text())
    token = tmp_path / "airflow-token"
    token.write_text("not-a-real-token\n")
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(RULES, tmp_path / "rules.yml")
    assert "SUCCESS" in run(tool("promtool"), "check", "config", tmp_path / "prometheus.yml")


def test_amtool_check_config() -> None:
    assert "SUCCESS" in run(tool("amtool"), "check-config", ALERTMANAGER)


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # `continue` on the critical route: on-call AND the team channel.
        (
            ["severity=critical", "alertname=ScraperSloBreach", "scraper=cinema_city"],
            "slack-oncall,slack-scrapers",
        ),
        (
            ["severity=critical", "alertname=ScraperZeroItems", "component=data-quality"],
            "slack-oncall,slack-scrapers",
        ),
        (["severity=warning", "alertname=ScraperSilentFailures", "component=data-quality"], "slack-scrapers"),
        (["severity=warning", "alertname=ScraperHighErrorRatio", "component=scraper"], "slack-scrapers"),
    ],
)
def test_alertmanager_routing(labels: list[str], receivers: str) -> None:
    out = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert out.strip() == receivers


def test_alertmanager_config_holds_no_secret() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    for receiver in config["receivers"]:
        for slack in receiver["slack_configs"]:
            assert "api_url" not in slack and slack["api_url_file"].startswith("/etc/alertmanager/secrets/")
    inhibit = config["inhibit_rules"][0]
    assert inhibit["equal"] == ["alertname", "scraper"]
    assert config["route"]["group_by"] == ["alertname", "scraper"]


_SELECTOR = re.compile(r"\b(scraper_monitor_\w+)(?:\{([^}]*)\})?")
_MATCHER = re.compile(r'(\w+)\s*(=~|=)\s*"([^"]*)"')


def test_every_series_the_rules_read_exists_in_the_exposition(store: str, db: psycopg.Connection) -> None:
    """The origin's rules read metrics nobody emitted, so they could never fire. Here the exposition
    of a store with one scraper's first runs holds every series (and label value) the rules match on;
    only the SLO ratio needs those runs, all the others are pre-initialised zeros."""
    for i in range(5):
        add_execution(db, scraper="kino_krakow", task_id="day.day_pages", map_index=i)
    body = metrics.render_metrics(store, slo_config=slo.load_config(), now=NOW)[0].decode()
    samples = [s for family in text_string_to_metric_families(body) for s in family.samples]
    exprs = [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    referenced = [(m.group(1), m.group(2) or "") for expr in exprs for m in _SELECTOR.finditer(expr)]
    assert len({name for name, _ in referenced}) >= 7
    for name, matchers in referenced:
        series = [s for s in samples if s.name == name]
        assert series, f"{name} is read by rules.yml but not exposed"
        for label, op, wanted in _MATCHER.findall(matchers):
            values = wanted.split("|") if op == "=~" else [wanted]
            for wanted_value in values:
                assert any(s.labels.get(label) == wanted_value for s in series), (
                    f'{name}{{{label}{op}"{wanted}"}}: no series with {label}="{wanted_value}"'
                )
