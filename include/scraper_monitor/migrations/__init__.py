"""Alembic migrations of the monitor store (run them with ``scraper_monitor.store.migrate.upgrade``)."""
