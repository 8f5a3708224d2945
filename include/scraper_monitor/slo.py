"""Service level objectives: the SLO file (``settings.slo_config_path``), the status vocabulary and
how a status is classified (``scraper_monitor.reports.slo`` reads the numbers from the store).

A status is computed from final tries only (a task instance that failed once and then succeeded is a
success), so retries do not count twice. Skipped and upstream_failed tasks are left out: the first is
expected, the second is the parent's failure and is already counted there. A silent success counts as
a miss: the scraper ran but did not deliver what it is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from scraper_monitor import settings
from scrapers.tmdb.matching import MATCH_THRESHOLD

MET = "met"
BELOW_TARGET = "below_target"
CRITICAL = "critical"
INSUFFICIENT_DATA = "insufficient_data"
STATUSES: tuple[str, ...] = (MET, BELOW_TARGET, CRITICAL, INSUFFICIENT_DATA)

_TARGET_FIELDS = ("target_success_rate", "target_duration_ms", "alert_threshold")
_TOP_LEVEL_FIELDS = (
    "window_hours",
    "min_runs",
    "defaults",
    "measure_undeclared",
    "scrapers",
    "matching",
    "alerts",
)
_MATCHING_FIELDS = ("target_matched_rate", "window_hours", "min_films", "low_confidence_below")


class SloConfigError(ValueError):
    """The SLO file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class SloTarget:
    target_success_rate: float
    target_duration_ms: int
    alert_threshold: float


@dataclass(frozen=True)
class ScraperSlo:
    slo: SloTarget  # the scraper as a whole
    tasks: Mapping[str, SloTarget]


@dataclass(frozen=True)
class MatchingSlo:
    """The ``matching:`` section: the share of films TMDB matched, per scraper (reports.matching)."""

    target_matched_rate: float
    window: timedelta  # the alert's window, ending now; the report's days are UTC days
    min_films: int  # fewer films than this in a day or window: no verdict, no alert
    low_confidence_below: float  # matches below this confidence are listed for review


DEFAULT_MATCHING = MatchingSlo(
    target_matched_rate=0.80, window=timedelta(hours=24), min_films=10, low_confidence_below=0.80
)


@dataclass(frozen=True)
class SloConfig:
    window: timedelta
    min_runs: int
    defaults: SloTarget
    scrapers: Mapping[str, ScraperSlo]
    # The `alerts:` section, validated by scraper_monitor.alerts.config (it tunes the evaluator, not SLOs).
    alerts: Mapping[str, Any]
    #: Whether DAGs not listed under ``scrapers`` are measured against ``defaults`` too. Off: the
    #: cluster policy records every DAG of a deployment, and a branching example DAG is not a scraper
    #: that should be "below target" because nobody declared what it ought to achieve.
    measure_undeclared: bool = False
    matching: MatchingSlo = DEFAULT_MATCHING

    def declares(self, scraper: str) -> bool:
        """Whether ``scraper`` has an SLO: listed under ``scrapers``, or every DAG is measured."""
        return self.measure_undeclared or scraper in self.scrapers

    def target_for(self, scraper: str, task_id: str | None = None) -> SloTarget:
        entry = self.scrapers.get(scraper)
        if entry is None:
            return self.defaults
        if task_id is None:
            return entry.slo
        return entry.tasks.get(task_id, entry.slo)

    def configured_tasks(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(entry.tasks) for name, entry in self.scrapers.items()}


def span_text(delta: timedelta) -> str:
    """A window for people: "24 h", "7 days"."""
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 and hours % 24 == 0 else f"{hours} h"


# --- loading and validation --------------------------------------------------------------------


def load_config(path: Path | str | None = None) -> SloConfig:
    path = Path(path) if path is not None else settings.slo_config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SloConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SloConfigError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return parse_config(raw)
    except SloConfigError as exc:
        raise SloConfigError(f"{path}: {exc}") from exc


def parse_config(raw: Any) -> SloConfig:
    root = _mapping(raw, "(top level)")
    _no_unknown_keys(root, _TOP_LEVEL_FIELDS, "")
    defaults = _target(_mapping(root.get("defaults"), "defaults"), "defaults", fallback=None)
    scrapers: dict[str, ScraperSlo] = {}
    for name, entry_raw in _mapping(root.get("scrapers", {}), "scrapers").items():
        prefix = f"scrapers.{name}"
        entry = _mapping(entry_raw or {}, prefix)
        _no_unknown_keys(entry, ("slo", "tasks"), prefix)
        scraper_slo = _target(_mapping(entry.get("slo", {}), f"{prefix}.slo"), f"{prefix}.slo", defaults)
        tasks = {
            str(task_id): _target(
                _mapping(t, f"{prefix}.tasks.{task_id}"), f"{prefix}.tasks.{task_id}", scraper_slo
            )
            for task_id, t in _mapping(entry.get("tasks", {}), f"{prefix}.tasks").items()
        }
        scrapers[str(name)] = ScraperSlo(slo=scraper_slo, tasks=tasks)
    return SloConfig(
        window=timedelta(hours=_number(root, "window_hours", "", minimum=1, default=168)),
        min_runs=int(_number(root, "min_runs", "", minimum=1, default=5, integer=True)),
        defaults=defaults,
        scrapers=scrapers,
        alerts=_mapping(root.get("alerts", {}), "alerts"),
        measure_undeclared=_flag(root, "measure_undeclared"),
        matching=_matching(_mapping(root.get("matching", {}), "matching")),
    )


