"""The scraper monitor's web app (panels + JSON API).

Airflow-free; the plugin serves it through ``scraper_monitor.airflow.web``.
"""

from scraper_monitor.web.app import create_app

__all__ = ["create_app"]
