"""Build a scraper chain DAG from a declarative spec.

Both chains have the same shape (see docs/architecture.md):

    sync -> [unit group: <unit task> -> showtimes]   mapped over the units sync found
    <unit task> --all_done--> plan_films -> movie_details[film] --all_done--> collect_matches
    sync -> plan_films   (the unit list: a date counts once all its units came back)
    collect_matches -> <unit group>.showtimes

The mapped task group gives per-unit cascades: a failed cinema-day makes only its own showtime
batch ``upstream_failed``. The two ``all_done`` collectors let the rest of the run go on when some
units or films fail. A new scraper supplies four step functions and gets the DAG, the callbacks and
the monitoring for free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseXCom, Param, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowSkipException

from scraper_airflow.connections import (
    TMDB_CONN_ID,
    showtime_sink,
    site_config,
    site_timezone,
    sites_conn_id,
    tmdb_config,
)
from scraper_monitor import settings, silent, stages
from scraper_monitor.airflow.callbacks import STEP_RESULT_KEY
from scraper_monitor.airflow.notifications import deadline_alert
from scraper_monitor.recording import SCRAPER_TAG_PREFIX
from scrapers import common_steps
from scrapers.outcome import StepResult
from scrapers.timeparse import site_day

UNITS_KEY = "units"
FILMS_KEY = "films"


SiteFactory = Callable[[str, dict[str, Any]], Any]


def connection_site(conn_id: str, params: dict[str, Any]) -> Any:
    """The default site factory: the connection's one site, whatever the run's params."""
    return site_config(conn_id)


@dataclass
class ChainContext:
    """What a step needs at run time; clients are built lazily from Airflow connections."""

    site_conn_id: str
    params: dict[str, Any]
    scrape_date: date
    site_factory: SiteFactory = connection_site

    @cached_property
    def site(self) -> Any:
        return self.site_factory(self.site_conn_id, self.params)

    @cached_property
    def tmdb(self) -> Any:
        return tmdb_config(sites_conn_id(TMDB_CONN_ID, self.params))

    @cached_property
    def sink(self) -> Any:
        return showtime_sink()


Step = Callable[..., StepResult]


@dataclass(frozen=True)
class ChainSpec:
    dag_id: str
    description: str
    site_conn_id: str
    unit_group: str
    unit_task: str
    sync: Callable[[ChainContext], StepResult]
    unit: Callable[[ChainContext, dict[str, Any]], StepResult]
    movie_details: Callable[[ChainContext, dict[str, Any]], StepResult]
    showtimes: Callable[[ChainContext, dict[str, Any], dict[str, Any]], StepResult]
    unit_label: Callable[[dict[str, Any]], str]
    film_label: Callable[[dict[str, Any]], str]
    params: dict[str, Param] = field(default_factory=dict)
    #: Silent-failure rules per short task name (``sync``, the unit task, ``showtimes``, ...).
    expect: dict[str, Sequence[silent.Rule]] = field(default_factory=dict)
    schedule: str = "@daily"
    tags: tuple[str, ...] = ()
    #: Builds the site client config from the connection id and the run's params (default: a plain
    #: SiteConfig of the connection; Kino Krakow picks the site of the run's city).
    site_factory: SiteFactory = connection_site
    #: The scraper this DAG reports as, when it is not its own (a backfill or per-city copy).
    scraper: str | None = None


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff; the demo shortens the delay through the environment."""
    return {
        "owner": "scrapers",
        "retries": settings.scraper_retries(),
        "retry_delay": timedelta(seconds=settings.scraper_retry_delay_s()),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=15),
    }


def _context(spec: ChainSpec) -> tuple[ChainContext, Any]:
    ctx = get_current_context()
    params = dict(ctx["params"])
    conn_id = sites_conn_id(spec.site_conn_id, params)
    moment = ctx.get("logical_date") or ctx["dag_run"].run_after
    # The site's day, not the UTC date: from 22:00/23:00 UTC Warsaw is already on the next day.
    scrape_date = site_day(pendulum.instance(moment), site_timezone(conn_id))
    return ChainContext(conn_id, params, scrape_date, spec.site_factory), ctx


def _finish(result: StepResult, ctx: Any) -> dict[str, Any]:
    """The task's return value; the monitor's part goes under STEP_RESULT_KEY, where the monitor
    callback reads it (and nothing else: it never pulls a task's return value, whatever its size)."""
    ctx["ti"].xcom_push(STEP_RESULT_KEY, result.for_monitor())
    if result.skip_reason:
        # A skipped task returns nothing, yet plan_films must tell a legitimately empty unit (its
        # date known: nothing listed) from a failed one (its date unknown): the result goes as the
        # return value by hand.
        ctx["ti"].xcom_push(BaseXCom.XCOM_RETURN_KEY, result.to_dict())
        raise AirflowSkipException(result.skip_reason)
    return result.to_dict()


