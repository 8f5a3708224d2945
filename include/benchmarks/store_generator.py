"""Fill a migrated monitor store with a synthetic history, fast, for the panel benchmark.

Every row is made by the server (``INSERT ... SELECT`` over ``generate_series``); Python only sends
the statements. The history is deterministic: row ``r`` of ``task_executions`` is a pure function of
``r`` and the shape (hashes stand in for randomness), so two loads of one shape hold the same rows.

Shape of the data, modelled on the two real chains (docs/architecture.md, "Chain shape"):

- ``scrapers`` DAGs ``scraper_01``, ``scraper_02``, ...; odd ones are shaped like Cinema City
  (``cinema_day.cinema_dates`` / ``cinema_day.showtimes``), even ones like Kino Krakow
  (``day.day_pages`` / ``day.showtimes``). Runs are spread evenly over ``days`` days ending now.
- A run is ``sync``, ``units`` mapped unit tasks, ``plan_films``, ``films`` mapped ``movie_details``,
  ``collect_matches`` and ``units`` mapped showtime batches. A failed unit makes its batch
  ``upstream_failed`` (no ``started_at``), a skipped or silent unit makes it skipped.
- A fixed number of task instances per run get a second try (a quarter of those a third), rotating
  over sync, units and films from run to run; the last try of an exhausted one fails.
- Failures carry a category, type, message and fingerprint from a weighted list of real-looking
  errors (fingerprints come from ``scraper_monitor.fingerprint``, as the writer would store them).
- Item outcomes: one film per successful ``movie_details``, and the showtimes of each successful
  batch, split created / updated / skipped_expected / failed as its ``counts`` say.

The sizes are exact: the last run is cut where ``executions`` is reached (a run in progress), and
the showtimes per batch are chosen so the items add up to ``item_outcomes``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from scraper_monitor.fingerprint import fingerprint
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED
from scraper_monitor.store import dag_runs, rollup
from scraper_monitor.store.db import connect

Log = Callable[[str], None]

# Weighted error list: (category, error_type, message with {url}, weight out of the total). Network
# errors dominate, as they do for scrapers; the rest covers the categories the panels break down.
ERRORS: tuple[tuple[str, str, str, int], ...] = (
    ("network_error", "http_5xx", "HTTP 503 Service Unavailable for {url}", 5),
    ("network_error", "timeout", "Read timed out after 10.0s fetching {url}", 4),
    ("network_error", "rate_limited", "HTTP 429 Too Many Requests for {url} (Retry-After: 30)", 2),
    ("network_error", "connection_error", "Connection refused while fetching {url}", 1),
    ("data_quality_error", "unexpected_shape", "response has no 'body' key: {url}", 2),
    ("data_quality_error", "selector_missing", "selector table.repert not found on {url}", 1),
    ("validation_error", "missing_field", "showtime without starts_at on {url}", 1),
    ("validation_error", "http_4xx", "HTTP 404 Not Found for {url}", 1),
    (
        "duplicate_error",
        "duplicate_key",
        'duplicate key value violates unique constraint "showtimes_pkey" ({url})',
        1,
    ),
    ("venue_error", "venue_not_found", "cinema missing from the cinema list of {url}", 1),
    ("unknown_error", "unclassified", "KeyError: 'eventDateTime' while reading {url}", 1),
)
_SAMPLE_URL = (
    "https://www.cinema-city.pl/pl/data-api-service/v1/quickbook/10103/dates/in-cinema/1090/until/2025-11-24"
)

# Per chain style (index 0: Cinema City, 1: Kino Krakow).
UNIT_TASKS = ("cinema_day.cinema_dates", "day.day_pages")
BATCH_TASKS = ("cinema_day.showtimes", "day.showtimes")
SILENT_REASONS = (
    "films == 0 on a day the cinema lists as a business day",
    "showtimes == 0 on a day page with a programme table",
)
UNIT_SKIP_REASONS = ("not a business day", "Brak seansów w wybranym dniu.")

# Fate of a task instance that ran once (shares of the unit or film tasks).
UNIT_FAILED, UNIT_SKIPPED, UNIT_SILENT = 0.03, 0.08, 0.015
FILM_FAILED, FILM_NOT_MATCHED, BATCH_FAILED = 0.03, 0.12, 0.02
EXHAUSTED = 0.35  # of the task instances with a third try: the third fails too
RETRY_DELAY_S = 60
# The newest run starts this long before "now", so all its tries have ended.
END_MARGIN_S = 900
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class StoreShape:
    """What to generate. ``executions`` and ``item_outcomes`` are exact row counts."""

    executions: int
    item_outcomes: int
    days: int = 90
    scrapers: int = 20
    units: int = 40  # mapped cinema-days / day pages per run
    films: int = 30  # mapped movie_details per run
    retry_share: float = 0.05  # of sync, units and films: how many get a second try

    @property
    def task_instances(self) -> int:
        return 3 + 2 * self.units + self.films

    @property
    def retryable(self) -> int:
        return 1 + self.units + self.films

    @property
    def retries(self) -> int:
        return min(self.retryable, max(1, round(self.retryable * self.retry_share)))

    @property
    def third_tries(self) -> int:
        return (self.retries + 3) // 4

    @property
    def rows_per_run(self) -> int:
        return self.task_instances + self.retries + self.third_tries

    @property
    def runs(self) -> int:
        return math.ceil(self.executions / self.rows_per_run)

    @property
    def runs_per_scraper(self) -> int:
        return math.ceil(self.runs / self.scrapers)

    def validate(self) -> None:
        if self.executions < self.rows_per_run * self.scrapers:
            raise ValueError(
                f"executions must cover one run per scraper ({self.rows_per_run * self.scrapers})"
            )
        if self.item_outcomes < self.executions // 10:
            raise ValueError("item_outcomes must be at least a tenth of executions")
        if self.days < 1 or self.scrapers < 1 or self.units < 1 or self.films < 1:
            raise ValueError("days, scrapers, units and films must be positive")


@dataclass
class GeneratedStore:
    shape: StoreShape
    executions: int
    item_outcomes: int
    execution_daily: int
    item_daily: int
    first_day: date
    last_day: date
    seconds: dict[str, float] = field(default_factory=dict)  # per phase

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


# Helpers of one load session (pg_temp: gone with the connection, nothing is added to the store's
# schema). The shape's constants are written into them, so they stay plain inlinable expressions.
_FUNCTIONS = sql.SQL("""
CREATE FUNCTION pg_temp.bench_u(g bigint, salt bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT (hashint8extended(g, salt) & 1048575)::float8 / 1048576 $$;

CREATE FUNCTION pg_temp.bench_kind(pos int) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pos = 0 THEN 'sync' WHEN pos <= {units} THEN 'unit'
                  WHEN pos = {units} + 1 THEN 'plan' WHEN pos <= {units} + 1 + {films} THEN 'film'
                  WHEN pos = {units} + 2 + {films} THEN 'collect' ELSE 'batch' END $$;

CREATE FUNCTION pg_temp.bench_map_index(pos int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE pg_temp.bench_kind(pos) WHEN 'unit' THEN pos - 1 WHEN 'film' THEN pos - {units} - 2
                  WHEN 'batch' THEN pos - {units} - {films} - 3 ELSE -1 END $$;

-- Retryable task instances (sync, units, films) are numbered 0..retryable-1 ("rank").
CREATE FUNCTION pg_temp.bench_rank(pos int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pos <= {units} THEN pos WHEN pos <= {units} + 1 + {films} AND pos > {units} + 1
                  THEN pos - 1 END $$;

CREATE FUNCTION pg_temp.bench_pos(rank int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN rank <= {units} THEN rank ELSE rank + 1 END $$;

-- Retry k (0..retries-1) of run g goes to rank (37g + k*step) mod retryable; the first third_tries
-- of them get a third try. bench_offset is (rank - 37g) mod retryable: k*step for a retried one.
CREATE FUNCTION pg_temp.bench_offset(g bigint, rank int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT mod(mod(rank - g * 37, {retryable}) + {retryable}, {retryable})::int $$;

CREATE FUNCTION pg_temp.bench_tries(g bigint, pos int) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE
    WHEN pg_temp.bench_rank(pos) IS NULL THEN 1
    WHEN mod(pg_temp.bench_offset(g, pg_temp.bench_rank(pos)), {step}) <> 0
      OR pg_temp.bench_offset(g, pg_temp.bench_rank(pos)) / {step} >= {retries} THEN 1
    WHEN pg_temp.bench_offset(g, pg_temp.bench_rank(pos)) / {step} < {third} THEN 3
    ELSE 2 END $$;

-- Final state of a retried task instance: exhausted third tries fail, the others succeeded.
CREATE FUNCTION pg_temp.bench_after_retries(g bigint, pos int) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pg_temp.bench_tries(g, pos) = 3 AND pos > 0
                       AND pg_temp.bench_u(g, pos * 16 + 1) < {exhausted}
                  THEN {failed} ELSE {success} END $$;

-- Final state of unit i ('silent' = a success that produced nothing).
CREATE FUNCTION pg_temp.bench_unit(g bigint, i int) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE
    WHEN pg_temp.bench_tries(g, i + 1) > 1 THEN pg_temp.bench_after_retries(g, i + 1)
    WHEN pg_temp.bench_u(g, (i + 1) * 16) < {unit_failed} THEN {failed}
    WHEN pg_temp.bench_u(g, (i + 1) * 16) < {unit_failed} + {unit_skipped} THEN {skipped}
    WHEN pg_temp.bench_u(g, (i + 1) * 16) < {unit_failed} + {unit_skipped} + {unit_silent} THEN 'silent'
    ELSE {success} END $$;

-- Final state of any task instance of run g.
CREATE FUNCTION pg_temp.bench_final(g bigint, pos int) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE pg_temp.bench_kind(pos)
    WHEN 'unit' THEN pg_temp.bench_unit(g, pos - 1)
    WHEN 'film' THEN CASE
        WHEN pg_temp.bench_tries(g, pos) > 1 THEN pg_temp.bench_after_retries(g, pos)
        WHEN pg_temp.bench_u(g, pos * 16) < {film_failed} THEN {failed} ELSE {success} END
    WHEN 'batch' THEN CASE pg_temp.bench_unit(g, pos - {units} - {films} - 3)
        WHEN {failed} THEN {upstream_failed}
        WHEN {skipped} THEN {skipped}
        WHEN 'silent' THEN {skipped}
        ELSE CASE WHEN pg_temp.bench_u(g, pos * 16) < {batch_failed} THEN {failed} ELSE {success} END END
    ELSE {success} END $$;
""")

# The virtual rows [first, last) with their run, task instance, try and fate ('silent' is a
# success that produced nothing). Shared by the dry pass (item arithmetic) and the insert.
# Each "OFFSET 0" keeps a level from being flattened into the next: without it the planner pastes
# a column's whole expression into every place that uses it, and the nested CASEs grow
# exponentially (milliseconds per row instead of microseconds).
_ROWS = sql.SQL("""
WITH base AS (
    SELECT r, r / %(per_run)s AS g, mod(r, %(per_run)s)::int AS s
    FROM generate_series(%(first)s::bigint, %(last)s::bigint - 1) AS r
), slot AS (
    SELECT r, g, mod(g, %(scrapers)s)::int AS scraper_no,
           CASE WHEN s < %(tis)s THEN 1 WHEN s < %(tis)s + %(retries)s THEN 2 ELSE 3 END AS try_number,
           CASE WHEN s < %(tis)s THEN s
                ELSE pg_temp.bench_pos(mod(g * 37 + mod(s - %(tis)s, %(retries)s) * %(step)s,
                                           %(retryable)s)::int) END AS pos
    FROM base
    OFFSET 0
), ti AS (
    SELECT r, g, scraper_no, try_number, pos, pg_temp.bench_kind(pos) AS kind,
           pg_temp.bench_tries(g, pos) AS tries
    FROM slot
    OFFSET 0
), rows AS (
    SELECT ti.*,
           CASE WHEN try_number < tries THEN %(retrying)s ELSE pg_temp.bench_final(g, pos) END AS fate
    FROM ti
    OFFSET 0
)
""")

# Items of the batches: (showtimes - film items) spread as evenly as whole numbers allow; the
# `extra` batches with the smallest hashes get one more (deterministic, spread over the whole range).
_ITEM_PLAN = _ROWS + sql.SQL(
    """
SELECT count(*) FILTER (WHERE kind = 'film' AND fate = %(success)s),
       count(*) FILTER (WHERE kind = 'batch' AND fate = %(success)s)
FROM rows
"""
)
_EXTRA_THRESHOLD = _ROWS + sql.SQL(
    """
SELECT hashint8extended(r, 99), r FROM rows WHERE kind = 'batch' AND fate = %(success)s
ORDER BY 1, 2 OFFSET (%(extra)s - 1) LIMIT 1
"""
)

_INSERT_EXECUTIONS = _ROWS + sql.SQL(
    """
, timed AS (
    SELECT rows.*, mod(scraper_no, 2) + 1 AS style,
           CASE WHEN fate = 'silent' THEN %(success)s ELSE fate END AS state,
           pg_temp.bench_map_index(pos) AS map_index,
           to_timestamp(%(start)s + floor((g / %(scrapers)s) * %(interval)s
                                          + scraper_no * %(interval)s / %(scrapers)s)) AS run_start,
           -- seconds from the run's start: each stage after the previous, mapped tasks 2 s apart
           CASE kind WHEN 'sync' THEN 0
                     WHEN 'unit' THEN 10 + 2 * (pos - 1)
                     WHEN 'plan' THEN 20 + 2 * %(units)s
                     WHEN 'film' THEN 30 + 2 * %(units)s + 2 * (pos - %(units)s - 2)
                     WHEN 'collect' THEN 40 + 2 * %(units)s + 2 * %(films)s
                     ELSE 50 + 2 * %(units)s + 2 * %(films)s + 2 * (pos - %(units)s - %(films)s - 3)
           END + (try_number - 1) * %(retry_delay)s AS offset_s,
           CASE WHEN fate IN (%(failed)s, %(retrying)s)
                THEN 1 + floor(pg_temp.bench_u(g, pos * 16 + 4 + try_number) * %(error_weight)s)::int
           END AS err,
           pg_temp.bench_u(g, pos * 16 + 8 + try_number) AS jitter
    FROM rows
    OFFSET 0
), shaped AS (
    SELECT timed.*,
           'scraper_' || to_char(scraper_no + 1, 'FM00') AS dag,
           CASE WHEN fate <> %(upstream_failed)s
                THEN run_start + make_interval(secs => offset_s) END AS started,
           CASE WHEN fate = %(upstream_failed)s THEN NULL
                WHEN fate IN (%(failed)s, %(retrying)s) THEN 2000 + (jitter * 8000)::int
                WHEN fate IN (%(skipped)s, 'silent') THEN 300 + (jitter * 700)::int
                WHEN kind IN ('plan', 'collect') THEN 150 + (jitter * 350)::int
                WHEN kind = 'sync' THEN 1500 + (jitter * 2500)::int
                ELSE 500 + (jitter * 3000)::int END AS duration,
           CASE WHEN style = 1
                THEN 'https://www.cinema-city.pl/pl/data-api-service/v1/quickbook/10103/film-events/in-cinema/'
                     || (1090 + mod(pos, 10)) || '/at-date/' || to_char(run_start, 'YYYY-MM-DD')
                ELSE 'https://www.kino.krakow.pl/cinema_program/by_movie?day=' || mod(pos, 7) END AS url,
           %(per_batch)s + CASE WHEN %(extra)s > 0
                                     AND (hashint8extended(r, 99), r) <= (%(hb)s::bigint, %(hr)s::bigint)
                                THEN 1 ELSE 0 END AS showtimes
    FROM timed
    OFFSET 0
)
INSERT INTO task_executions (id, dag_id, run_id, task_id, map_index, try_number, scraper, logical_date,
                             state, started_at, ended_at, duration_ms, counts, error_category,
                             error_type, error_message, fingerprint, silent, silent_reason, skip_reason,
                             recorded_at)
SELECT r + 1, dag,
       'scheduled__' || to_char(run_start, 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00',
       CASE kind WHEN 'unit' THEN (%(unit_tasks)s::text[])[style]
                 WHEN 'batch' THEN (%(batch_tasks)s::text[])[style]
                 WHEN 'plan' THEN 'plan_films' WHEN 'collect' THEN 'collect_matches'
                 WHEN 'film' THEN 'movie_details' ELSE 'sync' END,
       map_index, try_number, dag, run_start, state, started,
       started + make_interval(secs => duration / 1000.0), duration,
       CASE WHEN fate IN (%(failed)s, %(retrying)s, %(upstream_failed)s) THEN '{}'::jsonb
            WHEN kind = 'sync' AND style = 1
                THEN jsonb_build_object('cinemas', 10, 'units', %(units)s, 'units_listed', %(units)s - 3)
            WHEN kind = 'sync' THEN jsonb_build_object('films', %(films)s + 8, 'units', %(units)s)
            WHEN kind = 'unit' AND fate = %(success)s
                THEN jsonb_build_object('films', 4 + (jitter * 8)::int, 'showtimes', 20 + (jitter * 40)::int)
            WHEN kind = 'unit' THEN jsonb_build_object('films', 0, 'showtimes', 0)
            WHEN kind = 'plan' THEN jsonb_build_object('units', %(units)s, 'films', %(films)s)
            WHEN kind = 'film' AND jitter < %(not_matched)s
                THEN jsonb_build_object('matched', 0, 'not_matched', 1)
            WHEN kind = 'film' THEN jsonb_build_object('matched', 1, 'not_matched', 0)
            WHEN kind = 'collect' THEN jsonb_build_object('matched', %(films)s - 4, 'not_matched', 4)
            WHEN fate = %(skipped)s THEN jsonb_build_object('showtimes', 0)
            -- a batch: created + updated + skipped + failed = showtimes, as the real step reports
            ELSE jsonb_build_object('showtimes', showtimes,
                                    'created', showtimes - showtimes * 3 / 10 - showtimes / 10
                                               - CASE WHEN jitter < 0.1 THEN 1 ELSE 0 END,
                                    'updated', showtimes * 3 / 10, 'skipped', showtimes / 10,
                                    'failed', CASE WHEN jitter < 0.1 THEN 1 ELSE 0 END) END,
       (%(err_categories)s::text[])[err], (%(err_types)s::text[])[err],
       replace((%(err_messages)s::text[])[err], '{url}', url), (%(err_fingerprints)s::text[])[err],
       fate = 'silent',
       CASE WHEN fate = 'silent' THEN (%(silent_reasons)s::text[])[style] END,
       CASE WHEN fate = %(skipped)s AND kind = 'unit' THEN (%(unit_skip_reasons)s::text[])[style]
            WHEN fate = %(skipped)s THEN 'no showtimes' END,
       coalesce(started + make_interval(secs => duration / 1000.0),
                run_start + make_interval(secs => offset_s))
FROM shaped
"""
)

# Items of the successful films and batches with ids in [first, last): a film is created when TMDB
# matched it, else failed; a batch's showtimes follow its counts in order (created, updated,
# skipped_expected, failed).
_INSERT_ITEMS = sql.SQL("""
INSERT INTO item_outcomes (execution_id, scraper, entity_type, external_id, outcome, category, reason,
                           recorded_at)
SELECT e.id, e.scraper, i.entity_type,
       CASE WHEN i.entity_type = 'film' THEN 'film_' || (7000 + mod(e.id, 997)) || 's' || e.map_index
            WHEN e.task_id = %(cinema_batch)s
                THEN 'cinema_city_showtime_' || (1090 + mod(e.map_index, 10)) || '_' || (7000 + mod(j, 41))
                     || '_' || (e.id * 100 + j)
            ELSE 'kino_krakow_showtime_film-' || mod(j, 41) || '_kino-' || mod(e.map_index, 9) || '_'
                 || to_char(e.started_at, 'YYYY-MM-DD') || '_' || (e.id * 100 + j) END,
       i.outcome,
       CASE WHEN i.outcome = 'failed' THEN 'validation_error' END,
       CASE WHEN i.outcome = 'failed' AND i.entity_type = 'film'
                THEN (ARRAY['tmdb_low_confidence', 'tmdb_needs_review', 'tmdb_no_results'])[1 + mod(e.id, 3)]
            WHEN i.outcome = 'failed' THEN 'missing_field:starts_at'
            WHEN i.outcome = 'skipped_expected' AND mod(j, 2) = 0 THEN 'film_not_matched:tmdb_low_confidence'
            WHEN i.outcome = 'skipped_expected' THEN 'duplicate_in_unit' END,
       e.ended_at
FROM task_executions e
CROSS JOIN LATERAL (
    SELECT j,
           CASE WHEN e.task_id = 'movie_details' THEN 'film' ELSE 'showtime' END AS entity_type,
           CASE WHEN e.task_id = 'movie_details'
                THEN CASE WHEN (e.counts ->> 'matched')::int = 1 THEN 'created' ELSE 'failed' END
                WHEN j <= (e.counts ->> 'created')::int THEN 'created'
                WHEN j <= (e.counts ->> 'created')::int + (e.counts ->> 'updated')::int THEN 'updated'
                WHEN j <= (e.counts ->> 'showtimes')::int - (e.counts ->> 'failed')::int
                    THEN 'skipped_expected'
                ELSE 'failed' END AS outcome
    FROM generate_series(1, CASE WHEN e.task_id = 'movie_details' THEN 1
                                 ELSE (e.counts ->> 'showtimes')::int END) AS j
) i
WHERE e.id >= %(first)s AND e.id < %(last)s AND e.state = %(success)s
  AND e.task_id = ANY(%(item_tasks)s) AND NOT e.silent
""")


_STATES = {
    "success": SUCCESS,
    "failed": FAILED,
    "retrying": RETRYING,
    "skipped": SKIPPED,
    "upstream_failed": UPSTREAM_FAILED,
}


def _functions_sql(shape: StoreShape) -> sql.Composed:
    step = shape.retryable // shape.retries
    constants: dict[str, Any] = {
        "units": shape.units,
        "films": shape.films,
        "retryable": shape.retryable,
        "retries": shape.retries,
        "third": shape.third_tries,
        "step": step,
        "exhausted": EXHAUSTED,
        "unit_failed": UNIT_FAILED,
        "unit_skipped": UNIT_SKIPPED,
        "unit_silent": UNIT_SILENT,
        "film_failed": FILM_FAILED,
        "batch_failed": BATCH_FAILED,
        **_STATES,
    }
    return _FUNCTIONS.format(**{k: sql.Literal(v) for k, v in constants.items()})


def _error_arrays() -> dict[str, list[str]]:
    """The weighted error list as arrays indexed 1..total weight (one entry per unit of weight)."""
    expanded = [e for e in ERRORS for _ in range(e[3])]
    return {
        "err_categories": [c for c, _, _, _ in expanded],
        "err_types": [t for _, t, _, _ in expanded],
        "err_messages": [m for _, _, m, _ in expanded],
        # Messages differ only in the URL, which normalization replaces: one fingerprint per error.
        "err_fingerprints": [fingerprint(c, t, m.format(url=_SAMPLE_URL)) for c, t, m, _ in expanded],
    }


def _base_params(shape: StoreShape, now: datetime) -> dict[str, Any]:
    span_s = shape.days * 86400 - END_MARGIN_S
    return {
        "per_run": shape.rows_per_run,
        "tis": shape.task_instances,
        "retries": shape.retries,
        "retryable": shape.retryable,
        "step": shape.retryable // shape.retries,
        "scrapers": shape.scrapers,
        "units": shape.units,
        "films": shape.films,
        "start": (now - timedelta(days=shape.days)).timestamp(),
        # Seconds between two runs of one scraper; scrapers are staggered inside that interval.
        "interval": span_s / shape.runs_per_scraper,
        "retry_delay": RETRY_DELAY_S,
        "not_matched": FILM_NOT_MATCHED,
        "unit_tasks": list(UNIT_TASKS),
        "batch_tasks": list(BATCH_TASKS),
        "silent_reasons": list(SILENT_REASONS),
        "unit_skip_reasons": list(UNIT_SKIP_REASONS),
        "error_weight": sum(e[3] for e in ERRORS),
        **_STATES,
        **_error_arrays(),
    }


def _plan_items(cur: psycopg.Cursor, shape: StoreShape, params: dict[str, Any]) -> dict[str, Any]:
    """Showtimes per successful batch (and which batches get one more) for exactly item_outcomes."""
    whole = {**params, "first": 0, "last": shape.executions}
    films, batches = cur.execute(_ITEM_PLAN, whole).fetchone()
    if batches == 0 or shape.item_outcomes - films < batches:
        raise ValueError(f"{shape.item_outcomes} items cannot cover {films} films and {batches} batches")
    per_batch, extra = divmod(shape.item_outcomes - films, batches)
    hb, hr = (None, None)
    if extra:
        hb, hr = cur.execute(_EXTRA_THRESHOLD, {**whole, "extra": extra}).fetchone()
    return {"per_batch": per_batch, "extra": extra, "hb": hb, "hr": hr}


class _Phase:
    """Times one load phase and logs its start, progress and end."""

    def __init__(self, seconds: dict[str, float], name: str, log: Log) -> None:
        self.seconds, self.name, self.log = seconds, name, log
        self.started = time.perf_counter()
        log(f"{name} ...")

    def progress(self, message: str) -> None:
        self.log(f"  {message} ({time.perf_counter() - self.started:.0f} s)")

    def done(self) -> None:
        self.seconds[self.name] = time.perf_counter() - self.started
        self.log(f"{self.name}: {self.seconds[self.name]:.1f} s")


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, total)) for lo in range(0, total, size)]


def generate(dsn: str, shape: StoreShape, *, now: datetime | None = None, log: Log = print) -> GeneratedStore:
    """Fill the empty, migrated store at ``dsn``; build the rollups; VACUUM ANALYZE; CHECKPOINT."""
    shape.validate()
    now = now or datetime.now(UTC)
    seconds: dict[str, float] = {}
    # statement_timeout 0: a load statement runs for minutes. synchronous_commit off and a large
    # work_mem only change how fast this session loads, not what is stored or later measured.
    with connect(dsn, statement_timeout_ms=0) as conn, conn.cursor(row_factory=tuple_row) as cur:
        if cur.execute("SELECT EXISTS (SELECT 1 FROM task_executions)").fetchone()[0]:
            raise ValueError("the store already has executions: generate into an empty store")
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET work_mem = '512MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute(_functions_sql(shape))
        params = _base_params(shape, now)

        phase = _Phase(seconds, "plan item counts", log)
        params |= _plan_items(cur, shape, params)
        phase.done()

        phase = _Phase(seconds, "insert task_executions", log)
        with dag_runs.bulk_load(conn):  # the runs are counted once, after the last chunk
            for lo, hi in _chunks(shape.executions, CHUNK_ROWS):
                cur.execute(_INSERT_EXECUTIONS, {**params, "first": lo, "last": hi})
                phase.progress(f"task_executions {hi:,}/{shape.executions:,}")
        # Ids were given explicitly (id = row number + 1): move the sequence past them.
        cur.execute("SELECT setval(pg_get_serial_sequence('task_executions', 'id'), %s)", (shape.executions,))
        phase.done()

        phase = _Phase(seconds, "insert item_outcomes", log)
        items_params = {
            "success": SUCCESS,
            "cinema_batch": BATCH_TASKS[0],
            "item_tasks": ["movie_details", *BATCH_TASKS],
        }
        for lo, hi in _chunks(shape.executions, CHUNK_ROWS // 2):
            cur.execute(_INSERT_ITEMS, {**items_params, "first": lo + 1, "last": hi + 1})
            phase.progress(f"item_outcomes of executions {hi:,}/{shape.executions:,}")
        phase.done()

        first_day, last_day = (now - timedelta(days=shape.days)).date(), now.date()
        phase = _Phase(seconds, "rollups", log)
        # The store's own rollup code, ten days per statement so progress shows.
        day = first_day
        while day <= last_day:
            chunk_end = min(day + timedelta(days=9), last_day)
            rollup.refresh(conn, day, chunk_end)
            phase.progress(f"rolled up {day} .. {chunk_end}")
            day = chunk_end + timedelta(days=1)
        phase.done()

        phase = _Phase(seconds, "vacuum analyze + checkpoint", log)
        # As autovacuum would have left an older store (visibility map, hint bits, statistics);
        # doing it now also keeps autovacuum and hint-bit writes out of the measurements.
        for table in ("task_executions", "item_outcomes", "execution_daily", "item_daily", "dag_runs"):
            cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        cur.execute("CHECKPOINT")
        phase.done()

        counts = cur.execute(
            "SELECT (SELECT count(*) FROM task_executions), (SELECT count(*) FROM item_outcomes),"
            " (SELECT count(*) FROM execution_daily), (SELECT count(*) FROM item_daily)"
        ).fetchone()
    return GeneratedStore(shape, *counts, first_day=first_day, last_day=last_day, seconds=seconds)


def existing(dsn: str, shape: StoreShape) -> GeneratedStore | None:
    """The store at ``dsn`` as an earlier ``generate`` left it (None: no executions yet), so a store kept
    under ``BENCH_PG_DSN`` is measured again without generating it anew; no phase timings."""
    # statement_timeout 0: counting 10 M rows can take longer than a panel request may.
    with connect(dsn, statement_timeout_ms=0) as conn, conn.cursor(row_factory=tuple_row) as cur:
        found = cur.execute(
            "SELECT (SELECT count(*) FROM task_executions), (SELECT count(*) FROM item_outcomes),"
            " (SELECT count(*) FROM execution_daily), (SELECT count(*) FROM item_daily),"
            " (SELECT min(day) FROM execution_daily), (SELECT max(day) FROM execution_daily)"
        ).fetchone()
    executions, items, execution_daily, item_daily, first_day, last_day = found
    if not executions:
        return None
    return GeneratedStore(shape, executions, items, execution_daily, item_daily, first_day, last_day)
