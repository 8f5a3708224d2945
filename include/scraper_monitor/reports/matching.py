"""How well do films match TMDB? Per scraper and UTC day the matched-film rate against the
``matching:`` target of the SLO file, how the matches were found, the films that fail to match most,
and the matches barely above the line (the question seed 001 was written to answer: which films
are not matching, and why).

Read from the film item outcomes of ``movie_details`` (migration 0010 adds the match columns). A
film counts once per DAG run, by its latest try; a film whose ``movie_details`` failed (TMDB down)
has no item and is not counted: that is a task failure, in the SLOs. The day is the UTC date the
film was matched (``recorded_at``, its try's end). Films recorded before migration 0010 count in the
rates but have no title, confidence or method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from scraper_monitor import slo
from scraper_monitor.reports.base import Visible, check_range

log = logging.getLogger(__name__)

#: Raw rows are what this reads, and retention keeps them 90 days by default.
MAX_DAYS = 90
MAX_LIMIT = 500
NOT_MATCHED = "failed"  # a film item's outcome when TMDB did not match it (scrapers.common_steps)
NO_METHOD = "not recorded"


class MatchDay(BaseModel):
    day: date
    films: int
    matched: int
    matched_rate: float | None
    status: str = Field(description="met, below_target or insufficient_data (too few films)")


class ScraperMatching(BaseModel):
    scraper: str
    films: int
    matched: int
    matched_rate: float | None
    methods: dict[str, int] = Field(description="matched films by how TMDB found them")
    days: list[MatchDay]


class FailingFilm(BaseModel):
    scraper: str
    external_id: str | None
    title: str | None = Field(description="the listing's title, as last seen")
    failures: int = Field(description="runs in the window where it did not match")
    last_reason: str | None
    last_confidence: float | None
    last_candidate: str | None = Field(description="TMDB's best candidate, the one that fell short")
    last_seen: datetime


class LowConfidenceMatch(BaseModel):
    scraper: str
    external_id: str | None
    title: str | None
    confidence: float
    method: str | None
    tmdb_id: int | None
    tmdb_title: str | None
    runs: int = Field(description="runs in the window that matched it this way")
    last_seen: datetime


class MatchingOut(BaseModel):
    days: int
    first_day: date
    last_day: date
    target_matched_rate: float
    min_films: int
    low_confidence_below: float
    config_error: str | None = Field(description="the SLO file is invalid: the defaults were used")
    scrapers: list[ScraperMatching]
    failing: list[FailingFilm] = Field(description="films not matched, most often first")
    low_confidence: list[LowConfidenceMatch] = Field(description="matches below low_confidence_below")


def configured_target() -> tuple[slo.MatchingSlo, str | None]:
    """The SLO file's ``matching:`` section; the defaults (and why) when the file is invalid, so a
    typo in it degrades the answer instead of failing it."""
    try:
        return slo.load_config().matching, None
    except slo.SloConfigError as exc:
        log.warning("scraper monitor: SLO config: %s", exc)
        return slo.DEFAULT_MATCHING, str(exc)


# The latest try's item of each film in each run, in the window. Fixed text; values are parameters.
_FILMS = sql.SQL("""
WITH films AS (
    SELECT DISTINCT ON (e.dag_id, e.run_id, i.external_id)
           i.scraper, i.external_id, i.outcome, i.reason, i.film_title, i.match_confidence,
           i.match_method, i.tmdb_id, i.tmdb_title, i.recorded_at
    FROM item_outcomes i JOIN task_executions e ON e.id = i.execution_id
    WHERE i.entity_type = 'film' AND i.recorded_at >= %(since)s AND i.recorded_at < %(until)s
      AND (%(scraper)s::text IS NULL OR i.scraper = %(scraper)s)
      AND (%(visible)s::text[] IS NULL OR e.dag_id = ANY(%(visible)s))
    ORDER BY e.dag_id, e.run_id, i.external_id, e.try_number DESC, i.recorded_at DESC
)
""")

_DAILY = _FILMS + sql.SQL(
    """
SELECT scraper, (recorded_at AT TIME ZONE 'UTC')::date AS day, count(*) AS films,
       count(*) FILTER (WHERE outcome <> %(not_matched)s) AS matched
FROM films GROUP BY 1, 2 ORDER BY 1, 2
"""
)

_METHODS = _FILMS + sql.SQL(
    """
SELECT scraper, coalesce(match_method, %(no_method)s) AS method, count(*) AS films
FROM films WHERE outcome <> %(not_matched)s GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2
"""
)

_FAILING = _FILMS + sql.SQL(
    """
SELECT scraper, external_id, count(*) AS failures,
       (array_agg(film_title ORDER BY recorded_at DESC))[1] AS title,
       (array_agg(reason ORDER BY recorded_at DESC))[1] AS last_reason,
       (array_agg(match_confidence ORDER BY recorded_at DESC))[1] AS last_confidence,
       (array_agg(tmdb_title ORDER BY recorded_at DESC))[1] AS last_candidate,
       max(recorded_at) AS last_seen
