"""City discovery's rules: which city-sources are due, the run id a trigger uses, when a source is next
due, and which settings a source accepts. Plain Python; the store is ``store/discovery.py`` and
``reports/discovery.py``, the triggering ``scraper_monitor.airflow.discovery``.

Duplicates are impossible by construction, not by care: every trigger of a source for a city on a day
uses the same run id (``run_id``), and Airflow refuses a second run with an id it has, so a retried,
re-run or concurrent orchestrator finds the run there and counts it as queued. The origin's
orchestrator queued every city-source twice a day because it never wrote ``next_run_at`` back; here
the step that triggers writes it, for the triggers that happened only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import jsonschema
import yaml

from scraper_monitor.city import city_key

#: A city's key: the slug the monitor files its runs under (``scraper_monitor.city``).
CITY_KEY = re.compile(r"^[a-z][a-z0-9-]{0,79}$")
#: frequency_hours bounds: at least an hour, at most a year (the store checks the same).
MIN_FREQUENCY_HOURS = 1
MAX_FREQUENCY_HOURS = 24 * 365
#: Params a source DAG may take that name the city: filled from the city, never from settings.
CITY_PARAMS = {"city": "key", "city_name": "name"}
RUN_ID_PREFIX = "discovery__"


class DiscoveryError(ValueError):
    """A change the user asked for that cannot be saved (bad value, unknown city or source)."""


@dataclass(frozen=True)
class CitySource:
    """One source (a DAG id) of one city, as configured."""

    city: str
    city_name: str
    city_enabled: bool
    source: str
    enabled: bool
    frequency_hours: int
    settings: Mapping[str, Any]
    next_run_at: datetime | None
    last_queued_at: datetime | None = None
    last_run_id: str | None = None

    def is_due(self, at: datetime) -> bool:
        """Runs at ``at``: city and source on, and never run or past its next run."""
        return self.city_enabled and self.enabled and (self.next_run_at is None or self.next_run_at <= at)


def run_id(city: str, day: date) -> str:
    """The one run id of a source for a city on a day: a second trigger finds it taken."""
    return f"{RUN_ID_PREFIX}{city}__{day.isoformat()}"


def manual_run_id(city: str, moment: datetime) -> str:
    """A "Trigger now": one run per city, source and minute, so a double click queues one run."""
    return f"{RUN_ID_PREFIX}{city}__manual__{moment:%Y-%m-%dT%H:%M}"


def next_run_at(day_start: datetime, frequency_hours: int) -> datetime:
    """When a source triggered for the day starting at ``day_start`` is next due.

    Counted from the orchestrator's day, not from the moment the trigger happened: a daily source
    triggered at 00:00:07 is due again at 00:00:00 the next day, not 7 s after the next orchestrator
    started (which would skip a day). The orchestrator runs daily, so frequencies round up to days.
    """
    return day_start + timedelta(hours=frequency_hours)


def check_city_key(city: str) -> str:
    # The key must be what the monitor makes of the city's name (scraper_monitor.city), or the runs
    # discovery queues would be filed under another key than the one its statistics look for.
    if not isinstance(city, str) or not CITY_KEY.match(city) or city_key(city) != city:
        raise DiscoveryError(
            f"city key {city!r} must be lowercase letters, digits and '-', starting with a letter "
            "(the slug the monitor files runs under, e.g. krakow, zielona-gora)"
        )
    return city


def check_frequency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DiscoveryError(f"frequency_hours must be a whole number of hours, got {value!r}")
    if not MIN_FREQUENCY_HOURS <= value <= MAX_FREQUENCY_HOURS:
        raise DiscoveryError(
            f"frequency_hours must be from {MIN_FREQUENCY_HOURS} to {MAX_FREQUENCY_HOURS}, got {value}"
        )
    return value


@dataclass(frozen=True)
class ParamSpec:
    """One DAG param as Airflow describes it (``GET /dags/{id}/details``: value, schema, description)."""

    name: str
    default: Any
    schema: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @classmethod
    def from_airflow(cls, name: str, dumped: Mapping[str, Any]) -> ParamSpec:
        return cls(
            name,
            dumped.get("value"),
            dict(dumped.get("schema") or {}),
            str(dumped.get("description") or ""),
        )


def check_settings(source: str, settings: Mapping[str, Any], params: Iterable[ParamSpec]) -> dict[str, Any]:
    """``settings`` if every key is a param of the source and every value fits its schema.

    Every problem is reported at once, field by field (the panel shows each next to its field); the
    city params are refused because the city fills them (a Warszawa row that scrapes Kraków would
    file Kraków's showtimes under Warszawa).
    """
    if not isinstance(settings, Mapping):
        raise DiscoveryError(f"settings of {source} must be a mapping of param names to values")
    specs = {p.name: p for p in params}
    problems: dict[str, str] = {}
    for name, value in settings.items():
        spec = specs.get(name)
        if name in CITY_PARAMS:
            problems[name] = f"{name} is set from the city, not from settings"
        elif spec is None:
            known = ", ".join(sorted(n for n in specs if n not in CITY_PARAMS)) or "none"
            problems[name] = f"{source} has no param {name!r} (its params: {known})"
        else:
            try:
                jsonschema.validate(value, dict(spec.schema))
            except jsonschema.ValidationError as exc:
                problems[name] = f"{name}: {exc.message}"
    if problems:
        raise SettingsRefused(source, problems)
    return dict(settings)


def setting_value(name: str, text: str) -> Any:
    """A setting typed as text (the CLI's ``--setting KEY=VALUE``, a field of the Discovery panel) as
    its value: YAML, so 3 is a number and abc a text; a YAML-only value (a date) is refused, since a
    run's conf is JSON."""
    try:
        value = yaml.safe_load(text)
        json.dumps(value)
    except (yaml.YAMLError, TypeError, ValueError):
        raise DiscoveryError(f"{name}: cannot read {text!r} as a value") from None
    return value


class SettingsRefused(DiscoveryError):
    """Settings that do not fit the source DAG's params; ``problems`` maps each field to why."""

    def __init__(self, source: str, problems: Mapping[str, str]) -> None:
        super().__init__(f"settings of {source} refused: " + "; ".join(problems.values()))
        self.problems = dict(problems)


def run_conf(entry: CitySource, params: Iterable[ParamSpec]) -> dict[str, Any]:
    """The conf a source's run gets: its settings, plus the city in whichever city params it takes."""
    names = {p.name for p in params}
    conf = dict(entry.settings)
    for param, attribute in CITY_PARAMS.items():
        if param in names:
            conf[param] = entry.city if attribute == "key" else entry.city_name
    return conf


@dataclass(frozen=True)
class Queued:
    """What happened to one due city-source: ``queued`` (a new run), ``exists`` (its run for the day
    was already there: counted as queued), ``failed`` (Airflow refused or was unreachable: not
    advanced, due again next time), ``planned`` (a dry run)."""

    city: str
    source: str
    run_id: str
    outcome: str
    detail: str = ""
    next_run_at: datetime | None = None

    @property
    def triggered(self) -> bool:
        return self.outcome in {"queued", "exists"}

    def to_json(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "source": self.source,
            "run_id": self.run_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "next_run_at": self.next_run_at.isoformat() if self.next_run_at else None,
        }


@dataclass(frozen=True)
class SeedSource:
    source: str
    enabled: bool
    frequency_hours: int
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class SeedCity:
    city: str
    name: str
    enabled: bool
    sources: tuple[SeedSource, ...]


def parse_seed(data: Any, origin: str = "seed file") -> list[SeedCity]:
    """The seed file's cities (``include/discovery.yaml``; format in the README), checked field by
    field so a typo names its city and source."""
    if not isinstance(data, Mapping) or not isinstance(data.get("cities"), list):
        raise DiscoveryError(f"{origin}: expected a mapping with a 'cities' list")
    out, seen = [], set()
    for i, raw in enumerate(data["cities"]):
        where = f"{origin}: cities[{i}]"
        if not isinstance(raw, Mapping):
            raise DiscoveryError(f"{where}: expected a mapping")
        unknown = set(raw) - {"city", "name", "enabled", "sources"}
        if unknown:
            raise DiscoveryError(f"{where}: unknown keys {sorted(unknown)}")
        city = check_city_key(raw.get("city"))
        if city in seen:
            raise DiscoveryError(f"{where}: city {city!r} appears twice")
        seen.add(city)
        sources = raw.get("sources") or {}
        if not isinstance(sources, Mapping):
            raise DiscoveryError(f"{where} ({city}): sources must map a source DAG id to its config")
        parsed = []
        for source, conf in sources.items():
            conf = conf or {}
            unknown = set(conf) - {"enabled", "frequency_hours", "settings"}
            if unknown:
                raise DiscoveryError(f"{where} ({city}/{source}): unknown keys {sorted(unknown)}")
            try:
                frequency = check_frequency(conf.get("frequency_hours", 24))
            except DiscoveryError as exc:
                raise DiscoveryError(f"{where} ({city}/{source}): {exc}") from None
            settings = conf.get("settings") or {}
            if not isinstance(settings, Mapping):
                raise DiscoveryError(f"{where} ({city}/{source}): settings must be a mapping")
            parsed.append(SeedSource(str(source), bool(conf.get("enabled", True)), frequency, dict(settings)))
        out.append(
            SeedCity(city, str(raw.get("name") or city), bool(raw.get("enabled", True)), tuple(parsed))
        )
    return out
