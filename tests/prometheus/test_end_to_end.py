"""Prometheus -> Alertmanager -> Slack, end to end, with the real binaries (Debian's prometheus and
prometheus-alertmanager) and the project's own files: Prometheus scrapes the shared stack's
api-server (/scraper-monitor/metrics) with the token include/prometheus/airflow-token.sh writes, and
evaluates include/prometheus/rules.yml; Alertmanager routes by include/alertmanager/alertmanager.yml
and posts to a local Slack receiver, reading its webhook URLs from secret files.

The test copies differ from the shipped files only in what a test cannot wait for (1 s intervals, a
2 s ``for:``) and in where things are (ports, file paths). The rule that fires is the one a broken
scrape fires: ``ScraperMonitorMetricsAbsent``. Prometheus starts with a token Airflow refuses, so
the alert goes pending, then firing, reaches both Slack channels (critical: on-call and, through
``continue``, the team); then the token script writes a real token, the scrape succeeds, and the
alert resolves in both channels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml

from local_stack.private import free_port
from local_stack.slack_receiver import SlackReceiver
from tests.airflow_env import ROOT
from tests.fixtures.stack import Stack, wait_for

pytestmark = pytest.mark.e2e

RULE = "ScraperMonitorMetricsAbsent"
#: The rules evaluate every second: poll faster than the stack tests' 2 s.
FAST_POLL_S = 0.2
TOKEN_SCRIPT = ROOT / "include" / "prometheus" / "airflow-token.sh"


def binary(*names: str) -> str:
    for name in names:
        if path := shutil.which(name):
            return path
    pytest.fail(f"{names[0]} is not installed: run scripts/install-debian-packages.sh")


def render_prometheus(folder: Path, api_port: int, alertmanager_port: int, token: Path) -> Path:
    config = yaml.safe_load((ROOT / "include" / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    [alertmanagers] = config["alerting"]["alertmanagers"]
    alertmanagers["static_configs"][0]["targets"] = [f"127.0.0.1:{alertmanager_port}"]
    [job] = config["scrape_configs"]
    job["scrape_timeout"] = "1s"
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{api_port}"]
    job["authorization"]["credentials_file"] = str(token)
    rules = yaml.safe_load((ROOT / "include" / "prometheus" / "rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if rule.get("alert") == RULE:
                rule["for"] = "2s"
    (folder / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    return folder / "prometheus.yml"


def render_alertmanager(folder: Path, webhooks: dict[str, str]) -> Path:
    """The shipped routing with test timings; each receiver's webhook file holds a URL of the local
    receiver with the receiver's name in its path, so the test sees which channel got what."""
    config = yaml.safe_load((ROOT / "include" / "alertmanager" / "alertmanager.yml").read_text())
    config["route"] |= {"group_wait": "0s", "group_interval": "1s"}
    for route in config["route"]["routes"]:
        route.pop("group_wait", None)
    for receiver in config["receivers"]:
        for slack in receiver["slack_configs"]:
            secret = folder / Path(slack["api_url_file"]).name
            secret.write_text(webhooks[receiver["name"]] + "\n")
            secret.chmod(0o600)
            slack["api_url_file"] = str(secret)
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return folder / "alertmanager.yml"


class Process:
    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def ready(url: str, process: Process) -> Callable[[], bool]:
    def check() -> bool:
        assert process.proc.poll() is None, f"{process.log.name} exited:\n{process.tail()}"
        try:
            return requests.get(url, timeout=1).ok
        except requests.RequestException:
            return False

    return check


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


def messages(slack: SlackReceiver, channel: str) -> list[str]:
    return [
        json.dumps(r.body, ensure_ascii=False)
        for r in slack.received
        if r.status == 200 and r.path.endswith(f"/{channel}")
    ]


