"""Which site serves a city: Kino Krakow is a family of sites with the same HTML.

The real family serves Kraków at https://www.kino.krakow.pl and every other city at
https://{city}.repertuary.pl. Base URLs are configuration (the ``kino_krakow_site`` connection), never
code: ``city_url_template`` places any city, ``city_urls`` lists the exceptions, and a connection
with neither is the one site of the default city, as before cities existed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scrapers.errors import SiteNotConfigured

DEFAULT_CITY = "krakow"
#: A city slug: lowercase ASCII words joined by "-" ("krakow", "bielsko-biala"). It becomes a
#: subdomain or a path segment, so nothing else may pass. The DAG's Param schema uses it too.
CITY_SLUG_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
CITY_SLUG_MAX = 40
_CITY_SLUG = re.compile(CITY_SLUG_PATTERN)


def check_city_slug(city: Any) -> str:
    if not isinstance(city, str) or len(city) > CITY_SLUG_MAX or not _CITY_SLUG.fullmatch(city):
        raise SiteNotConfigured(
            f"city {city!r} is not a city slug: lowercase ASCII letters and digits, words joined by '-'"
            f" (e.g. krakow, warszawa), at most {CITY_SLUG_MAX} characters",
            field="city",
        )
    return city


def city_base_url(city: str, *, host_url: str, extras: Mapping[str, Any], source: str) -> str:
    """The base URL of ``city``'s site: ``city_urls[city]``, else ``city_url_template`` with
    ``{city}`` filled in, else (a connection with neither) ``host_url`` for the default city only.

    ``source`` names the connection in errors; a city it cannot place raises SiteNotConfigured."""
    check_city_slug(city)
    exceptions = extras.get("city_urls") or {}
    template = extras.get("city_url_template")
    if not isinstance(exceptions, Mapping) or not all(
        isinstance(url, str) and url.strip() for url in exceptions.values()
    ):
        raise SiteNotConfigured(
            f"{source}: extra city_urls must map city slugs to base URLs, got {exceptions!r}",
            field="city_urls",
        )
    if template is not None and (not isinstance(template, str) or "{city}" not in template):
        raise SiteNotConfigured(
            f"{source}: extra city_url_template must be a URL containing {{city}}, got {template!r}",
            field="city_url_template",
        )
    if city in exceptions:
        return str(exceptions[city]).rstrip("/")
    if template is not None:
        return template.replace("{city}", city).rstrip("/")
    if not exceptions and city == DEFAULT_CITY:
        return host_url
    placed = ", ".join(sorted(exceptions)) or f"only {DEFAULT_CITY}, its host"
    raise SiteNotConfigured(
        f"{source}: city {city!r} is not configured: the connection has no city_url_template and"
        f" its city_urls place {placed}",
        field="city",
    )
