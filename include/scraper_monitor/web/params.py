"""Query parameters shared by the API and the panels; a bad value is a 422 that says what is wrong.

HTML filter forms submit unselected fields as empty strings, so every optional filter reads ""
as "not set" instead of failing validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query
from pydantic import AfterValidator, BeforeValidator, StringConstraints

from scraper_monitor.category import CATEGORIES
from scraper_monitor.city import CITY_MAX_CHARS, parse_city
from scraper_monitor.reports import discovery
from scraper_monitor.reports.base import MAX_HOURS
from scraper_monitor.reports.matching import MAX_DAYS as MATCH_MAX_DAYS
from scraper_monitor.state import STATES
from scraper_monitor.store.filters import ExecutionFilter
from scraper_monitor.web.deps import Visible


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


Blank = BeforeValidator(_blank_to_none)
# For the schema and a first check. Unbounded here: pydantic's regex engine compiles a Unicode class
# repeated {1,250} into more than its 10 MB limit (the app would not start); max_length bounds it, and
# ExecutionFilter applies Airflow's rule (ID_PATTERN) exactly.
NAME_PATTERN = r"^[\w.-]+$"
NAME_MAX = 250

State = Literal[STATES]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]


def _name(description: str) -> Any:
    # The constraints sit on the str branch: on the whole parameter they would meet the None that
    # Blank makes of an empty field, and pydantic raises a TypeError there (a 500, found by fuzzing).
    Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=NAME_MAX)]
    return Annotated[Name | None, Blank, Query(description=description)]


ScraperParam = _name("scraper name (the DAG id of a scraper chain)")
DagIdParam = _name("Airflow DAG id")
TaskIdParam = _name('Airflow task id, e.g. "cinema_day.cinema_dates"')
ErrorTypeParam = _name('finer error type, e.g. "timeout", "http_5xx"')
StateParam = Annotated[State | None, Blank, Query(description="state of the try")]
CategoryParam = Annotated[Category | None, Blank, Query(description="error category")]
SinceParam = Annotated[
    datetime | None, Blank, Query(description="started at or after (ISO 8601; naive = UTC)")
]
UntilParam = Annotated[datetime | None, Blank, Query(description="started before (ISO 8601; naive = UTC)")]
SilentParam = Annotated[
    bool | None, Blank, Query(description="only silent (true) or only non-silent (false)")
]
HoursParam = Annotated[int, Query(ge=1, le=MAX_HOURS, description="window in hours, ending now")]
LimitParam = Annotated[int, Query(ge=1, le=500, description="page size")]
OffsetParam = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]

TREND_DAYS = (7, 30, 90)


def _trend_days(value: int) -> int:
    if value not in TREND_DAYS:
        raise ValueError(f"days must be one of {', '.join(map(str, TREND_DAYS))}")
    return value


def _city(
    city: Annotated[
        # The bound on the str branch: on the whole parameter it meets Blank's None (see _name).
        Annotated[str, StringConstraints(max_length=CITY_MAX_CHARS)] | None,
        Blank,
        Query(description='only runs of this city: its key ("krakow") or its name ("Kraków")'),
    ] = None,
) -> str | None:
    """The city filter as its key (``scraper_monitor.city``); what is not a city name is a 422."""
    try:
        return None if city is None else parse_city(city)
    except ValueError as exc:
        raise HTTPException(422, f"invalid parameters: {exc}") from exc


CityParam = Annotated[str | None, Depends(_city)]

DaysParam = Annotated[int, AfterValidator(_trend_days), Query(description="7, 30 or 90")]
MatchDaysParam = Annotated[
    int, Query(ge=1, le=MATCH_MAX_DAYS, description=f"UTC days, today included (1-{MATCH_MAX_DAYS})")
]
StatsDaysParam = Annotated[
    int, Query(ge=1, le=discovery.MAX_DAYS, description="statistics window in days, ending now")
]


def execution_filter(
    city: CityParam,
    scraper: ScraperParam = None,
    dag_id: DagIdParam = None,
    task_id: TaskIdParam = None,
    state: StateParam = None,
    category: CategoryParam = None,
    error_type: ErrorTypeParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    silent: SilentParam = None,
    visible: Visible = None,
) -> ExecutionFilter:
    try:
        return ExecutionFilter(
            scraper=scraper,
            city=city,
            dag_id=dag_id,
            task_id=task_id,
            state=state,
            category=category,
            error_type=error_type,
            since=since,
            until=until,
            silent=silent,
            visible_dags=visible,
        )
    except ValueError as exc:  # cross-field checks, e.g. since after until
        raise HTTPException(422, f"invalid parameters: {exc}") from exc


Filters = Annotated[ExecutionFilter, Depends(execution_filter)]
