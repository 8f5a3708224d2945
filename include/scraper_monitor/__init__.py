"""Scraper monitor: categorized execution summaries, silent failures, chains, SLOs, alerts.

Everything here is plain Python except ``scraper_monitor.airflow_glue``, the one module that talks
to Airflow (callbacks, cluster policy, notifiers).
"""
