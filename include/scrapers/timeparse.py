"""Local wall-clock times and days of the sites (Polish sites live on Warsaw time)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")
DEFAULT_SITE_TIMEZONE = "Europe/Warsaw"


def site_day(moment: datetime, timezone: str = DEFAULT_SITE_TIMEZONE) -> date:
    """The site's date at ``moment``: what the site calls "today". At 23:30 UTC it is already the next
    day in Warsaw, and asking a Polish site for the UTC date asks it for yesterday."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def warsaw_datetime(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=WARSAW)


def parse_local_iso(value: str) -> datetime:
    """An ISO-8601 timestamp; one without an offset is Warsaw wall-clock time (Cinema City's format).

    Raises ValueError on anything else.
    """
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=WARSAW)
