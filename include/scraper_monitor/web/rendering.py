"""Jinja2 rendering: autoescape on for every template, formatting filters, relative links.

Everything shown comes from scraped pages or error messages and is untrusted, so autoescape is on
unconditionally (not only for ``.html``), and only ``charts`` may produce ``Markup``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from scraper_monitor.web.charts import css_class

STATIC_DIR = Path(__file__).parent / "static"

NAV = (
    ("overview", "", "Overview"),
    ("executions", "executions", "Executions"),
    ("errors", "errors", "Errors"),
    ("silent", "silent", "Silent failures"),
    ("runs", "runs", "Chains"),
    ("trends", "trends", "Trends"),
    ("matching", "matching", "Matching"),
    ("discovery", "discovery", "Discovery"),
)

WINDOWS = ((24, "24 h"), (24 * 7, "7 days"), (24 * 30, "30 days"), (24 * 90, "90 days"))


def window_label(hours: int) -> str:
    return dict(WINDOWS).get(hours) or f"{hours} h"


def fmt_duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def fmt_seconds(seconds: float | None) -> str:
    return fmt_duration(None if seconds is None else seconds * 1000)


def fmt_dt(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def fmt_signed_pp(value: float | None) -> str:
    """A change of a rate in percentage points: "+2.1 pp", "−3.0 pp"."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value) * 100:.1f} pp"


def url_part(value: Any) -> str:
    """Quote a path segment: run ids carry ':' and '+', which must survive as one segment."""
    return quote(str(value), safe="")


def query(params: dict[str, Any], **overrides: Any) -> str:
    """A query string from the current filters with some changed; empty values are dropped."""
    merged = {**params, **overrides}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


@cache
def asset_version(name: str) -> str:
    """A content hash for cache busting: assets can be cached without going stale after an upgrade."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("scraper_monitor.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a typo in a template fails the tests instead of rendering blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=fmt_duration,
        seconds=fmt_seconds,
        dt=fmt_dt,
        pct=fmt_pct,
        pp=fmt_signed_pp,
        css=css_class,
        urlpart=url_part,
    )
    env.globals.update(
        nav=NAV, windows=WINDOWS, window_label=window_label, asset_version=asset_version, query=query
    )
    return env


def render(request: Request, template: str, *, root: str, active: str, **context: Any) -> str:
    """Render a page. ``root`` is the relative path back to the app root ("./", "../../"): the app
    lives under a prefix inside Airflow's iframe, so absolute links would break."""
    return environment().get_template(template).render(request=request, root=root, active=active, **context)


def current_params(request: Request) -> dict[str, str]:
    """The current query string, for links that keep the filters (paging, export, windows)."""
    return {k: v for k, v in request.query_params.items() if v}


def page(request: Request, template: str, *, root: str = "./", active: str, **context: Any) -> HTMLResponse:
    """A panel's HTML response, with the current filters at hand for its links."""
    return HTMLResponse(
        render(request, template, root=root, active=active, params=current_params(request), **context)
    )


def render_error(request: Request, *, status: int, title: str, message: str) -> str:
    # Error pages can be at any depth; the depth below the mount gives the way back to the root.
    root_path = request.scope.get("root_path", "")
    inner = request.url.path[len(root_path) :] if request.url.path.startswith(root_path) else ""
    depth = max(inner.count("/") - 1, 0)
    return render(
        request,
        "error.html",
        root="../" * depth or "./",
        active="",
        status=status,
        title=title,
        message=message,
    )
