"""What every report shares: bounds on user-supplied numbers, the success rate, state parameters,
the execution row's columns."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store.rows import Execution

#: The DAGs a reader may see (Airflow's per-DAG permissions, from the web app); None: all of them.
#: Per-scraper answers (trends, SLOs) show a scraper when its DAG of the same name is visible.
Visible = frozenset[str] | None

MAX_LIMIT = 1000
MAX_HOURS = 24 * 400
MAX_DAYS = 400

STATE_PARAMS: dict[str, Any] = {
    "success": SUCCESS,
    "failed": FAILED,
    "retrying": RETRYING,
    "skipped": SKIPPED,
    "upstream_failed": UPSTREAM_FAILED,
    "error_states": sorted(ERROR_STATES),
}

# Built from the dataclass, so a column added to Execution is selected everywhere.
EXECUTION_COLUMNS = sql.SQL(", ").join(sql.Identifier(f.name) for f in fields(Execution))


class FromAttributes(BaseModel):
    """A response model that can be built from a row dataclass."""

    model_config = ConfigDict(from_attributes=True)


def sees(visible: Visible, dag_id: str) -> bool:
    return visible is None or dag_id in visible


def success_rate(success: int, failed: int) -> float | None:
    """success / (success + failed); None without final tries (see the package docstring)."""
    return success / (success + failed) if success + failed else None


def check_range(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def since(hours: int, now: datetime | None) -> datetime:
    check_range("hours", hours, 1, MAX_HOURS)
    return (now or datetime.now(UTC)) - timedelta(hours=hours)


def errors_only(where: sql.Composable, params: dict[str, Any]) -> tuple[sql.Composable, dict[str, Any]]:
    """Narrow a filter's condition to failed and retrying tries."""
    return sql.SQL("{} AND state = ANY(%(error_states)s)").format(where), {
        **params,
        "error_states": STATE_PARAMS["error_states"],
    }


def dict_rows(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()
