"""Alert tuning: the ``alerts:`` section of the SLO file (``settings.slo_config_path``).

The defaults here apply to fields the file leaves out; the shipped file spells them all out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scraper_monitor.slo import SloConfig, SloConfigError


@dataclass(frozen=True)
class ErrorSpikeConfig:
    window: timedelta
    baseline_days: int
    factor: float
    min_errors: int


@dataclass(frozen=True)
class FailedRunsConfig:
    k: int
    n: int
    lookback: timedelta


@dataclass(frozen=True)
class FailedUnitsConfig:
    k: int
    lookback: timedelta


@dataclass(frozen=True)
class AlertConfig:
    repeat_interval: timedelta
    slack_timeout_seconds: int
    silent_window: timedelta
    error_spike: ErrorSpikeConfig
    failed_runs: FailedRunsConfig
    failed_units: FailedUnitsConfig


def alert_config(slo_config: SloConfig) -> AlertConfig:
    return parse_alert_config(slo_config.alerts)


def parse_alert_config(raw: Mapping[str, Any]) -> AlertConfig:
    """Validates ``raw`` (the `alerts:` mapping); errors name the field, like the SLO loader's."""
    top = (
        "repeat_interval_minutes",
        "slack_timeout_seconds",
        "silent_failures",
        "error_spike",
        "failed_runs",
        "failed_units",
    )
    _known(raw, top, "alerts")
    silent = _section(raw, "silent_failures", ("window_hours",))
    spike = _section(raw, "error_spike", ("window_hours", "baseline_days", "factor", "min_errors"))
    runs = _section(raw, "failed_runs", ("k", "n", "lookback_days"))
    units = _section(raw, "failed_units", ("k", "lookback_days"))
    failed_runs = FailedRunsConfig(
        k=_int(runs, "k", "alerts.failed_runs", 2),
        n=_int(runs, "n", "alerts.failed_runs", 3),
        lookback=timedelta(days=_int(runs, "lookback_days", "alerts.failed_runs", 14)),
    )
    if failed_runs.k > failed_runs.n:
        raise SloConfigError(f"alerts.failed_runs.k: {failed_runs.k} is larger than n ({failed_runs.n})")
    return AlertConfig(
        repeat_interval=timedelta(minutes=_int(raw, "repeat_interval_minutes", "alerts", 240)),
        slack_timeout_seconds=_int(raw, "slack_timeout_seconds", "alerts", 10),
        silent_window=timedelta(hours=_int(silent, "window_hours", "alerts.silent_failures", 24)),
        error_spike=ErrorSpikeConfig(
            window=timedelta(hours=_int(spike, "window_hours", "alerts.error_spike", 24)),
            baseline_days=_int(spike, "baseline_days", "alerts.error_spike", 7),
            factor=_float(spike, "factor", "alerts.error_spike", 3.0),
            min_errors=_int(spike, "min_errors", "alerts.error_spike", 5),
        ),
        failed_runs=failed_runs,
        failed_units=FailedUnitsConfig(
            k=_int(units, "k", "alerts.failed_units", 3),
            lookback=timedelta(days=_int(units, "lookback_days", "alerts.failed_units", 7)),
        ),
    )


def _section(raw: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    section = raw.get(name, {})
    if not isinstance(section, Mapping):
        raise SloConfigError(f"alerts.{name}: expected a mapping, got {type(section).__name__}")
    _known(section, allowed, f"alerts.{name}")
    return section


def _known(raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in raw:
        if key not in allowed:
            raise SloConfigError(f"{path}.{key}: unknown field; expected one of {', '.join(allowed)}")


def _int(raw: Mapping[str, Any], key: str, path: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SloConfigError(f"{path}.{key}: expected a whole number >= 1, got {value!r}")
    return value


def _float(raw: Mapping[str, Any], key: str, path: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SloConfigError(f"{path}.{key}: expected a number > 0, got {value!r}")
    return float(value)
