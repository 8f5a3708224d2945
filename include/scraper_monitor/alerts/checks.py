"""The alert checks, each declared in a few attributes (Spidermon's stat monitors are the model):
which report rows it reads, which of them fire, and what the alert says. The evaluator owns the
lifecycle (open / repeat / resolve); a check only says what is wrong at this moment. The numbers
come from ``scraper_monitor.reports``, so an alert counts exactly as the panels do.

Keys are ``<check name>:<scraper>[:<detail>]`` and must stay stable: they identify an alert across
evaluations and restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode

import psycopg

from scraper_monitor import slo, stages
from scraper_monitor.alerts.config import AlertConfig
from scraper_monitor.alerts.model import Alert, Fact, Severity, TopError, chain_path, duration, percent
from scraper_monitor.reports import errors, matching, runs, silent
from scraper_monitor.reports import slo as slo_report
from scraper_monitor.reports.errors import UNCATEGORIZED


@dataclass(frozen=True)
class CheckContext:
    conn: psycopg.Connection
    now: datetime
    slo: slo.SloConfig
    alerts: AlertConfig


class Check(Protocol):
    name: str

    def evaluate(self, ctx: CheckContext) -> list[Alert]: ...


def default_checks() -> list[Check]:
    return [
        SloBreachCheck(),
        SilentFailureCheck(),
        ErrorSpikeCheck(),
        FailedRunsCheck(),
        FailedUnitsCheck(),
        MatchedRateCheck(),
    ]


class RowCheck:
    """One alert per report row that fires. A subclass declares ``name``, ``severity`` and ``title``,
    and says how to read its rows and what an alert of a row shows."""

    name: ClassVar[str]
    severity: ClassVar[Severity]
    title: ClassVar[str]

    def rows(self, ctx: CheckContext) -> Iterable[Any]:
        raise NotImplementedError

    def fires(self, row: Any, ctx: CheckContext) -> bool:
        return True

    def scraper(self, row: Any) -> str:
        return row.scraper

    def task_id(self, row: Any) -> str | None:
        return None

    def detail(self, row: Any) -> str | None:
        """The key's third part, when a scraper can have several alerts of this check."""
        return None

    def headline(self, row: Any, ctx: CheckContext) -> str:
        return self.title

    def summary(self, row: Any, ctx: CheckContext) -> str:
        raise NotImplementedError

    def facts(self, row: Any, ctx: CheckContext) -> tuple[Fact, ...]:
        raise NotImplementedError

    def top_error(self, row: Any, ctx: CheckContext) -> TopError | None:
        return None

    def panel_path(self, row: Any) -> str:
        return _panel("/scraper-monitor/", scraper=self.scraper(row))

    def evaluate(self, ctx: CheckContext) -> list[Alert]:
        return [self._alert(row, ctx) for row in self.rows(ctx) if self.fires(row, ctx)]

    def _alert(self, row: Any, ctx: CheckContext) -> Alert:
        scraper, detail = self.scraper(row), self.detail(row)
        return Alert(
            key=f"{self.name}:{scraper}" + (f":{detail}" if detail is not None else ""),
            check=self.name,
            severity=self.severity,
            scraper=scraper,
            task_id=self.task_id(row),
            title=self.headline(row, ctx),
            summary=self.summary(row, ctx),
            facts=self.facts(row, ctx),
            top_error=self.top_error(row, ctx),
            panel_path=self.panel_path(row),
        )


class SloBreachCheck(RowCheck):
    """An SLO (a scraper as a whole, or one task) whose success rate fell below its alert threshold."""

    name = "slo"
    severity = "critical"
    title = "SLO breach"

    def rows(self, ctx: CheckContext) -> Iterable[slo.SloStatus]:
        return slo_report.slo_statuses(ctx.conn, ctx.slo, now=ctx.now)

    def fires(self, row: slo.SloStatus, ctx: CheckContext) -> bool:
        return row.status == slo.CRITICAL

    def task_id(self, row: slo.SloStatus) -> str | None:
        return row.task_id

    def detail(self, row: slo.SloStatus) -> str:
        return row.task_id or "*"

    def summary(self, row: slo.SloStatus, ctx: CheckContext) -> str:
        what = f"{row.task_id} success rate" if row.task_id else "Success rate of all tasks"
        return (
            f"{what} is {percent(row.success_rate)}, below the alert threshold "
            f"{percent(row.target.alert_threshold)} over the last {slo.span_text(ctx.slo.window)}."
        )

    def facts(self, row: slo.SloStatus, ctx: CheckContext) -> tuple[Fact, ...]:
        target, window = row.target, slo.span_text(ctx.slo.window)
        return (
            Fact(
                "Success rate",
                percent(row.success_rate),
                f"target {percent(target.target_success_rate)}, "
                f"alert below {percent(target.alert_threshold)}",
            ),
            Fact(
                "Final runs",
                f"{row.succeeded} ok · {row.failed} failed · {row.silent} silent",
                f"last {window}",
            ),
            Fact(
                "Avg duration", duration(row.avg_duration_ms), f"target {duration(target.target_duration_ms)}"
            ),
        )

    def top_error(self, row: slo.SloStatus, ctx: CheckContext) -> TopError | None:
        return errors.most_frequent(
            ctx.conn, scraper=row.scraper, since=row.window_start, until=row.window_end, task_id=row.task_id
        )


