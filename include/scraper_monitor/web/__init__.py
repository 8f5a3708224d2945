"""The scraper monitor's web app (panels + JSON API); Airflow-free, wired up by ``airflow_web``."""

from scraper_monitor.web.app import create_app

__all__ = ["create_app"]
