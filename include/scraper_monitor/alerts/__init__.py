"""Alerts: small checks over the store, a lifecycle kept in PostgreSQL, Slack messages.

``Evaluator`` runs the checks in ``checks`` (SLO breach, silent failures, error spike, k of n runs
failed), keeps each alert's state in ``alert_state`` and posts through an injected sender; the Airflow
glue (``scraper_monitor.airflow.notifications``) supplies a sender that goes through the Slack provider.
No Airflow import here.
"""