def fetch_token(stack: Stack, token: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "AIRFLOW_URL": stack.api_url,
        "AIRFLOW_USERNAME": stack.login["username"],
        "AIRFLOW_PASSWORD": stack.login["password"],
    }
    done = subprocess.run(["bash", str(TOKEN_SCRIPT), str(token)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_rule_fires_and_resolves_through_alertmanager_to_slack(
    stack: Stack, slack: SlackReceiver, tmp_path: Path
) -> None:
    token = tmp_path / "airflow-token"
    token.write_text("expired-or-wrong\n")  # what Prometheus sends until the script has run
    base = slack.url.rsplit("/", 1)[0]
    webhooks = {"slack-scrapers": f"{base}/TEAM", "slack-oncall": f"{base}/ONCALL"}
    am_port, prom_port = free_port(), free_port()
    api_port = int(stack.api_url.rsplit(":", 1)[1])

    alertmanager = Process(
        [
            binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={render_alertmanager(tmp_path, webhooks)}",
            f"--storage.path={tmp_path / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        tmp_path / "alertmanager.log",
    )
    prometheus = Process(
        [
            binary("prometheus"),
            f"--config.file={render_prometheus(tmp_path, api_port, am_port, token)}",
            f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            # Its first send can come before it has found Alertmanager (the alert is dropped then);
            # the default resend is a minute later.
            "--rules.alert.resend-delay=1s",
        ],
        tmp_path / "prometheus.log",
    )
    prom = f"http://127.0.0.1:{prom_port}"
    try:
        wait_for(
            ready(f"http://127.0.0.1:{am_port}/-/ready", alertmanager), 30, "Alertmanager", poll_s=FAST_POLL_S
        )
        wait_for(ready(f"{prom}/-/ready", prometheus), 30, "Prometheus", poll_s=FAST_POLL_S)

        def alert_state() -> str | None:
            alerts = requests.get(f"{prom}/api/v1/alerts", timeout=2).json()["data"]["alerts"]
            return next((a["state"] for a in alerts if a["labels"]["alertname"] == RULE), None)

        seen: list[str] = []

        def firing() -> bool:
            state = alert_state()
            if state and (not seen or seen[-1] != state):
                seen.append(state)
            return state == "firing"

        wait_for(firing, 30, f"{RULE} firing", poll_s=FAST_POLL_S)
        assert seen == ["pending", "firing"]

        def refused() -> str:
            targets = requests.get(f"{prom}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
            return targets[0]["lastError"] if targets and targets[0]["health"] == "down" else ""

        assert (
            wait_for(refused, 10, "a refused scrape", poll_s=FAST_POLL_S)
            == "server returned HTTP status 403 Forbidden"
        )

        for channel in ("ONCALL", "TEAM"):  # critical: on-call, and the team channel through `continue`
            [fired] = wait_for(
                lambda c=channel: messages(slack, c), 30, f"a firing message in {channel}", poll_s=FAST_POLL_S
            )
            assert RULE in fired and "No scraper monitor metrics for 15 minutes" in fired
            assert "🔴" in fired and "✅" not in fired

        fetch_token(stack, token)  # the project's token mechanism; Prometheus reads the file per scrape

        def series() -> bool:
            query = 'up{job="scraper-monitor"} == 1 and on() count(scraper_monitor_task_executions) > 0'
            answer = requests.get(f"{prom}/api/v1/query", params={"query": query}, timeout=2).json()
            return bool(answer["data"]["result"])

        wait_for(series, 30, "a successful scrape of /scraper-monitor/metrics", poll_s=FAST_POLL_S)
        wait_for(lambda: alert_state() is None, 30, f"{RULE} resolved in Prometheus", poll_s=FAST_POLL_S)
        for channel in ("ONCALL", "TEAM"):
            resolved = wait_for(
                lambda c=channel: [m for m in messages(slack, c) if "✅" in m],
                30,
                f"a resolved message in {channel}",
                poll_s=FAST_POLL_S,
            )
            assert RULE in resolved[0]
    except AssertionError as exc:
        logs = f"--- prometheus:\n{prometheus.tail()}\n--- alertmanager:\n{alertmanager.tail()}"
        raise AssertionError(f"{exc}\n{logs}") from None
    finally:
        prometheus.stop()
        alertmanager.stop()
