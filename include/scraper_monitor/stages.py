"""The stage table: which stage of a chain each task belongs to, keyed by the last segment of its task id
(``cinema_day.cinema_dates`` -> ``cinema_dates``).

Plain data read by both sides: the chain DAG factory (``scraper_airflow.chain_dag``) names its tasks from
these ids and refuses a unit task the table does not know, and the chain view
(``scraper_monitor.chain``) places each task instance by it. A renamed task therefore fails when its DAG
is built, instead of falling silently into "Other tasks" (tests/dags/test_dags.py checks every chain DAG).
A DAG that is not a scraper chain still gets a chain view, with its tasks under "Other tasks".
"""

from __future__ import annotations

from dataclasses import dataclass

# Task ids of a scraper chain (the last segment; units and showtimes run inside a task group).
SYNC = "sync"
CINEMA_DATES = "cinema_dates"
DAY_PAGES = "day_pages"
PLAN_FILMS = "plan_films"
MOVIE_DETAILS = "movie_details"
COLLECT_MATCHES = "collect_matches"
SHOWTIMES = "showtimes"


@dataclass(frozen=True)
class StageRule:
    """Where a task belongs in the chain, keyed by the last segment of its task id."""

    suffix: str
    stage: str
    title: str
    noun: str
    plural: str
    # What a failure does downstream when Airflow does not cascade it (an all_done trigger rule).
    failure_effect: str | None = None


STAGE_ORDER: tuple[str, ...] = ("sync", "units", "films", "showtimes", "other")

STAGES: tuple[StageRule, ...] = (
    StageRule(SYNC, "sync", "Sync", "sync", "syncs"),
    StageRule(CINEMA_DATES, "units", "Cinema-days", "cinema-day", "cinema-days"),
    StageRule(DAY_PAGES, "units", "Day pages", "day page", "day pages"),
    StageRule(PLAN_FILMS, "films", "Films", "film plan", "film plans"),
    StageRule(
        MOVIE_DETAILS,
        "films",
        "Films",
        "film detail",
        "film details",
        failure_effect="its showtimes were skipped",
    ),
    StageRule(COLLECT_MATCHES, "films", "Films", "match collection", "match collections"),
    StageRule(SHOWTIMES, "showtimes", "Showtime batches", "showtime batch", "showtime batches"),
)
OTHER = StageRule("*", "other", "Other tasks", "task", "tasks")

#: The unit tasks a chain may fan out to (one per cinema-day, day page, ...).
UNIT_TASKS: tuple[str, ...] = tuple(rule.suffix for rule in STAGES if rule.stage == "units")


def has_stage(task_id: str) -> bool:
    """Whether the table places this task id (by its last segment) in a stage of its own."""
    return rule_for(task_id) is not OTHER


def rule_for(task_id: str) -> StageRule:
    """The stage rule of a task id (by its last segment); ``OTHER`` when the table does not know it."""
    suffix = task_id.rsplit(".", 1)[-1]
    return next((rule for rule in STAGES if rule.suffix == suffix), OTHER)
