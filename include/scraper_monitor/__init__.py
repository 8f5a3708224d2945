"""Scraper monitor: categorized execution summaries, silent failures, chains, SLOs, alerts.

Everything here is plain Python except ``scraper_monitor.airflow``, the one door to Airflow (callbacks
and cluster policy, connections, the monitor DAGs' task bodies, notifications, the web app's Airflow
side, task-instance sources). Reads live in ``scraper_monitor.reports`` (one module per question, rendered
by the web app, the CLI, the alerts and the metrics); writes and upkeep in ``scraper_monitor.store``.
Layout: docs/architecture.md.
"""
