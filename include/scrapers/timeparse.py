"""Local wall-clock times of Polish sites, as timezone-aware ISO strings."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw_datetime(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=WARSAW)


def parse_local_iso(value: str) -> datetime:
    """An ISO-8601 timestamp; one without an offset is Warsaw wall-clock time (Cinema City's format).

    Raises ValueError on anything else.
    """
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=WARSAW)
