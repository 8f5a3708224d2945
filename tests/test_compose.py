"""docker-compose.yaml cannot run here (no Docker engine), so check what breaks deployments:
every Airflow service must share the image, the JWT secret, the config and the connections."""

from __future__ import annotations

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
