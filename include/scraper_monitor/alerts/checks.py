"""Small composable checks (in the spirit of Spidermon monitors): each reads the store and returns the
alerts that are firing now. The evaluator owns the lifecycle (open / repeat / resolve); a check only
says what is wrong at this moment, so a new check is one class with one query.

Keys are ``<check name>:<scraper>[:<detail>]`` and must stay stable: they identify an alert across
evaluations and restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import psycopg
from psycopg.rows import dict_row

from scraper_monitor import slo
from scraper_monitor.alerts.config import AlertConfig
from scraper_monitor.alerts.model import Alert, Fact, TopError, chain_path, duration, percent
from scraper_monitor.state import ERROR_STATES, FAILED, RETRYING, SUCCESS, UPSTREAM_FAILED

_ERROR_STATES = sorted(ERROR_STATES)


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
    return [SloBreachCheck(), SilentFailureCheck(), ErrorSpikeCheck(), FailedRunsCheck()]


# --- SLO breach --------------------------------------------------------------------------------


class SloBreachCheck:
    """An SLO (a scraper as a whole, or one task) whose success rate fell below its alert threshold."""

    name = "slo"

    def evaluate(self, ctx: CheckContext) -> list[Alert]:
        alerts = []
        for status in slo.slo_statuses(ctx.conn, ctx.slo, now=ctx.now):
            if status.status != slo.CRITICAL:
                continue
            what = f"{status.task_id} success rate" if status.task_id else "Success rate of all tasks"
            target = status.target
            alerts.append(
                Alert(
                    key=f"{self.name}:{status.scraper}:{status.task_id or '*'}",
                    check=self.name,
                    severity="critical",
                    scraper=status.scraper,
                    task_id=status.task_id,
                    title="SLO breach",
                    summary=(
                        f"{what} is {percent(status.success_rate)}, below the alert threshold "
                        f"{percent(target.alert_threshold)} over the last {slo.span_text(ctx.slo.window)}."
                    ),
                    facts=(
                        Fact(
                            "Success rate",
                            percent(status.success_rate),
                            f"target {percent(target.target_success_rate)}, "
                            f"alert below {percent(target.alert_threshold)}",
                        ),
                        Fact(
                            "Final runs",
                            f"{status.succeeded} ok · {status.failed} failed · {status.silent} silent",
                            f"last {slo.span_text(ctx.slo.window)}",
                        ),
                        Fact(
                            "Avg duration",
                            duration(status.avg_duration_ms),
                            f"target {duration(target.target_duration_ms)}",
                        ),
                    ),
                    top_error=top_error(
                        ctx.conn,
                        scraper=status.scraper,
                        since=status.window_start,
                        until=status.window_end,
                        task_id=status.task_id,
                    ),
                    panel_path=_panel("/scraper-monitor/", scraper=status.scraper),
                )
            )
        return alerts


# --- silent failures ---------------------------------------------------------------------------

# Per scraper: the totals, and the most common reason with the newest task that gave it as the example.
_SILENT_SQL = """
WITH silent AS (
    SELECT scraper, task_id, run_id, silent_reason, started_at
    FROM task_executions
    WHERE silent AND state = %(success)s AND started_at >= %(since)s AND started_at < %(until)s
), reasons AS (
    SELECT DISTINCT ON (scraper) scraper, silent_reason,
           count(*) OVER (PARTITION BY scraper, silent_reason) AS n, task_id, run_id
    FROM silent
    ORDER BY scraper, n DESC, started_at DESC
), totals AS (
    SELECT scraper, count(*) AS silent, count(DISTINCT task_id) AS tasks,
           (array_agg(run_id ORDER BY started_at DESC))[1] AS last_run
    FROM silent
    GROUP BY scraper
)
SELECT totals.*, reasons.silent_reason, reasons.n, reasons.task_id, reasons.run_id
FROM totals JOIN reasons USING (scraper)
ORDER BY scraper
"""


class SilentFailureCheck:
    """Tasks that succeeded but produced nothing they should have (the store's silent flag)."""

    name = "silent"

    def evaluate(self, ctx: CheckContext) -> list[Alert]:
        params = {"success": SUCCESS, "since": ctx.now - ctx.alerts.silent_window, "until": ctx.now}
        window = f"the last {slo.span_text(ctx.alerts.silent_window)}"
        alerts = []
        for row in _rows(ctx.conn, _SILENT_SQL, params):
            scraper = row["scraper"]
            reason = row["silent_reason"] or "no reason recorded"
            alerts.append(
                Alert(
                    key=f"{self.name}:{scraper}",
                    check=self.name,
                    severity="warning",
                    scraper=scraper,
                    title="Silent failures",
                    summary=f"{row['silent']} task run(s) succeeded without producing anything in {window}.",
                    facts=(
                        Fact("Silent successes", str(row["silent"]), "expected 0"),
                        Fact("Tasks affected", str(row["tasks"])),
                        Fact("Latest run", row["last_run"]),
                    ),
                    top_error=TopError(
                        fingerprint=reason,
                        category=None,
                        count=int(row["n"]),
                        example=f"{row['task_id']} in {row['run_id']}: {reason}",
                    ),
                    panel_path=_panel("/scraper-monitor/silent", scraper=scraper),
                )
            )
        return alerts


# --- error spike -------------------------------------------------------------------------------

_SPIKE_SQL = """
SELECT scraper, error_category,
       count(*) FILTER (WHERE started_at >= %(window_start)s) AS current,
       count(*) FILTER (WHERE started_at < %(window_start)s) AS baseline
FROM task_executions
WHERE state = ANY(%(error_states)s) AND started_at >= %(baseline_start)s AND started_at < %(until)s
GROUP BY scraper, error_category
"""


class ErrorSpikeCheck:
    """Errors of one category well above their usual level (the same window, averaged over the
    trailing days). The minimum-volume guard keeps a quiet week from turning two errors into a spike."""

    name = "spike"

    def evaluate(self, ctx: CheckContext) -> list[Alert]:
        cfg = ctx.alerts.error_spike
        window_start = ctx.now - cfg.window
        baseline_span = timedelta(days=cfg.baseline_days)
        rows = _rows(
            ctx.conn,
            _SPIKE_SQL,
            {
                "error_states": _ERROR_STATES,
                "window_start": window_start,
                "baseline_start": window_start - baseline_span,
                "until": ctx.now,
            },
        )
        alerts = []
        for row in rows:
            current = int(row["current"])
            # The baseline as "errors per window", so 7 days are compared with 24 hours fairly.
            usual = int(row["baseline"]) * (cfg.window / baseline_span)
            if current < cfg.min_errors or current < cfg.factor * usual:
                continue
            category = row["error_category"] or "uncategorized"
            ratio = f"{current / usual:.1f}× the usual" if usual else "none in the days before"
            alerts.append(
                Alert(
                    key=f"{self.name}:{row['scraper']}:{category}",
                    check=self.name,
                    severity="warning",
                    scraper=row["scraper"],
                    title=f"Error spike ({category})",
                    summary=f"{current} {category} errors in the last {slo.span_text(cfg.window)}: {ratio}.",
                    facts=(
                        Fact("Errors now", str(current), f"last {slo.span_text(cfg.window)}"),
                        Fact(
                            "Usual level",
                            f"{usual:.1f}",
                            f"average per {slo.span_text(cfg.window)} over {cfg.baseline_days} days before",
                        ),
                        Fact("Fires at", f"{cfg.factor:g}× usual", f"and at least {cfg.min_errors} errors"),
                    ),
                    top_error=top_error(
                        ctx.conn,
                        scraper=row["scraper"],
                        since=window_start,
                        until=ctx.now,
                        category=row["error_category"],
                    ),
                    panel_path=_panel("/scraper-monitor/errors", scraper=row["scraper"], category=category),
                )
            )
        return alerts


# --- k of the last n runs failed ---------------------------------------------------------------

# A run (dag_id, run_id) failed when a task instance's final try failed or never ran because a parent
# failed. Runs with a task still waiting for a retry are left out: they have not decided yet.
_RUNS_SQL = """
WITH final AS (
    SELECT DISTINCT ON (dag_id, run_id, task_id, map_index)
           scraper, dag_id, run_id, state, coalesce(started_at, recorded_at) AS at
    FROM task_executions
    WHERE (started_at >= %(since)s OR (started_at IS NULL AND recorded_at >= %(since)s))
    ORDER BY dag_id, run_id, task_id, map_index, try_number DESC
), runs AS (
    SELECT scraper, dag_id, run_id, min(at) AS started,
           bool_or(state IN (%(failed)s, %(upstream_failed)s)) AS failed
    FROM final
    GROUP BY scraper, dag_id, run_id
    HAVING NOT bool_or(state = %(retrying)s)
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY scraper ORDER BY started DESC) AS position
    FROM runs
)
SELECT scraper, dag_id, count(*) AS runs, count(*) FILTER (WHERE failed) AS failed_runs,
       array_agg(run_id ORDER BY started DESC) FILTER (WHERE failed) AS failed_run_ids,
       min(started) AS oldest
FROM ranked
WHERE position <= %(n)s
GROUP BY scraper, dag_id
"""


class FailedRunsCheck:
    """k of the last n DAG runs of a scraper had a failure: the rule that works for a few runs a day,
    where a rate over an hour would be one run or none."""

    name = "runs"

    def evaluate(self, ctx: CheckContext) -> list[Alert]:
        cfg = ctx.alerts.failed_runs
        rows = _rows(
            ctx.conn,
            _RUNS_SQL,
            {
                "since": ctx.now - cfg.lookback,
                "n": cfg.n,
                "failed": FAILED,
                "upstream_failed": UPSTREAM_FAILED,
                "retrying": RETRYING,
            },
        )
        alerts = []
        for row in rows:
            failed = int(row["failed_runs"])
            if failed < cfg.k:
                continue
            failed_ids: list[str] = row["failed_run_ids"]
            alerts.append(
                Alert(
                    key=f"{self.name}:{row['scraper']}",
                    check=self.name,
                    severity="critical",
                    scraper=row["scraper"],
                    title="Failed runs",
                    summary=f"{failed} of the last {row['runs']} runs failed.",
                    facts=(
                        Fact("Failed runs", f"{failed} of {row['runs']}", f"alert at {cfg.k} of {cfg.n}"),
                        Fact("Latest failed run", failed_ids[0]),
                    ),
                    top_error=top_error(
                        ctx.conn,
                        scraper=row["scraper"],
                        since=row["oldest"],
                        until=ctx.now,
                        run_ids=failed_ids,
                    ),
                    panel_path=chain_path(row["dag_id"], failed_ids[0]),
                )
            )
        return alerts


# --- shared ------------------------------------------------------------------------------------

_TOP_ERROR_SQL = """
SELECT coalesce(fingerprint, error_message, '') AS fingerprint, error_category, count(*) AS n,
       (array_agg(error_message ORDER BY started_at DESC))[1] AS example
FROM task_executions
WHERE scraper = %(scraper)s AND state = ANY(%(error_states)s)
  AND started_at >= %(since)s AND started_at <= %(until)s
  AND (%(task_id)s::text IS NULL OR task_id = %(task_id)s::text)
  AND (%(category)s::text IS NULL OR error_category = %(category)s::text)
  AND (%(run_ids)s::text[] IS NULL OR run_id = ANY(%(run_ids)s::text[]))
GROUP BY 1, error_category
ORDER BY n DESC, max(started_at) DESC
LIMIT 1
"""


def top_error(
    conn: psycopg.Connection,
    *,
    scraper: str,
    since: datetime,
    until: datetime,
    task_id: str | None = None,
    category: str | None = None,
    run_ids: Sequence[str] | None = None,
) -> TopError | None:
    """The most frequent error fingerprint (failed and retried tries) with its newest message."""
    rows = _rows(
        conn,
        _TOP_ERROR_SQL,
        {
            "scraper": scraper,
            "error_states": _ERROR_STATES,
            "since": since,
            "until": until,
            "task_id": task_id,
            "category": category,
            "run_ids": list(run_ids) if run_ids is not None else None,
        },
    )
    if not rows:
        return None
    row = rows[0]
    return TopError(
        fingerprint=row["fingerprint"],
        category=row["error_category"],
        count=int(row["n"]),
        example=row["example"] or row["fingerprint"] or "(no message)",
    )


def _rows(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _panel(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"