class SilentFailureCheck(RowCheck):
    """Tasks that succeeded but produced nothing they should have (the store's silent flag)."""

    name = "silent"
    severity = "warning"
    title = "Silent failures"

    def rows(self, ctx: CheckContext) -> Iterable[silent.SilentByScraper]:
        return silent.by_scraper(ctx.conn, since=ctx.now - ctx.alerts.silent_window, until=ctx.now)

    def summary(self, row: silent.SilentByScraper, ctx: CheckContext) -> str:
        window = f"the last {slo.span_text(ctx.alerts.silent_window)}"
        return f"{row.silent} task run(s) succeeded without producing anything in {window}."

    def facts(self, row: silent.SilentByScraper, ctx: CheckContext) -> tuple[Fact, ...]:
        return (
            Fact("Silent successes", str(row.silent), "expected 0"),
            Fact("Tasks affected", str(row.tasks)),
            Fact("Latest run", row.last_run),
        )

    def top_error(self, row: silent.SilentByScraper, ctx: CheckContext) -> TopError:
        reason = row.silent_reason or "no reason recorded"
        return TopError(
            fingerprint=reason, category=None, count=row.n, example=f"{row.task_id} in {row.run_id}: {reason}"
        )

    def panel_path(self, row: silent.SilentByScraper) -> str:
        return _panel("/scraper-monitor/silent", scraper=row.scraper)


class ErrorSpikeCheck(RowCheck):
    """Errors of one category well above their usual level (the same window, averaged over the
    trailing days). The minimum-volume guard keeps a quiet week from turning two errors into a spike."""

    name = "spike"
    severity = "warning"
    title = "Error spike"

    def rows(self, ctx: CheckContext) -> Iterable[errors.CategoryLevel]:
        cfg = ctx.alerts.error_spike
        window_start = ctx.now - cfg.window
        return errors.category_levels(
            ctx.conn,
            window_start=window_start,
            baseline_start=window_start - timedelta(days=cfg.baseline_days),
            until=ctx.now,
        )

    def _usual(self, row: errors.CategoryLevel, ctx: CheckContext) -> float:
        # The baseline as "errors per window", so 7 days are compared with 24 hours fairly.
        cfg = ctx.alerts.error_spike
        return row.baseline * (cfg.window / timedelta(days=cfg.baseline_days))

    def fires(self, row: errors.CategoryLevel, ctx: CheckContext) -> bool:
        cfg = ctx.alerts.error_spike
        return row.current >= cfg.min_errors and row.current >= cfg.factor * self._usual(row, ctx)

    def detail(self, row: errors.CategoryLevel) -> str:
        return row.error_category or UNCATEGORIZED

    def headline(self, row: errors.CategoryLevel, ctx: CheckContext) -> str:
        return f"{self.title} ({self.detail(row)})"

    def summary(self, row: errors.CategoryLevel, ctx: CheckContext) -> str:
        usual = self._usual(row, ctx)
        ratio = f"{row.current / usual:.1f}× the usual" if usual else "none in the days before"
        window = slo.span_text(ctx.alerts.error_spike.window)
        return f"{row.current} {self.detail(row)} errors in the last {window}: {ratio}."

    def facts(self, row: errors.CategoryLevel, ctx: CheckContext) -> tuple[Fact, ...]:
        cfg = ctx.alerts.error_spike
        window = slo.span_text(cfg.window)
        return (
            Fact("Errors now", str(row.current), f"last {window}"),
            Fact(
                "Usual level",
                f"{self._usual(row, ctx):.1f}",
                f"average per {window} over {cfg.baseline_days} days before",
            ),
            Fact("Fires at", f"{cfg.factor:g}× usual", f"and at least {cfg.min_errors} errors"),
        )

    def top_error(self, row: errors.CategoryLevel, ctx: CheckContext) -> TopError | None:
        since = ctx.now - ctx.alerts.error_spike.window
        return errors.most_frequent(
            ctx.conn, scraper=row.scraper, since=since, until=ctx.now, category=row.error_category
        )

    def panel_path(self, row: errors.CategoryLevel) -> str:
        return _panel("/scraper-monitor/errors", scraper=row.scraper, category=self.detail(row))


