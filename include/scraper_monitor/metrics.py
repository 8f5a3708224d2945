"""Prometheus metrics: the families of ``scraper_monitor.reports.metrics`` (one custom collector, no
global state).

The store, not the task processes, holds the truth, so the numbers are read from it. Every known
scraper gets every state, category and outcome series, zeros included, so rules like "zero items
while runs succeed" have a series to compare (a never-emitted series gives no result, and the alert
can never fire).

The web app serves ``render_metrics`` at ``/scraper-monitor/metrics``; the rules that read these
names are in ``include/prometheus/rules.yml``.

Reading a week of raw rows takes seconds at millions of executions, so a scrape serves the
``metrics`` snapshot (refreshed every 5 minutes by the DAG ``scraper_monitor_snapshots``) while it is
at most 30 minutes old, and reads the store itself otherwise. ``scraper_monitor_computed_timestamp_seconds``
says which moment the numbers describe.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from scraper_monitor import slo
from scraper_monitor.category import CATEGORIES, UNKNOWN_ERROR
from scraper_monitor.reports.metrics import DURATION_BUCKETS_S, MetricsData, read_metrics
from scraper_monitor.state import STATES
from scraper_monitor.store import snapshots
from scraper_monitor.store.db import connect
from scrapers.outcome import OUTCOMES

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 10_000
METRICS_SNAPSHOT = "metrics"
#: At most this many cities get their own ``city`` label value (those with the most tries in the
#: window); the tries of any further city count under ``OTHER_CITY``, so a deployment that adds
#: cities (or a run with a mistyped one) cannot grow the series without bound. ``city=""``: runs
#: without a city (other DAGs, rows written before cities were recorded).
MAX_CITY_LABELS = 50
OTHER_CITY = "other"


class MetricsCollector(Collector):
    """The metric families of one ``MetricsData``; the data is read before, so collecting never queries."""

    def __init__(
        self, data: MetricsData, slo_config: slo.SloConfig | None, config_error: str | None = None
    ) -> None:
        self.data = data
        self.slo_config = slo_config  # None: the SLO file is invalid; its families are left out
        self.config_error = config_error

    def collect(self) -> Iterator[Metric]:
        data = self.data
        tasks = self._known_tasks(data.known)
        scrapers = sorted(tasks)
        city = city_labels(data.executions)
        yield _executions(tasks, data.executions, city)
        yield _silent(scrapers, data.executions, city)
        yield _errors(scrapers, data.errors, city)
        yield from _items(scrapers, data.items)
        yield _last_success(scrapers, data.last_success)
        yield _durations(data.duration_buckets, data.duration_totals)
        if self.slo_config is not None:
            yield from _slo(scrapers, data.slo, self.slo_config)
        yield _config_valid(self.config_error)
        yield _computed_at(data.computed_at)

    def _known_tasks(self, rows: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
        configured = self.slo_config.configured_tasks() if self.slo_config is not None else {}
        tasks: dict[str, set[str]] = {name: set(ids) for name, ids in configured.items()}
        for row in rows:
            tasks.setdefault(row["scraper"], set()).add(row["task_id"])
        return tasks


def exposition(data: MetricsData, slo_config: slo.SloConfig | None, config_error: str | None = None) -> bytes:
    """The Prometheus text format of ``data`` (without the SLO families when the SLO file is invalid)."""
    registry = CollectorRegistry(auto_describe=False)  # no describe(): registering must not collect
    registry.register(MetricsCollector(data, slo_config, config_error))
    return generate_latest(registry)


def render_metrics(
    dsn: str, *, slo_config: slo.SloConfig | None = None, now: datetime | None = None
) -> tuple[bytes, str]:
    """The body of ``/scraper-monitor/metrics`` and its content type: the fresh snapshot's text, else
    the numbers read now (a small store, a fresh install, or a snapshot DAG that stopped: then the
    store answers, or the scrape times out visibly). ``now`` is pinned by tests only."""
    now = now or datetime.now(UTC)
    with connect(dsn, statement_timeout_ms=STATEMENT_TIMEOUT_MS) as conn:
        found = snapshots.load_fresh(conn, METRICS_SNAPSHOT, now)
        if found is not None:
            return found.body["exposition"].encode(), CONTENT_TYPE_LATEST
        config, error = slo_config, None
        if config is None:
            try:
                config = slo.load_config()
            except slo.SloConfigError as exc:
                # Every other number is still good: serve them, and say what is wrong.
                log.warning("scraper monitor metrics: SLO series left out: %s", exc)
                error = str(exc)
        return exposition(read_metrics(conn, config, now), config, error), CONTENT_TYPE_LATEST


_SCRAPER_LABEL = re.compile(rb'[{,]scraper="((?:[^"\\]|\\.)*)"')


def only_scrapers(body: bytes, scrapers: frozenset[str]) -> bytes:
    """The exposition with the samples of other scrapers left out (a reader who may see only some
    DAGs sees only their scrapers' series; the series without a scraper label stay)."""
    kept = []
    for line in body.splitlines(keepends=True):
        found = None if line.startswith(b"#") else _SCRAPER_LABEL.search(line)
        if found is None or found.group(1).decode() in scrapers:
            kept.append(line)
    return b"".join(kept)


# --- families ----------------------------------------------------------------------------------


def city_labels(rows: Iterable[dict[str, Any]]) -> Callable[[str], str]:
    """The ``city`` label of a row's city: itself for the MAX_CITY_LABELS cities with the most tries,
    OTHER_CITY for the rest; '' (no city) is always its own."""
    tries: Counter[str] = Counter()
    for row in rows:
        if row["city"]:
            tries[row["city"]] += int(row["n"])
    kept = {c for c, _ in sorted(tries.items(), key=lambda item: (-item[1], item[0]))[:MAX_CITY_LABELS]}
    return lambda city: city if not city or city in kept else OTHER_CITY


def _executions(
    tasks: dict[str, set[str]], rows: list[dict[str, Any]], city: Callable[[str], str]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_task_executions",
        "Task tries started in the last 24 h, by scraper, task, state and city ('' without one; "
        "a gauge: do not rate() it)",
        labels=["scraper", "task", "state", "city"],
    )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for r in rows:
        counts[(r["scraper"], r["task_id"], r["state"], city(r["city"]))] += int(r["n"])
    keys = {(s, t, state, "") for s, ids in tasks.items() for t in ids for state in STATES} | set(counts)
    for key in sorted(keys):
        family.add_metric(list(key), counts.get(key, 0))
    return family


def _silent(scrapers: list[str], rows: list[dict[str, Any]], city: Callable[[str], str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_silent_failures",
        "Successful tries in the last 24 h that produced nothing they should have, by scraper and city",
        labels=["scraper", "city"],
    )
    counts: Counter[tuple[str, str]] = Counter({(s, ""): 0 for s in scrapers})
    for row in rows:
        key = (row["scraper"], city(row["city"]))
        # Every city with tries gets its series, zeros included: "silent == 0" has one to read.
        counts[key] += int(row["silent"])
    for key, n in sorted(counts.items()):
        family.add_metric(list(key), n)
    return family


def _errors(scrapers: list[str], rows: list[dict[str, Any]], city: Callable[[str], str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_errors",
        "Failed or retried tries in the last 24 h, by scraper, error category and city",
        labels=["scraper", "category", "city"],
    )
    counts = {(s, c, ""): 0 for s in scrapers for c in CATEGORIES}
    for row in rows:
        key = (row["scraper"], row["error_category"] or UNKNOWN_ERROR, city(row["city"]))
        counts[key] = counts.get(key, 0) + int(row["n"])
    for key, n in sorted(counts.items()):
        family.add_metric(list(key), n)
    return family


def _items(scrapers: list[str], rows: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    items = GaugeMetricFamily(
        "scraper_monitor_items",
        "Item outcomes (films, showtimes, day pages) of tries in the last 24 h, by scraper and outcome",
        labels=["scraper", "outcome"],
    )
    expected = GaugeMetricFamily(
        "scraper_monitor_items_expected",
        "1 when the scraper recorded item outcomes in the last 8 days (it produces items at all)",
        labels=["scraper"],
    )
    counts = {(s, o): 0 for s in scrapers for o in OUTCOMES}
    produces = dict.fromkeys(scrapers, 0)
    for row in rows:
        counts[(row["scraper"], row["outcome"])] = int(row["n"])
        produces[row["scraper"]] = 1
    for key, n in sorted(counts.items()):
        items.add_metric(list(key), n)
    for scraper, flag in sorted(produces.items()):
        expected.add_metric([scraper], flag)
    yield items
    yield expected


def _last_success(scrapers: list[str], rows: list[dict[str, Any]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_last_success_timestamp_seconds",
        "End of the newest DAG run whose tasks all succeeded (or skipped themselves) and produced "
        "something; 0 when there was none in the last 7 days",
        labels=["scraper"],
    )
    found = {row["scraper"]: row["last_success"] for row in rows}
    for scraper in sorted(set(scrapers) | set(found)):
        family.add_metric([scraper], found.get(scraper, 0.0))
    return family


def _durations(buckets: list[dict[str, Any]], totals: list[dict[str, Any]]) -> GaugeHistogramMetricFamily:
    family = GaugeHistogramMetricFamily(
        "scraper_monitor_task_duration_seconds",
        "Durations of task tries that ran in the last 24 h, by scraper and task",
        labels=["scraper", "task"],
    )
    by_task: dict[tuple[str, str], dict[float, int]] = {}
    for row in buckets:
        by_task.setdefault((row["scraper"], row["task_id"]), {})[float(row["le"])] = int(row["n"])
    for row in totals:
        key = (row["scraper"], row["task_id"])
        cumulative = [(floatToGoString(b), by_task[key].get(float(b), 0)) for b in DURATION_BUCKETS_S]
        family.add_metric(list(key), [*cumulative, ("+Inf", int(row["n"]))], float(row["seconds"]))
    return family


def _slo(
    scrapers: list[str], statuses: list[dict[str, Any]], config: slo.SloConfig
) -> Iterator[GaugeMetricFamily]:
    ratio = GaugeMetricFamily(
        "scraper_monitor_slo_success_ratio",
        "Success ratio of final tries over the SLO window, by scraper; absent below the minimum volume",
        labels=["scraper"],
    )
    target = GaugeMetricFamily(
        "scraper_monitor_slo_target_ratio", "Target success ratio of the scraper's SLO", labels=["scraper"]
    )
    threshold = GaugeMetricFamily(
        "scraper_monitor_slo_alert_threshold_ratio",
        "Success ratio below which the scraper's SLO is critical",
        labels=["scraper"],
    )
    whole = {s["scraper"]: s for s in statuses if s["task_id"] is None}
    for scraper in sorted(s for s in set(scrapers) | set(whole) if config.declares(s)):
        slo_target = config.target_for(scraper)
        target.add_metric([scraper], slo_target.target_success_rate)
        threshold.add_metric([scraper], slo_target.alert_threshold)
        status = whole.get(scraper)
        if (
            status is not None
            and status["status"] != slo.INSUFFICIENT_DATA
            and status["success_rate"] is not None
        ):
            ratio.add_metric([scraper], status["success_rate"])
    yield ratio
    yield target
    yield threshold


def _config_valid(error: str | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_config_valid",
        "1 when the SLO file loads; 0 when it is invalid (the SLO series are then absent: see the "
        "api-server log or `scraper-monitor slo`)",
        labels=["file"],
    )
    family.add_metric(["slo"], 0 if error else 1)
    return family


def _computed_at(moment: datetime) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "scraper_monitor_computed_timestamp_seconds",
        "When the numbers above were read from the store: the snapshot's time (DAG "
        "scraper_monitor_snapshots), or this scrape's when there was no fresh snapshot",
    )
    family.add_metric([], moment.timestamp())
    return family
