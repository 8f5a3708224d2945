"""The CSV/JSON export of executions, shared by `scraper-monitor export` and the panels' CSV link,
so both give the same columns and the same protection against CSV injection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scraper_monitor.store.rows import Execution

COLUMNS: tuple[str, ...] = (
    "id",
    "started_at",
    "ended_at",
    "duration_ms",
    "scraper",
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "state",
    "error_category",
    "error_type",
    "error_message",
    "fingerprint",
    "silent",
    "silent_reason",
    "skip_reason",
    "hostname",
    "recovered",
    "city",
    "counts",
    "logical_date",
    "recorded_at",
)
# Spreadsheets run a cell starting with one of these as a formula (CSV injection); tab and carriage
# return are on OWASP's list for the same reason.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: UTC ISO timestamps, counts as k=v;k=v, formula-like text quoted.

    Only text is quoted: numbers (a map index of -1) are data a spreadsheet should keep as numbers.
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        value = ";".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(execution: Execution) -> list[Any]:
    return [csv_cell(getattr(execution, column)) for column in COLUMNS]