FROM films WHERE outcome = %(not_matched)s
GROUP BY scraper, external_id
ORDER BY failures DESC, last_seen DESC, scraper, external_id
LIMIT %(limit)s
"""
)

_LOW = _FILMS + sql.SQL(
    """
SELECT scraper, external_id, film_title AS title, match_confidence AS confidence,
       match_method AS method, tmdb_id, tmdb_title, count(*) AS runs, max(recorded_at) AS last_seen
FROM films WHERE outcome <> %(not_matched)s AND match_confidence < %(low)s
GROUP BY scraper, external_id, film_title, match_confidence, match_method, tmdb_id, tmdb_title
ORDER BY confidence, last_seen DESC, scraper, external_id
LIMIT %(limit)s
"""
)


def _params(
    since: datetime, until: datetime, scraper: str | None, visible: Visible, **more: Any
) -> dict[str, Any]:
    return {
        "since": since,
        "until": until,
        "scraper": scraper,
        "visible": sorted(visible) if visible is not None else None,
        "not_matched": NOT_MATCHED,
        "no_method": NO_METHOD,
        **more,
    }


def _rows(conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def rate(matched: int, films: int) -> float | None:
    return matched / films if films else None


def matching(
    conn: psycopg.Connection,
    days: int,
    *,
    target: slo.MatchingSlo,
    config_error: str | None = None,
    scraper: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
    visible: Visible = None,
) -> MatchingOut:
    """The last ``days`` UTC days, today included: rates per scraper and day, the ``limit`` films
    that failed most and the ``limit`` weakest matches."""
    check_range("days", days, 1, MAX_DAYS)
    check_range("limit", limit, 1, MAX_LIMIT)
    now = now or datetime.now(UTC)
    last_day = now.astimezone(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(), UTC)
    params = _params(since, now, scraper, visible, limit=limit, low=target.low_confidence_below)

    per_scraper: dict[str, list[MatchDay]] = {}
    for row in _rows(conn, _DAILY, params):
        per_scraper.setdefault(row["scraper"], []).append(
            MatchDay(
                day=row["day"],
                films=row["films"],
                matched=row["matched"],
                matched_rate=rate(row["matched"], row["films"]),
                status=slo.classify_matched(rate(row["matched"], row["films"]), row["films"], target),
            )
        )
    methods: dict[str, dict[str, int]] = {}
    for row in _rows(conn, _METHODS, params):
        methods.setdefault(row["scraper"], {})[row["method"]] = row["films"]
    scrapers = []
    for name, day_rows in sorted(per_scraper.items()):
        films = sum(d.films for d in day_rows)
        matched = sum(d.matched for d in day_rows)
        scrapers.append(
            ScraperMatching(
                scraper=name,
                films=films,
                matched=matched,
                matched_rate=rate(matched, films),
                methods=methods.get(name, {}),
                days=day_rows,
            )
        )
    return MatchingOut(
        days=days,
        first_day=first_day,
        last_day=last_day,
        target_matched_rate=target.target_matched_rate,
        min_films=target.min_films,
        low_confidence_below=target.low_confidence_below,
        config_error=config_error,
        scrapers=scrapers,
        failing=[FailingFilm(**row) for row in _rows(conn, _FAILING, params)],
        low_confidence=[LowConfidenceMatch(**row) for row in _rows(conn, _LOW, params)],
    )


@dataclass(frozen=True)
class MatchedRate:
    """One scraper's films in a window (the matched-rate alert), with its most frequent failure."""

    scraper: str
    films: int
    matched: int
    matched_rate: float | None
    top_title: str | None  # the film that failed most in the window
    top_failures: int
    top_reason: str | None


_WINDOW = _FILMS + sql.SQL(
    """
, per_film AS (
    SELECT scraper, external_id, count(*) AS failures,
           (array_agg(coalesce(film_title, external_id) ORDER BY recorded_at DESC))[1] AS title,
           (array_agg(reason ORDER BY recorded_at DESC))[1] AS reason, max(recorded_at) AS last_seen
    FROM films WHERE outcome = %(not_matched)s GROUP BY scraper, external_id
), top AS (
    SELECT DISTINCT ON (scraper) scraper, title, failures, reason
    FROM per_film ORDER BY scraper, failures DESC, last_seen DESC, external_id
)
SELECT f.scraper, count(*) AS films, count(*) FILTER (WHERE f.outcome <> %(not_matched)s) AS matched,
       min(top.title) AS top_title, coalesce(min(top.failures), 0) AS top_failures,
       min(top.reason) AS top_reason
FROM films f LEFT JOIN top USING (scraper)
GROUP BY f.scraper ORDER BY f.scraper
"""
)


def matched_rates(conn: psycopg.Connection, *, since: datetime, until: datetime) -> list[MatchedRate]:
    """Per scraper, its films in ``[since, until)`` and how many matched."""
    rows = _rows(conn, _WINDOW, _params(since, until, None, None))
    return [MatchedRate(matched_rate=rate(r["matched"], r["films"]), **r) for r in rows]
