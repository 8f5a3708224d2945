"""docker-compose.yaml cannot run here (no Docker engine), so check what breaks deployments:
``docker-compose config`` (Debian's docker-compose, installed by scripts/install-debian-packages.sh)
must accept the file, and every Airflow service must share the image built from requirements.txt, the
JWT secret, the config, the connections and the spool volume."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {name: s for name, s in SERVICES.items() if name.startswith("airflow-")}
REQUIRED_CONNECTIONS = {
    "AIRFLOW_CONN_CINEMA_CITY_API",
    "AIRFLOW_CONN_KINO_KRAKOW_SITE",
    "AIRFLOW_CONN_TMDB_API",
    "AIRFLOW_CONN_SCRAPER_MONITOR_DB",
    "AIRFLOW_CONN_SCRAPED_EVENTS_DB",
    "AIRFLOW_CONN_SLACK_SCRAPER_ALERTS",
    "AIRFLOW_CONN_AIRFLOW_API",
}
SECRETS = {
    "AIRFLOW_JWT_SECRET": "jwt",
    "AIRFLOW_API_SECRET_KEY": "key",
    "_AIRFLOW_WWW_USER_PASSWORD": "pw",
}


def _mount(volume: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume, with the project-dir variable resolved."""
    source, target = volume.replace("${AIRFLOW_PROJ_DIR:-.}", ".").split(":")[:2]
    return source, target


def test_official_layout_services_are_present() -> None:
    expected = {
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "airflow-init",
    }
    assert expected <= set(SERVICES)
    assert SERVICES["sitesim"]["profiles"] == ["sim"]


def test_every_airflow_service_uses_the_same_image_and_environment() -> None:
    images = {s["image"] for s in AIRFLOW_SERVICES.values()}
    assert len(images) == 1
    reference = AIRFLOW_SERVICES["airflow-scheduler"]["environment"]
    for name, service in AIRFLOW_SERVICES.items():
        env = service["environment"]
        for key, value in reference.items():
            assert env.get(key) == value, f"{name}: {key} differs"


