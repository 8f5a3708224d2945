"""Registers the scraper monitor in the Airflow UI: its FastAPI app and two iframe views. Nothing else.

The app itself (routes, auth, data) lives in ``scraper_monitor.airflow.web``.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin


class ScraperMonitorPlugin(AirflowPlugin):
    name = "scraper_monitor"

    external_views = [
        {
            "name": "Scraper monitor",
            "href": "scraper-monitor/",
            "url_route": "scraper-monitor",
            "destination": "nav",
            "nav_top_level": True,
        },
        {
            "name": "Chain",
            "href": "scraper-monitor/chain/{DAG_ID}/{RUN_ID}",
            "url_route": "chain",
            "destination": "dag_run",
        },
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        # Built on first access, which only the api-server makes. Every task process also imports
        # the plugins folder (for macros), and the web stack would add about a second to each task.
        from scraper_monitor.airflow.web import build_app

        return [{"app": build_app(), "url_prefix": "/scraper-monitor", "name": "Scraper monitor"}]
