"""City discovery's configuration in the store (migration 0009): load it, seed it, change it, and
write back what the orchestrator queued. Every change is logged in ``discovery_changes`` (who, when,
what) in the transaction that makes it.

The rules (what is due, what a setting may be) are ``scraper_monitor.discovery``; settings reach this
module already checked against the source DAG's params (``scraper_monitor.airflow.discovery``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from scraper_monitor.discovery import (
    CitySource,
    DiscoveryError,
    Queued,
    SeedCity,
    check_city_key,
    check_frequency,
)

#: pg_advisory_xact_lock key of the orchestrator's step: two orchestrators started at the same moment
#: take turns, so the second sees the first's next_run_at (the run ids make it safe either way).
QUEUE_LOCK = 0x5C_D15C
MAX_CHANGE = 2000

_SELECT = sql.SQL(
    "SELECT s.city, c.name AS city_name, c.discovery_enabled AS city_enabled, s.source, s.enabled,"
    " s.frequency_hours, s.settings, s.next_run_at, s.last_queued_at, s.last_run_id"
    " FROM discovery_sources s JOIN discovery_cities c USING (city)"
)


def _entry(row: Mapping[str, Any]) -> CitySource:
    return CitySource(**{**row, "settings": dict(row["settings"] or {})})


def load(conn: psycopg.Connection, city: str | None = None, source: str | None = None) -> list[CitySource]:
    """Every configured city-source (of one city / source), by city then source."""
    conditions, params = [], []
    for column, value in (("s.city", city), ("s.source", source)):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.SQL(column)))
            params.append(value)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    query = _SELECT + where + sql.SQL(" ORDER BY s.city, s.source")
    with conn.cursor(row_factory=dict_row) as cur:
        return [_entry(r) for r in cur.execute(query, params)]


def cities(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every city with its switch, cities without sources included."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT city, name, discovery_enabled FROM discovery_cities ORDER BY city"
        ).fetchall()


def lock_due(conn: psycopg.Connection, at: datetime) -> list[CitySource]:
    """The due city-sources, inside the caller's transaction, holding the queue lock until it ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK,))
    return [entry for entry in load(conn) if entry.is_due(at)]


def record_queued(conn: psycopg.Connection, done: Iterable[Queued], at: datetime) -> None:
    """Write back the triggers that happened: next_run_at only for those (a failed one stays due)."""
    for item in done:
        if not item.triggered:
            continue
        conn.execute(
            "UPDATE discovery_sources SET next_run_at = coalesce(%s, next_run_at), last_queued_at = %s,"
            " last_run_id = %s WHERE city = %s AND source = %s",
            (item.next_run_at, at, item.run_id, item.city, item.source),
        )


def log_change(conn: psycopg.Connection, actor: str, city: str, source: str | None, change: str) -> None:
    """One line of the change log (who, when, what)."""
    conn.execute(
        "INSERT INTO discovery_changes (actor, city, source, change) VALUES (%s, %s, %s, %s)",
        (actor[:250], city, source, change[:MAX_CHANGE]),
    )


def _require(conn: psycopg.Connection, city: str, source: str | None) -> CitySource | None:
    if source is None:
        if not conn.execute("SELECT 1 FROM discovery_cities WHERE city = %s", (city,)).fetchone():
            raise DiscoveryError(f"no city {city!r} in discovery (add it to the seed file)")
        return None
    found = load(conn, city=city, source=source)
    if not found:
        raise DiscoveryError(f"city {city!r} has no source {source!r} in discovery")
    return found[0]


def set_enabled(conn: psycopg.Connection, actor: str, city: str, source: str | None, enabled: bool) -> bool:
    """Switch a city's discovery (``source`` None) or one of its sources; False if already so."""
    with conn.transaction():
        entry = _require(conn, city, source)
        if source is None:
            changed = conn.execute(
                "UPDATE discovery_cities SET discovery_enabled = %s"
                " WHERE city = %s AND discovery_enabled <> %s",
                (enabled, city, enabled),
            ).rowcount
        else:
            assert entry is not None
            changed = conn.execute(
                "UPDATE discovery_sources SET enabled = %s WHERE city = %s AND source = %s AND enabled <> %s",
                (enabled, city, source, enabled),
            ).rowcount
        if changed:
            log_change(conn, actor, city, source, "enabled" if enabled else "disabled")
    return bool(changed)


def update_source(
    conn: psycopg.Connection,
    actor: str,
    city: str,
    source: str,
    *,
    frequency_hours: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> list[str]:
    """Change a source's frequency and/or (already validated) settings; the changes, as logged."""
    with conn.transaction():
        entry = _require(conn, city, source)
        assert entry is not None
        changes = []
        if frequency_hours is not None and check_frequency(frequency_hours) != entry.frequency_hours:
            conn.execute(
                "UPDATE discovery_sources SET frequency_hours = %s WHERE city = %s AND source = %s",
                (frequency_hours, city, source),
            )
            changes.append(f"frequency_hours {entry.frequency_hours} -> {frequency_hours}")
        if settings is not None and dict(settings) != dict(entry.settings):
            conn.execute(
                "UPDATE discovery_sources SET settings = %s WHERE city = %s AND source = %s",
                (Jsonb(dict(settings)), city, source),
            )
            changes.append(f"settings {_json(entry.settings)} -> {_json(settings)}")
        for change in changes:
            log_change(conn, actor, city, source, change)
    return changes


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, ensure_ascii=False)


def seed(conn: psycopg.Connection, actor: str, seed_cities: Iterable[SeedCity]) -> list[str]:
    """Add the cities and sources the store lacks; what exists is left as edited (a re-seed never
    undoes a change made on the panel). Returns what was added."""
    added = []
    with conn.transaction():
        for city in seed_cities:
            check_city_key(city.city)
            if conn.execute(
                "INSERT INTO discovery_cities (city, name, discovery_enabled) VALUES (%s, %s, %s)"
                " ON CONFLICT (city) DO NOTHING",
                (city.city, city.name[:120], city.enabled),
            ).rowcount:
                added.append(city.city)
                log_change(conn, actor, city.city, None, f"added city {city.name}")
            for source in city.sources:
                if conn.execute(
                    "INSERT INTO discovery_sources (city, source, enabled, frequency_hours, settings)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (city, source) DO NOTHING",
                    (
                        city.city,
                        source.source,
                        source.enabled,
                        check_frequency(source.frequency_hours),
                        Jsonb(dict(source.settings)),
                    ),
                ).rowcount:
                    added.append(f"{city.city}/{source.source}")
                    log_change(
                        conn, actor, city.city, source.source, f"added source: {_json(source.settings)}"
                    )
    return added