class FailedRunsCheck(RowCheck):
    """k of the last n DAG runs of a scraper had a failure: the rule that works for a few runs a day,
    where a rate over an hour would be one run or none."""

    name = "runs"
    severity = "critical"
    title = "Failed runs"

    def rows(self, ctx: CheckContext) -> Iterable[runs.RunOutcomes]:
        cfg = ctx.alerts.failed_runs
        return runs.last_outcomes(ctx.conn, since=ctx.now - cfg.lookback, n=cfg.n)

    def fires(self, row: runs.RunOutcomes, ctx: CheckContext) -> bool:
        return row.failed_runs >= ctx.alerts.failed_runs.k

    def summary(self, row: runs.RunOutcomes, ctx: CheckContext) -> str:
        return f"{row.failed_runs} of the last {row.runs} runs failed."

    def facts(self, row: runs.RunOutcomes, ctx: CheckContext) -> tuple[Fact, ...]:
        cfg = ctx.alerts.failed_runs
        return (
            Fact("Failed runs", f"{row.failed_runs} of {row.runs}", f"alert at {cfg.k} of {cfg.n}"),
            Fact("Latest failed run", row.failed_run_ids[0]),
        )

    def top_error(self, row: runs.RunOutcomes, ctx: CheckContext) -> TopError | None:
        return errors.most_frequent(
            ctx.conn, scraper=row.scraper, since=row.oldest, until=ctx.now, run_ids=row.failed_run_ids
        )

    def panel_path(self, row: runs.RunOutcomes) -> str:
        return chain_path(row.dag_id, row.failed_run_ids[0])


class FailedUnitsCheck(RowCheck):
    """k or more of the unit tasks (day pages, cinema-days) of a scraper's latest run failed: the run
    went on without part of its data (seed 000: "alert if >2 days fail"). Resolves with the next run
    that loses fewer."""

    name = "units"
    severity = "warning"
    title = "Failed units"

    def rows(self, ctx: CheckContext) -> Iterable[runs.UnitOutcomes]:
        return runs.latest_unit_outcomes(
            ctx.conn,
            since=ctx.now - ctx.alerts.failed_units.lookback,
            unit_tasks=stages.UNIT_TASKS,
            sync_task=stages.SYNC,
        )

    def fires(self, row: runs.UnitOutcomes, ctx: CheckContext) -> bool:
        return row.failed >= ctx.alerts.failed_units.k

    def task_id(self, row: runs.UnitOutcomes) -> str:
        return row.task_id

    def summary(self, row: runs.UnitOutcomes, ctx: CheckContext) -> str:
        return (
            f"{row.failed} of the {row.units} {stages.rule_for(row.task_id).plural} of the latest run failed."
        )

    def facts(self, row: runs.UnitOutcomes, ctx: CheckContext) -> tuple[Fact, ...]:
        plural = stages.rule_for(row.task_id).plural
        return (
            Fact(
                "Failed",
                f"{row.failed} of {row.units} {plural}",
                f"alert at {ctx.alerts.failed_units.k} or more",
            ),
            Fact("Run", row.run_id),
            Fact("Map indexes", ", ".join(str(i) for i in row.failed_map_indexes), row.task_id),
        )

    def top_error(self, row: runs.UnitOutcomes, ctx: CheckContext) -> TopError | None:
        return errors.most_frequent(
            ctx.conn,
            scraper=row.scraper,
            since=row.started,
            until=ctx.now,
            task_id=row.task_id,
            run_ids=[row.run_id],
        )

    def panel_path(self, row: runs.UnitOutcomes) -> str:
        return chain_path(row.dag_id, row.run_id)


class MatchedRateCheck(RowCheck):
    """Fewer films matched on TMDB than the ``matching:`` target, over the window ending now: the
    scraper runs fine while its showtimes are dropped, film by film (seed 001)."""

    name = "matching"
    severity = "warning"
    title = "Films not matching TMDB"

    def rows(self, ctx: CheckContext) -> Iterable[matching.MatchedRate]:
        return matching.matched_rates(ctx.conn, since=ctx.now - ctx.slo.matching.window, until=ctx.now)

    def fires(self, row: matching.MatchedRate, ctx: CheckContext) -> bool:
        return slo.classify_matched(row.matched_rate, row.films, ctx.slo.matching) == slo.BELOW_TARGET

    def summary(self, row: matching.MatchedRate, ctx: CheckContext) -> str:
        return (
            f"{percent(row.matched_rate)} of {row.films} films matched on TMDB in the last "
            f"{slo.span_text(ctx.slo.matching.window)}, below the target "
            f"{percent(ctx.slo.matching.target_matched_rate)}; the showtimes of the others are skipped."
        )

    def facts(self, row: matching.MatchedRate, ctx: CheckContext) -> tuple[Fact, ...]:
        target = ctx.slo.matching
        return (
            Fact(
                "Matched films",
                f"{row.matched} of {row.films} ({percent(row.matched_rate)})",
                f"target {percent(target.target_matched_rate)}",
            ),
            Fact("Not matched", str(row.films - row.matched), f"last {slo.span_text(target.window)}"),
        )

    def top_error(self, row: matching.MatchedRate, ctx: CheckContext) -> TopError | None:
        if row.top_title is None:
            return None
        reason = row.top_reason or "not matched"
        return TopError(
            fingerprint=reason,
            category="validation_error",
            count=row.top_failures,
            example=f"{row.top_title}: {reason}",
        )

    def panel_path(self, row: matching.MatchedRate) -> str:
        return _panel("/scraper-monitor/matching", scraper=row.scraper)


def _panel(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"