def test_components_agree_on_secrets_executor_and_execution_api() -> None:
    for name, service in AIRFLOW_SERVICES.items():
        env = service["environment"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET"), name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert REQUIRED_CONNECTIONS <= set(env), f"{name} lacks connections"


def test_every_airflow_service_mounts_the_project_and_the_cluster_policy() -> None:
    for name, service in AIRFLOW_SERVICES.items():
        targets = {_mount(v)[1] for v in service["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= targets, name
        assert "/opt/airflow/config/airflow_local_settings.py" in targets, name


def test_no_secret_is_written_into_the_file() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "hooks.slack.com" not in text
    for service in AIRFLOW_SERVICES.values():
        env = service["environment"]
        assert "${TMDB_API_KEY" in env["AIRFLOW_CONN_TMDB_API"]
        assert "${SLACK_WEBHOOK_URL" in env["AIRFLOW_CONN_SLACK_SCRAPER_ALERTS"]


def test_mounted_project_files_exist() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = _mount(volume)[0]
            # ./logs is created by Airflow at run time; the Slack URL file is the user's secret.
            if source.startswith("./") and source != "./logs" and "SLACK" not in source:
                assert (ROOT / source).exists(), source


def _compose_config(tmp_path: Path, secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    environ = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", "docker-compose.yaml", "config"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_compose_accepts_the_file_and_names_a_missing_secret(tmp_path: Path) -> None:
    done = _compose_config(tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    worker_env = resolved["services"]["airflow-worker"]["environment"]
    assert worker_env["AIRFLOW__API_AUTH__JWT_SECRET"] == "jwt"
    assert '"password":"pw"' in worker_env["AIRFLOW_CONN_AIRFLOW_API"]

    missing = _compose_config(tmp_path, {k: v for k, v in SECRETS.items() if k != "AIRFLOW_JWT_SECRET"})
    assert missing.returncode != 0 and "set AIRFLOW_JWT_SECRET in .env" in missing.stderr


def test_the_image_is_the_official_one_with_the_projects_pins() -> None:
    pins = dict(
        line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^FROM apache/airflow:(\S+)-python", dockerfile, re.MULTILINE)
    assert base == pins["apache-airflow"]
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile
    assert "apache-airflow-providers-celery" in pins
    for name, service in AIRFLOW_SERVICES.items():
        assert service["build"]["dockerfile"] == "Dockerfile", name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in service["environment"], name  # unpinned installs


def test_every_airflow_service_shares_the_spool_volume() -> None:
    assert "scraper-monitor-spool" in COMPOSE["volumes"]
    for name, service in AIRFLOW_SERVICES.items():
        spool_folder = str(Path(service["environment"]["SCRAPER_MONITOR_SPOOL"]).parent)
        assert ("scraper-monitor-spool", spool_folder) in {_mount(v) for v in service["volumes"]}, name


def _container_path(service: dict, path: str) -> tuple[str, str] | None:
    """(source, target) of the mount of ``service`` that holds ``path`` inside the container."""
    mounts = [tuple(v.split(":")[:2]) for v in service.get("volumes", [])]
    holding = [(s, t) for s, t in mounts if path == t or path.startswith(t.rstrip("/") + "/")]
    return max(holding, key=lambda m: len(m[1]), default=None)


def _host_path(service: dict, path: str) -> Path | None:
    """Where ``path`` inside the container is on the host (None: not mounted, or a named volume)."""
    mount = _container_path(service, path)
    if mount is None or not mount[0].startswith("/"):
        return None
    return Path(mount[0]) / Path(path).relative_to(mount[1]) if path != mount[1] else Path(mount[0])


def _service_port(service: dict) -> int:
    """The container port a service listens on, from its published ports."""
    [port] = {
        int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1]) for p in service["ports"]
    }
    return port


def test_monitoring_profile_mounts_and_targets_line_up(tmp_path: Path) -> None:
    """Prometheus in the `monitoring` profile scrapes the api-server and alerts Alertmanager by service
    name, reads the rule file and the token where they are mounted, and the token is written where
    Prometheus reads it; Alertmanager reads each webhook URL from a mounted secret file."""
    done = _compose_config(tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    prometheus, alertmanager = services["prometheus"], services["alertmanager"]
    token_writer = services["prometheus-token"]
    assert {s.get("profiles", [None])[0] for s in (prometheus, alertmanager, token_writer)} == {"monitoring"}

    [config_flag] = [c for c in prometheus["command"] if c.startswith("--config.file=")]
    config_path = config_flag.split("=", 1)[1]
    config_file = _host_path(prometheus, config_path)
    assert config_file == ROOT / "include" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_file.read_text())
    for rule_file in config["rule_files"]:
        mounted = _host_path(prometheus, str(Path(config_path).parent / rule_file))
        assert mounted is not None and mounted.is_file(), rule_file

    [job] = config["scrape_configs"]
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host == "airflow-apiserver" and int(port) == _service_port(services[host])
    assert job["metrics_path"] == "/scraper-monitor/metrics"
    [alert_target] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    host, port = alert_target.split(":")
    assert host == "alertmanager" and int(port) == _service_port(alertmanager)

    # The token: a named volume the writer fills and Prometheus mounts where credentials_file points.
    credentials = Path(job["authorization"]["credentials_file"])
    volume, _ = _container_path(prometheus, str(credentials))
    written = Path(token_writer["command"][0])
    assert _container_path(token_writer, str(written)) == (volume, str(written.parent))
    assert written.name == credentials.name and volume in COMPOSE["volumes"]
    assert token_writer["entrypoint"][-1] == "/opt/airflow/include/prometheus/airflow-token.sh"
    assert _host_path(token_writer, token_writer["entrypoint"][-1]) == (
        ROOT / "include" / "prometheus" / "airflow-token.sh"
    )
    assert (
        token_writer["environment"]["AIRFLOW_URL"]
        == f"http://airflow-apiserver:{_service_port(services['airflow-apiserver'])}"
    )

    [am_flag] = [c for c in alertmanager["command"] if c.startswith("--config.file=")]
    am_file = _host_path(alertmanager, am_flag.split("=", 1)[1])
    assert am_file == ROOT / "include" / "alertmanager" / "alertmanager.yml"
    webhook_files = {
        slack["api_url_file"]
        for receiver in yaml.safe_load(am_file.read_text())["receivers"]
        for slack in receiver["slack_configs"]
    }
    for path in webhook_files:
        mount = _container_path(alertmanager, path)
        assert mount is not None and mount[1] == path, f"{path} is not a mounted file"
        assert ".secrets/" in mount[0]  # the user's git-ignored secret, never a file of the repository
