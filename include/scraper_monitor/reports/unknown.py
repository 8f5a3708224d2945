"""Which failures does no step know yet, and what would they be? The most frequent ``unknown_error``
fingerprints with an example and a suggested category: where a team teaches the categorizer (accept
a suggestion with ``scraper-monitor errors accept``, which adds a rule to the team's rules file)."""

from __future__ import annotations

import re
from datetime import datetime

import psycopg
from pydantic import BaseModel, Field

from scraper_monitor.category import UNKNOWN_ERROR, Categorization, categorize
from scraper_monitor.reports.base import Visible, dict_rows
from scraper_monitor.reports.errors import TOP_ERRORS, top_errors
from scraper_monitor.rules import RuleSet


class Suggestion(BaseModel):
    category: str
    error_type: str
    confidence: float | None = Field(description="the reading step's confidence; null when a rule decides")
    cues: list[str] = Field(description="the words the reading step went by")
    decided: bool = Field(
        description="true when the categorizer files the example so today (a rule added since, or a "
        "reading above its threshold); false for a guess below the threshold"
    )


class UnknownGroupOut(BaseModel):
    fingerprint: str | None
    count: int
    error_type: str | None
    example_message: str | None
    scrapers: list[str]
    last_seen: datetime | None
    suggestion: Suggestion | None = Field(
        description="null when nothing in the message speaks for a category"
    )


class UnknownOut(BaseModel):
    hours: int
    groups: list[UnknownGroupOut]


def suggest(result: Categorization) -> Suggestion | None:
    """What ``result`` says a person could file its message under."""
    if result.category != UNKNOWN_ERROR:
        reading = result.reading if result.matched_by.startswith("reading:") else None
        return Suggestion(
            category=result.category,
            error_type=result.error_type,
            confidence=reading.confidence if reading else None,
            cues=list(reading.cues) if reading else [],
            decided=True,
        )
    if result.reading is None or result.reading.category == UNKNOWN_ERROR:
        return None
    return Suggestion(
        category=result.reading.category,
        error_type=result.reading.error_type,
        confidence=result.reading.confidence,
        cues=list(result.reading.cues),
        decided=False,
    )


def unknown_errors(
    conn: psycopg.Connection,
    hours: int,
    *,
    scraper: str | None = None,
    limit: int = TOP_ERRORS,
    now: datetime | None = None,
    visible: Visible = None,
    rules: RuleSet | None = None,
) -> UnknownOut:
    """The ``limit`` most frequent unknown_error fingerprints of the last ``hours``, each with the
    category its latest message reads as (``rules`` as in categorize)."""
    groups = top_errors(
        conn, hours=hours, limit=limit, scraper=scraper, now=now, visible=visible, category=UNKNOWN_ERROR
    )
    return UnknownOut(
        hours=hours,
        groups=[
            UnknownGroupOut(
                fingerprint=group.fingerprint,
                count=group.count,
                error_type=group.error_type,
                example_message=group.example_message,
                scrapers=group.scrapers,
                last_seen=group.last_seen,
                suggestion=suggest(categorize(group.example_message, rules=rules))
                if group.example_message
                else None,
            )
            for group in groups
        ],
    )


class FingerprintOut(BaseModel):
    """One fingerprint of the store, found by its first characters (as the tables show them)."""

    fingerprint: str
    count: int
    error_category: str | None
    error_type: str | None
    example_message: str | None


_FINGERPRINT = re.compile(r"[0-9a-f]{6,16}")

_FIND_SQL = """
SELECT fingerprint, count(*) AS count,
       (array_agg(error_category ORDER BY id DESC))[1] AS error_category,
       (array_agg(error_type ORDER BY id DESC))[1] AS error_type,
       (array_agg(error_message ORDER BY id DESC))[1] AS example_message
FROM task_executions
WHERE fingerprint LIKE %(prefix)s || '%%'
GROUP BY fingerprint
ORDER BY fingerprint
LIMIT 2
"""


def find_fingerprint(conn: psycopg.Connection, prefix: str) -> FingerprintOut:
    """The one stored fingerprint starting with ``prefix`` (raises ValueError: none, or several)."""
    if not _FINGERPRINT.fullmatch(prefix):
        raise ValueError(f"a fingerprint is 6 to 16 characters of 0-9 and a-f, got {prefix!r}")
    found = [FingerprintOut(**row) for row in dict_rows(conn, _FIND_SQL, {"prefix": prefix})]
    if not found:
        raise ValueError(f"no stored failure has a fingerprint starting with {prefix!r}")
    if len(found) > 1:
        raise ValueError(f"several fingerprints start with {prefix!r}: give more characters")
    return found[0]
