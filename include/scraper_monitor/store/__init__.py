"""The monitor store: PostgreSQL tables of execution summaries and item outcomes.

Modules: ``migrate`` (schema), ``db`` (connections with short timeouts), ``writer`` + ``spool``
(never-failing writes, replay), ``rollup`` + ``retention`` (maintenance), ``queries`` (reads).
Plain SQL through psycopg 3; no Airflow import.
"""
