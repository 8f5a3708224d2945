"""The city of a run: a dimension of every summary, filter, trend, SLO status and metric.

The two chains spell a city differently in their params: Kino Krakow takes ``city``, a slug such as
``krakow``; Cinema City takes ``city_name`` as its API spells it, "Kraków". Both become one key (the
slug, ``scrapers.text.slug``), so a city's numbers add up whichever source scraped it. A run without
either param (another DAG, an old row) has no city (None) and still shows everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scrapers.text import slug

#: The stored key's bound: the column is varchar(100) (migration 0008).
CITY_MAX_CHARS = 100
#: The params a city is read from, in order: the slug first, then the display spelling.
CITY_PARAMS: tuple[str, ...] = ("city", "city_name")
# What a filter accepts before it is turned into the key: letters of any script, digits, spaces,
# '-', '_' and '.' ("Kraków", "nowy sacz", "krakow"); anything else is a mistake, not a city.
_FILTER_INPUT = re.compile(r"[\w .-]{1,100}")


def city_key(name: str) -> str | None:
    """The key of a city name, bounded; None when nothing of it is left (an empty or symbol-only name)."""
    return slug(name)[:CITY_MAX_CHARS].strip("-") or None


def city_of(params: Mapping[str, Any] | None) -> str | None:
    """The city of a run from its params (or conf): ``city``, else ``city_name``; None without either."""
    for name in CITY_PARAMS:
        value = (params or {}).get(name)
        if isinstance(value, str) and (key := city_key(value)) is not None:
            return key
    return None


def parse_city(value: str) -> str:
    """A city filter as typed (``--city Kraków``, ``?city=krakow``) -> its key; ValueError for
    anything that is not a city name."""
    if not isinstance(value, str) or not _FILTER_INPUT.fullmatch(value) or (key := city_key(value)) is None:
        raise ValueError(
            f"city must be a city name or key (letters, digits, spaces, '-', up to {CITY_MAX_CHARS}); "
            f"got {value!r}"
        )
    return key