def _matching(raw: Mapping[str, Any]) -> MatchingSlo:
    _no_unknown_keys(raw, _MATCHING_FIELDS, "matching")
    d = DEFAULT_MATCHING
    low = _number(
        raw, "low_confidence_below", "matching", minimum=0, maximum=1, default=d.low_confidence_below
    )
    if low <= MATCH_THRESHOLD:
        raise SloConfigError(
            f"matching.low_confidence_below: {low} lists no match; a film matches at {MATCH_THRESHOLD} "
            "or more (scrapers.tmdb.matching), so the threshold must be above that"
        )
    return MatchingSlo(
        target_matched_rate=_number(
            raw, "target_matched_rate", "matching", minimum=0, maximum=1, default=d.target_matched_rate
        ),
        window=timedelta(hours=_number(raw, "window_hours", "matching", minimum=1, default=24)),
        min_films=int(_number(raw, "min_films", "matching", minimum=1, default=d.min_films, integer=True)),
        low_confidence_below=low,
    )


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise SloConfigError(f"{key}: must be true or false, got {_describe(value)}")
    return value


def _target(raw: Mapping[str, Any], path: str, fallback: SloTarget | None) -> SloTarget:
    _no_unknown_keys(raw, _TARGET_FIELDS, path)
    inherited = asdict(fallback) if fallback else {}
    values: dict[str, Any] = {}
    for field in _TARGET_FIELDS:
        if field not in raw and field in inherited:
            values[field] = inherited[field]
            continue
        if field == "target_duration_ms":
            values[field] = int(_number(raw, field, path, minimum=1, integer=True))
        else:
            values[field] = _number(raw, field, path, minimum=0, maximum=1)
    if values["alert_threshold"] > values["target_success_rate"]:
        raise SloConfigError(
            f"{path}.alert_threshold: {values['alert_threshold']} is above target_success_rate "
            f"{values['target_success_rate']}; the threshold must be at or below the target"
        )
    return SloTarget(**values)


def _mapping(raw: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SloConfigError(f"{path}: expected a mapping, got {_describe(raw)}")
    return raw


def _no_unknown_keys(raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    # A typo ("target_sucess_rate") would otherwise silently fall back to a default.
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise SloConfigError(f"{where}: unknown field; expected one of {', '.join(allowed)}")


def _number(
    raw: Mapping[str, Any],
    key: str,
    path: str,
    *,
    minimum: float,
    maximum: float | None = None,
    default: float | None = None,
    integer: bool = False,
) -> float:
    where = f"{path}.{key}" if path else key
    if key not in raw:
        if default is None:
            raise SloConfigError(f"{where}: missing")
        return default
    value = raw[key]
    # bool is an int in Python; `true` in YAML is never a meant as a number.
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and value != int(value)):
        kind = "an integer" if integer else "a number"
        raise SloConfigError(f"{where}: expected {kind}, got {_describe(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SloConfigError(f"{where}: {value} is out of range; expected {bounds}")
    return float(value)


def _describe(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"


# --- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SloStatus:
    scraper: str
    task_id: str | None  # None: the scraper as a whole
    status: str
    runs: int  # final executions counted: succeeded + silent + failed
    succeeded: int  # successes that were not silent
    silent: int
    failed: int
    success_rate: float | None
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    target: SloTarget
    window_start: datetime
    window_end: datetime
    city: str | None = None  # the city the numbers are of (``--city``); None: every city

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_start"] = self.window_start.isoformat()
        out["window_end"] = self.window_end.isoformat()
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SloStatus:
        return cls(
            **{
                **raw,
                "target": SloTarget(**raw["target"]),
                "window_start": datetime.fromisoformat(raw["window_start"]),
                "window_end": datetime.fromisoformat(raw["window_end"]),
            }
        )


def classify_matched(matched_rate: float | None, films: int, target: MatchingSlo) -> str:
    """A day's (or the alert window's) matched-film rate against the ``matching:`` target."""
    if matched_rate is None or films < target.min_films:
        return INSUFFICIENT_DATA
    return MET if matched_rate >= target.target_matched_rate else BELOW_TARGET


def classify(
    success_rate: float | None, avg_duration_ms: float | None, runs: int, target: SloTarget, min_runs: int
) -> str:
    if success_rate is None or runs < min_runs:
        return INSUFFICIENT_DATA
    if success_rate < target.alert_threshold:
        return CRITICAL
    too_slow = avg_duration_ms is not None and avg_duration_ms > target.target_duration_ms
    if success_rate >= target.target_success_rate and not too_slow:
        return MET
    return BELOW_TARGET
