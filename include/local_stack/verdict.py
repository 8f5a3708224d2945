"""Compare what a chain run did (Airflow's task instances + the monitor store) with what the
scenario predicts. `make e2e` exits 0 only if every number matches. A scenario the predictor cannot
predict is still judged on the checks that need no prediction (every try recorded in the monitor,
every screening keeping its own version)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

CHAINS = {"cinema_city": "cinema_day.cinema_dates", "kino_krakow": "day.day_pages"}


@dataclass
class Verdict:
    dag_id: str
    observed: dict[str, int]
    predicted: dict[str, int]
    unpredicted: str | None = None  # why the scenario has no prediction: only the invariants are judged

    @property
    def differences(self) -> dict[str, tuple[int, int]]:
        return {
            k: (self.observed.get(k, 0), v) for k, v in self.predicted.items() if self.observed.get(k, 0) != v
        }

    @property
    def ok(self) -> bool:
        return not self.differences

    def line(self) -> str:
        o = self.observed
        sync = "sync FAILED, " if o["sync_failed"] else ""
        text = (
            f"{self.dag_id}: {sync}{o['units_total']} units ({o['units_succeeded']} ok, "
            f"{o['units_retried']} after a retry, {o['units_failed']} failed, "
            f"{o['units_skipped']} legitimately empty, {o['units_silent']} silent), "
            f"{o['films_total']} films ({o['films_matched']} matched TMDB, {o['films_failed']} failed,"
            f" {o['films_silent']} disagreeing with the day pages), "
            f"{o['showtimes_created']} showtimes stored, {o['showtimes_skipped']} skipped, "
            f"{o['executions_recorded']} executions in the monitor"
        )
        if self.unpredicted:
            text += f"\n     not compared with a prediction ({self.unpredicted}); checked: every try recorded"
        if self.ok:
            return f"OK   {text}"
        diffs = ", ".join(f"{k} {got} (expected {want})" for k, (got, want) in self.differences.items())
        return f"FAIL {text}\n     differs from the scenario: {diffs}"


def _version_mismatches(events_dsn: str, source: str) -> int:
    """Stored Cinema City showtimes whose language or 3D flag is not their own event's: the film's
    union of attributes leaking into a screening (a subtitled 2D show stored as dubbed 3D)."""
    with psycopg.connect(events_dsn, connect_timeout=5) as conn:
        exists = conn.execute("SELECT to_regclass('scraped_showtimes') IS NOT NULL").fetchone()[0]
        payloads = (
            [p for (p,) in conn.execute("SELECT payload FROM scraped_showtimes WHERE source = %s", (source,))]
            if exists
            else []
        )
    wrong = 0
    for payload in payloads:
        own = set(payload.get("attributes") or [])
        language, screen = payload.get("language_info") or {}, payload.get("format_info") or {}
        if own and (
            language.get("is_dubbed") != ("dubbed" in own)
            or language.get("is_subbed") != ("subbed" in own)
            or screen.get("is_3d") != ("3d" in own)
        ):
            wrong += 1
    return wrong


def observe(
    task_instances: list[dict[str, Any]],
    monitor_dsn: str,
    dag_id: str,
    run_id: str,
    events_dsn: str | None = None,
) -> dict[str, int]:
    """What the run did; ``events_dsn`` is the showtime sink's database (default: the monitor's)."""
    unit_task = CHAINS[dag_id]
    # A mapped task that never expanded (its sync failed or returned nothing) keeps one placeholder
    # task instance, map_index -1: it is no unit, batch or film.
    expanded = [ti for ti in task_instances if ti.get("map_index", -1) >= 0]
    units = [ti for ti in expanded if ti["task_id"] == unit_task]
    unit_states = Counter(ti["state"] for ti in units)
    batches = [ti for ti in expanded if ti["task_id"].endswith(".showtimes")]
    # Only task instances that ran a try have callbacks; the scheduler also skips and upstream-fails
    # task instances that never run (they keep try_number 0, though they get a start date).
    ran = [ti for ti in task_instances if ti["try_number"] > 0]
    with psycopg.connect(monitor_dsn, connect_timeout=5) as conn:
        silent_units = conn.execute(
            "SELECT count(DISTINCT map_index) FROM task_executions "
            "WHERE dag_id = %s AND run_id = %s AND task_id = %s AND silent",
            (dag_id, run_id, unit_task),
        ).fetchone()[0]
        silent_films = conn.execute(
            "SELECT count(DISTINCT map_index) FROM task_executions "
            "WHERE dag_id = %s AND run_id = %s AND task_id = 'movie_details' AND silent",
            (dag_id, run_id),
        ).fetchone()[0]
        items = Counter(
            {
                (entity, outcome): n
                for entity, outcome, n in conn.execute(
                    "SELECT i.entity_type, i.outcome, count(*) FROM item_outcomes i "
                    "JOIN task_executions e ON e.id = i.execution_id "
                    "WHERE e.dag_id = %s AND e.run_id = %s GROUP BY 1, 2",
                    (dag_id, run_id),
                )
            }
        )
        recorded = conn.execute(
            "SELECT count(DISTINCT (task_id, map_index)) FROM task_executions "
            "WHERE dag_id = %s AND run_id = %s",
            (dag_id, run_id),
        ).fetchone()[0]
    films = [ti for ti in expanded if ti["task_id"] == "movie_details"]
    return {
        "sync_failed": sum(1 for ti in task_instances if ti["task_id"] == "sync" and ti["state"] == "failed"),
        "units_total": len(units),
        "units_succeeded": unit_states["success"],
        "units_failed": unit_states["failed"],
        "units_skipped": unit_states["skipped"],
        "units_silent": silent_units,
        "units_retried": sum(1 for ti in units if ti["state"] == "success" and ti["try_number"] > 1),
        "films_total": len(films),
        "films_matched": items[("film", "created")] + items[("film", "updated")],
        "films_not_matched": items[("film", "failed")],
        "films_failed": sum(1 for ti in films if ti["state"] == "failed"),
        "films_silent": silent_films,
        "showtimes_created": items[("showtime", "created")] + items[("showtime", "updated")],
        "showtimes_skipped": items[("showtime", "skipped_expected")],
        "showtime_batches_upstream_failed": sum(1 for ti in batches if ti["state"] == "upstream_failed"),
        "executions_recorded": recorded,
        "task_instances_ran": len(ran),
        "showtimes_version_mismatch": (
            _version_mismatches(events_dsn or monitor_dsn, dag_id) if dag_id == "cinema_city" else 0
        ),
    }


def judge(
    dag_id: str, observed: dict[str, int], predicted: dict[str, int] | None, unpredicted: str | None = None
) -> Verdict:
    """``predicted`` None (with ``unpredicted`` saying why): judge only what needs no prediction."""
    wanted = {k: v for k, v in (predicted or {}).items() if k in observed}
    # Every task instance that ran must have left its summary in the monitor, and every screening of
    # a film shown in several versions kept its own language and format.
    wanted["executions_recorded"] = observed["task_instances_ran"]
    wanted["showtimes_version_mismatch"] = 0
    return Verdict(dag_id, observed, wanted, unpredicted)
