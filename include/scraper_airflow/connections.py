"""Turn Airflow connections into the scrapers' plain config objects.

Base URLs and keys live in connections (`cinema_city_api`, `kino_krakow_site`, `tmdb_api`), so the
same DAGs run against the simulator or the real sites. Client tuning (timeout, attempts, backoff,
polite delay) comes from the connection's extras, which is where an operator looks for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow.sdk import BaseHook

from scraper_monitor.airflow.connections import connection_dsn
from scraper_monitor.recording import SITES_KEY
from scrapers.cinema_city.client import CinemaCitySite
from scrapers.errors import SiteNotConfigured
from scrapers.http import SiteConfig
from scrapers.kino_krakow.cities import DEFAULT_CITY, city_base_url
from scrapers.sink import PostgresShowtimeSink
from scrapers.timeparse import DEFAULT_SITE_TIMEZONE
from scrapers.tmdb.client import TmdbConfig

#: A run's conf ``{"sites": "staging"}`` (recording.SITES_KEY) scrapes through
#: ``cinema_city_api.staging`` / ``kino_krakow_site.staging`` and ``tmdb_api.staging`` instead of the
#: usual three (the showtime sink stays ``scraped_events_db``). A conf key, not a DAG param: the
#: trigger form and the Discovery panel keep their fields; local_stack.scenario_runs uses it to run a
#: shipped incident scenario on its own simulator beside the stack's.
TMDB_CONN_ID = "tmdb_api"
_SITES_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")

_SITE_EXTRAS = {
    "timeout_s": float,
    "max_attempts": int,
    "backoff_s": float,
    "polite_delay_s": float,
    "retry_after_cap_s": float,
    "deadline_s": float,
    "max_body_bytes": int,
}


def sites_conn_id(conn_id: str, params: Mapping[str, Any]) -> str:
    """The connection a run uses for ``conn_id``: the run's set of sites (``SITES_KEY``) or the usual."""
    sites = params.get(SITES_KEY)
    if sites in (None, ""):
        return conn_id
    if not isinstance(sites, str) or not _SITES_NAME.fullmatch(sites):
        raise SiteNotConfigured(
            f"run conf {SITES_KEY!r} must name a set of site connections (lowercase letters, digits, "
            f"'-' and '_', at most 60 characters), got {sites!r}",
            field=SITES_KEY,
        )
    return f"{conn_id}.{sites}"


def site_timezone(conn_id: str) -> str:
    """The site's time zone (extra ``timezone``, an IANA name; default Europe/Warsaw): its "today"."""
    conn = BaseHook.get_connection(conn_id)
    timezone = str((conn.extra_dejson or {}).get("timezone") or DEFAULT_SITE_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"connection {conn_id}: timezone {timezone!r} is not an IANA time zone name"
        ) from exc
    return timezone


def base_url(conn: Any) -> str:
    """A connection's base URL: the host may hold a whole URL (scheme and path included)."""
    host = (conn.host or "").rstrip("/")
    if "://" in host:
        return host
    scheme = conn.schema or "https"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{host}{port}"


def site_config(conn_id: str) -> SiteConfig:
    conn = BaseHook.get_connection(conn_id)
    extras = conn.extra_dejson or {}
    tuning = {key: cast(extras[key]) for key, cast in _SITE_EXTRAS.items() if key in extras}
    return SiteConfig(base_url=base_url(conn), **tuning)


def cinema_city_site(conn_id: str) -> CinemaCitySite:
    conn = BaseHook.get_connection(conn_id)
    tenant = str((conn.extra_dejson or {}).get("tenant", "10103"))
    return CinemaCitySite(http=site_config(conn_id), tenant=tenant)


def kino_krakow_site(conn_id: str, params: Mapping[str, Any]) -> SiteConfig:
    """The site of the run's ``city`` param: the connection's extras place each city (see
    ``scrapers.kino_krakow.cities``); a city they cannot place is a config error of the sync."""
    conn = BaseHook.get_connection(conn_id)
    city = params.get("city", DEFAULT_CITY)
    url = city_base_url(
        city, host_url=base_url(conn), extras=conn.extra_dejson or {}, source=f"connection {conn_id}"
    )
    return replace(site_config(conn_id), base_url=url)


def tmdb_config(conn_id: str = TMDB_CONN_ID) -> TmdbConfig:
    conn = BaseHook.get_connection(conn_id)
    return TmdbConfig(base_url=base_url(conn), api_key=conn.password or "", site=site_config(conn_id))


def showtime_sink(conn_id: str = "scraped_events_db") -> PostgresShowtimeSink:
    return PostgresShowtimeSink(connection_dsn(conn_id))