def _mapped_results(pulled: Any) -> list[Any]:
    """The results of a mapped task as a list. Airflow pulls a task of a mapped task group (the unit
    task) with one expanded instance as that one value, not a list of one (3.3's
    ``PlainXComArg.resolve``): a one-day Kino Krakow run read its dict as a list of keys and
    planned no films. A mapped task itself (``movie_details``) comes as a lazy sequence."""
    if pulled is None:
        return []
    return [pulled] if isinstance(pulled, dict) else list(pulled)


def _fan_out(result: StepResult, key: str, ctx: Any) -> list[Any]:
    """Airflow maps only over return values, so a fan-out task returns the list to map over."""
    _finish(result, ctx)
    return list(result.data.get(key, []))


def build_chain_dag(spec: ChainSpec) -> DAG:
    if spec.unit_task not in stages.UNIT_TASKS:
        raise ValueError(
            f"{spec.dag_id}: unit task {spec.unit_task!r} has no stage; add it to scraper_monitor.stages "
            f"(known unit tasks: {', '.join(stages.UNIT_TASKS)})"
        )
    full_id = {
        stages.SYNC: stages.SYNC,
        spec.unit_task: f"{spec.unit_group}.{spec.unit_task}",
        stages.SHOWTIMES: f"{spec.unit_group}.{stages.SHOWTIMES}",
        stages.PLAN_FILMS: stages.PLAN_FILMS,
        stages.MOVIE_DETAILS: stages.MOVIE_DETAILS,
        stages.COLLECT_MATCHES: stages.COLLECT_MATCHES,
    }
    for short_name, rules in spec.expect.items():
        silent.expect(spec.dag_id, full_id[short_name], rules)

    with DAG(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=spec.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        # Several cities of one source run at once (city discovery), at most this many: a site is
        # never asked for more cities at a time, however many are due.
        max_active_runs=settings.max_active_cities(),
        default_args=default_args(),
        params=spec.params,
        # The scraper its rows belong to (scraper_monitor.recording.scraper_name).
        tags=["scraper", f"{SCRAPER_TAG_PREFIX}{spec.scraper or spec.dag_id}", *spec.tags],
        doc_md=__doc__,
        deadline=deadline_alert(spec.dag_id),
    ) as dag:

        @task(task_id=stages.SYNC)
        def sync() -> list[dict[str, Any]]:
            chain, ctx = _context(spec)
            return _fan_out(spec.sync(chain), UNITS_KEY, ctx)

        @task(task_id=spec.unit_task, map_index_template="{{ unit_label }}", max_active_tis_per_dagrun=4)
        def unit(unit: dict[str, Any]) -> dict[str, Any]:
            chain, ctx = _context(spec)
            ctx["unit_label"] = spec.unit_label(unit)
            return _finish(spec.unit(chain, unit), ctx)

        @task(task_id=stages.SHOWTIMES, map_index_template="{{ unit_label }}")
        def showtimes(unit_result: dict[str, Any]) -> dict[str, Any]:
            chain, ctx = _context(spec)
            unit = unit_result.get("data", {}).get("unit", {})
            ctx["unit_label"] = spec.unit_label(unit) if unit else ""
            matches = ctx["ti"].xcom_pull(task_ids=stages.COLLECT_MATCHES) or {}
            matched = matches.get("data", {}).get("matches", {})
            return _finish(spec.showtimes(chain, unit_result, matched), ctx)

        held: dict[str, Any] = {}

        @task_group(group_id=spec.unit_group)
        def per_unit(unit_arg: dict[str, Any]) -> None:
            held["unit"] = unit(unit_arg)
            held["showtimes"] = showtimes(held["unit"])

        @task(task_id=stages.PLAN_FILMS, trigger_rule="all_done")
        def plan_films(
            unit_results: list[dict[str, Any]], units: list[dict[str, Any]]
        ) -> list[dict[str, Any]]:
            _, ctx = _context(spec)
            # unit_results is None when every unit failed, units when the sync failed (this task runs
            # all_done): the run goes on and reports no films, rather than a TypeError of its own
            # beside the sync's failure.
            planned = common_steps.plan_films(_mapped_results(unit_results), list(units or []))
            return _fan_out(planned, FILMS_KEY, ctx)

        @task(
            task_id=stages.MOVIE_DETAILS, map_index_template="{{ film_label }}", max_active_tis_per_dagrun=4
        )
        def movie_details(film: dict[str, Any]) -> dict[str, Any]:
            chain, ctx = _context(spec)
            ctx["film_label"] = spec.film_label(film)
            return _finish(spec.movie_details(chain, film), ctx)

        @task(task_id=stages.COLLECT_MATCHES, trigger_rule="all_done")
        def collect_matches(detail_results: list[dict[str, Any]]) -> dict[str, Any]:
            _, ctx = _context(spec)
            return _finish(common_steps.collect_matches(_mapped_results(detail_results)), ctx)

        units = sync()
        per_unit.expand(unit_arg=units)
        details = movie_details.expand(film=plan_films(held["unit"], units))
        collect_matches(details) >> held["showtimes"]

    return dag
