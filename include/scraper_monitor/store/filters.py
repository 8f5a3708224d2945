"""Validated filters for execution queries (CLI flags, panel query strings, alert rules).

Values are checked against the vocabularies when the filter is built, so a typo such as
``--state failure`` is a clear error instead of a query that silently matches nothing (the origin's
CLI warned and ignored unknown states; its dashboards compared against names no row ever had).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from scraper_monitor.category import CATEGORIES
from scraper_monitor.city import parse_city
from scraper_monitor.state import STATES

#: Airflow's own rule for DAG and task ids (airflow.sdk.definitions._internal.node.KEY_REGEX, 250
#: characters): any word character of any script ("turn2_łódź"), dots and dashes. Scraper names and
#: error types follow it too. Python's ``\w``, as Airflow checks it.
ID_PATTERN = r"[\w.-]{1,250}"
_NAME = re.compile(ID_PATTERN)

# Field -> SQL condition. Fixed text only: values always travel as parameters.
_CONDITIONS: dict[str, str] = {
    "scraper": "scraper = %(scraper)s",
    "city": "city = %(city)s",
    "dag_id": "dag_id = %(dag_id)s",
    "task_id": "task_id = %(task_id)s",
    "state": "state = %(state)s",
    "category": "error_category = %(category)s",
    "error_type": "error_type = %(error_type)s",
    "since": "started_at >= %(since)s",
    "until": "started_at < %(until)s",
    "silent": "silent = %(silent)s",
    "visible_dags": "dag_id = ANY(%(visible_dags)s)",
}


def _utc(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r}")
    # Naive values are read as UTC, like the store's session time zone does.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class ExecutionFilter:
    """All set fields must match (AND). ``since`` is inclusive, ``until`` exclusive, on started_at."""

    scraper: str | None = None
    #: A city as typed ("Kraków", "krakow"): kept as its key (``scraper_monitor.city``).
    city: str | None = None
    dag_id: str | None = None
    task_id: str | None = None
    state: str | None = None
    category: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    silent: bool | None = None
    #: The DAGs the reader may see (Airflow's per-DAG permissions); None: every DAG.
    visible_dags: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for name in ("scraper", "dag_id", "task_id", "error_type"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _NAME.fullmatch(value)):
                raise ValueError(f"{name} must be 1-250 letters, digits, '_', '.' or '-'; got {value!r}")
        if self.city is not None:
            object.__setattr__(self, "city", parse_city(self.city))
        if self.state is not None and self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}; expected one of {', '.join(STATES)}")
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}; expected one of {', '.join(CATEGORIES)}")
        for name in ("since", "until"):
            if (value := getattr(self, name)) is not None:
                object.__setattr__(self, name, _utc(name, value))
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError(
                f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})"
            )
        if self.silent is not None and not isinstance(self.silent, bool):
            raise ValueError(f"silent must be true or false, got {self.silent!r}")

    def where(self) -> tuple[sql.Composable, dict[str, Any]]:
        """The WHERE conditions (``TRUE`` when nothing is set) and their parameters."""
        params = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if "visible_dags" in params:
            params["visible_dags"] = sorted(params["visible_dags"])
        conditions = [sql.SQL(_CONDITIONS[name]) for name in params] or [sql.SQL("TRUE")]
        return sql.SQL(" AND ").join(conditions), params
