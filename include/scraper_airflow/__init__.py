"""Airflow glue for the scrapers: connections -> client configs, and the chain DAG factory.

``include/scrapers`` stays free of Airflow; this package is what DAG files import.
"""
