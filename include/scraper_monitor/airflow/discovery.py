"""City discovery's side that talks to Airflow (REST): a source DAG's params, and the triggers.

The orchestrator DAG (``city_discovery``), the CLI (``scraper-monitor discovery``) and the Discovery
panel all queue through ``queue_due`` / ``trigger_now`` and check settings through ``checked_settings``,
so the three can never disagree on what is due or on which run id a trigger takes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml

from scraper_monitor import discovery
from scraper_monitor.airflow.rest import AirflowApi, AirflowError, AirflowHttpError
from scraper_monitor.city import city_of
from scraper_monitor.discovery import CitySource, ParamSpec, Queued
from scraper_monitor.store import discovery as store

log = logging.getLogger(__name__)


def source_params(api: AirflowApi, source: str) -> list[ParamSpec]:
    """The source DAG's params; a DAG Airflow does not know is a clear refusal."""
    try:
        dumped = dict(api.dag_details(source).get("params") or {})
    except AirflowHttpError as exc:
        if exc.status == 404:
            raise discovery.DiscoveryError(f"Airflow has no DAG {source!r}") from exc
        raise
    return [ParamSpec.from_airflow(name, spec) for name, spec in dumped.items()]


def checked_settings(api: AirflowApi, source: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` validated against the source DAG's Param schema (raises SettingsRefused)."""
    return discovery.check_settings(source, settings, source_params(api, source))


def day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def _runs_of_day(api: AirflowApi, source: str, day: date, params: list[ParamSpec]) -> dict[str, str]:
    """city -> run id of the source's runs already there for that day, however they were made (its own
    schedule, a backfill, a manual trigger): discovery never adds a second run of a city's day."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    window = {"gte": start.isoformat(), "lt": (start + timedelta(days=1)).isoformat()}
    defaults = {p.name: p.default for p in params}
    runs = {}
    for field in ("run_after", "logical_date"):
        for run in api.dag_runs(source, **{f"{field}_{op}": value for op, value in window.items()}):
            city = city_of({**defaults, **(run.get("conf") or {})})
            if city:
                runs.setdefault(city, run["dag_run_id"])
    return runs


def _trigger(api: AirflowApi, entry: CitySource, run_id: str, run_after: datetime, conf: dict) -> Queued:
    try:
        api.trigger_run(entry.source, run_id, run_after.isoformat(), conf)
    except AirflowHttpError as exc:
        if exc.status == 409:  # the id is taken: this city's run for the day is there already
            return Queued(entry.city, entry.source, run_id, "exists", "its run id was already taken")
        return Queued(entry.city, entry.source, run_id, "failed", str(exc)[:500])
    except AirflowError as exc:
        return Queued(entry.city, entry.source, run_id, "failed", str(exc)[:500])
    return Queued(entry.city, entry.source, run_id, "queued")


def queue_due(
    api: AirflowApi, conn: psycopg.Connection, at: datetime, *, dry_run: bool = False
) -> list[Queued]:
    """Trigger every due city-source for the day of ``at`` and write back ``next_run_at`` for those
    triggered, in one transaction holding the queue lock; ``dry_run``: only say what would be queued."""
    start = day_start(at)
    results: list[Queued] = []
    with conn.transaction():
        due = store.lock_due(conn, at)
        by_source: dict[str, list[CitySource]] = defaultdict(list)
        for entry in due:
            by_source[entry.source].append(entry)
        for source, entries in by_source.items():
            try:
                params = source_params(api, source)
                existing = {} if dry_run else _runs_of_day(api, source, start.date(), params)
            except (AirflowError, discovery.DiscoveryError) as exc:
                results += [
                    Queued(e.city, source, discovery.run_id(e.city, start.date()), "failed", str(exc)[:500])
                    for e in entries
                ]
                continue
            for entry in entries:
                run_id = discovery.run_id(entry.city, start.date())
                conf = discovery.run_conf(entry, params)
                if dry_run:
                    outcome = Queued(entry.city, source, run_id, "planned", _conf_text(conf))
                elif entry.city in existing:
                    outcome = Queued(
                        entry.city, source, existing[entry.city], "exists", "a run of the day exists"
                    )
                else:
                    outcome = _trigger(api, entry, run_id, start, conf)
                    log.info("%s %s: %s %s", entry.city, source, outcome.outcome, run_id)
                next_run = discovery.next_run_at(start, entry.frequency_hours)
                results.append(replace(outcome, next_run_at=next_run))
        if not dry_run:
            store.record_queued(conn, results, datetime.now(UTC))
    return results


def trigger_now(
    api: AirflowApi, conn: psycopg.Connection, city: str, source: str, now: datetime, actor: str
) -> Queued:
    """ "Trigger now" from the panel or the CLI: one run per city, source and minute, whatever is due.

    ``next_run_at`` is left alone: a run by hand is an extra, the schedule goes on as planned.
    """
    entries = store.load(conn, city=city, source=source)
    if not entries:
        raise discovery.DiscoveryError(f"city {city!r} has no source {source!r} in discovery")
    entry = entries[0]
    run_id = discovery.manual_run_id(city, now)
    outcome = _trigger(api, entry, run_id, now, discovery.run_conf(entry, source_params(api, source)))
    if outcome.triggered:
        store.record_queued(conn, [outcome], now)
        store.log_change(conn, actor, city, source, f"triggered {run_id} ({outcome.outcome})")
    return outcome


def _conf_text(conf: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(conf.items()))


def seed_file(api: AirflowApi, conn: psycopg.Connection, path: Path, actor: str) -> list[str]:
    """Add the seed file's cities and sources the store lacks, each source's settings checked against
    its DAG first (nothing is saved when one is refused); what exists is left as edited."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise discovery.DiscoveryError(f"cannot read {path}: {exc}") from exc
    cities = discovery.parse_seed(data, str(path))
    params: dict[str, list[ParamSpec]] = {}
    for city in cities:
        for source in city.sources:
            if source.source not in params:
                params[source.source] = source_params(api, source.source)
            discovery.check_settings(source.source, source.settings, params[source.source])
    return store.seed(conn, actor, cities)
