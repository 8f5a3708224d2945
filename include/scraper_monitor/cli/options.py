"""The flags and store access every read command shares: output, windows, filters, the store, Airflow.

Values are checked before connecting, so a typo is a one-line error (exit 2) rather than an empty answer.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg

from scraper_monitor import settings
from scraper_monitor.airflow import rest
from scraper_monitor.city import parse_city
from scraper_monitor.cli import CliError
from scraper_monitor.reports.base import MAX_HOURS
from scraper_monitor.state import STATES
from scraper_monitor.store.db import connect, describe_error
from scraper_monitor.store.filters import ExecutionFilter

# Reads may scan a 90-day window: allow more than the task path's 2 s, but never hang a terminal.
READ_STATEMENT_TIMEOUT_MS = 30_000


def add_dsn_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        help=f"monitor store (libpq DSN); default: ${settings.DSN_ENV}, else the local stack's .local/env",
    )


def add_airflow_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--airflow-url",
        help=f"Airflow api-server; default: ${settings.AIRFLOW_URL_ENV}, else {settings.DEFAULT_AIRFLOW_URL} "
        f"(login: ${settings.AIRFLOW_USERNAME_ENV}/${settings.AIRFLOW_PASSWORD_ENV}, else the local stack's)",
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (stable keys) instead of a table")
    add_dsn_option(parser)


def add_hours_option(parser: argparse.ArgumentParser, default: int | None) -> None:
    window = f"default {default}" if default else "default: no limit"
    parser.add_argument("--hours", type=int, default=default, help=f"only the last N hours ({window})")


def add_scraper_option(parser: argparse.ArgumentParser) -> None:
    # --source: the name the origin's `mix monitor.jobs` used (seed 001's commands work as written).
    parser.add_argument("--scraper", "--source", dest="scraper", help="only this scraper (DAG id)")


def add_city_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--city", help='only runs of this city: its key ("krakow") or its name ("Kraków"), the same city'
    )


def city_option(args: argparse.Namespace) -> str | None:
    """``--city`` as its key (``scraper_monitor.city``); what is not a city name is a one-line error."""
    if getattr(args, "city", None) is None:
        return None
    try:
        return parse_city(args.city)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def add_filter_options(
    parser: argparse.ArgumentParser,
    *,
    limit: int | None,
    hours: int | None = None,
    task: bool = True,
    states: Sequence[str] = STATES,
) -> None:
    add_scraper_option(parser)
    add_city_option(parser)
    if task:
        parser.add_argument("--task", help="only this task id (e.g. cinema_day.cinema_dates)")
    parser.add_argument(
        "--state", help=f"only this state: {', '.join(states)} (or {CANCELLED}: what was left out on purpose)"
    )
    parser.add_argument("--category", help="only this error category (e.g. network_error)")
    add_hours_option(parser, hours)
    limit_help = f"at most N rows (default {limit})" if limit else "at most N rows (default: all)"
    parser.add_argument("--limit", type=int, default=limit, help=limit_help)
    add_output_options(parser)


def check_range(flag: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise CliError(f"{flag} must be a whole number from {low} to {high}, got {value}")


def since(hours: int | None) -> datetime | None:
    check_range("--hours", hours, 1, MAX_HOURS)
    return None if hours is None else datetime.now(UTC) - timedelta(hours=hours)


#: The origin system's state for jobs cancelled on purpose (seed 001); here they are item outcomes.
CANCELLED = "cancelled"


def execution_filter(args: argparse.Namespace, *, cancelled_ok: bool = False) -> ExecutionFilter:
    """The filter of the common flags; bad values (``--state bogus``) are one-line errors.
    ``--state cancelled`` (``cancelled_ok``) selects every state: its answer is item outcomes
    (``reports.items``); elsewhere it is refused."""
    if args.state == CANCELLED and not cancelled_ok:
        raise CliError(
            f"what was {CANCELLED} on purpose is item outcomes: `jobs list --state {CANCELLED}` lists them"
        )
    try:
        return ExecutionFilter(
            scraper=args.scraper,
            city=city_option(args),
            task_id=args.task,
            state=None if args.state == CANCELLED else args.state,
            category=args.category,
            since=since(args.hours),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def check_names(*, scraper: str | None = None, task_id: str | None = None, dag_id: str | None = None) -> None:
    """Checked before connecting, so a typo is a one-line error rather than an empty answer."""
    try:
        ExecutionFilter(scraper=scraper, task_id=task_id, dag_id=dag_id)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


@contextmanager
def open_store(dsn_arg: str | None) -> Iterator[psycopg.Connection]:
    dsn = settings.resolve_dsn(dsn_arg)
    try:
        with connect(dsn, statement_timeout_ms=READ_STATEMENT_TIMEOUT_MS) as conn:
            yield conn
    except psycopg.Error as exc:
        raise CliError(f"cannot read the monitor store: {describe_error(exc)}") from exc


@contextmanager
def airflow_errors(what: str) -> Iterator[None]:
    """Airflow's refusals and silence as one-line CLI errors (exit 2)."""
    try:
        yield
    except rest.AirflowHttpError as exc:
        if exc.status == 404:
            raise CliError(f"Airflow does not know {what}") from exc
        raise CliError(f"Airflow refused the request: {exc}") from exc
    except rest.AirflowUnreachable as exc:
        raise CliError(str(exc)) from exc
