"""Inline SVG charts rendered on the server: no chart library, no CDN, nothing to load in the iframe.

Colours are CSS classes (``s-<name>``, defined in static/monitor.css), so a chart matches the badges
of the same category. Every label is escaped here because the SVG is inserted as markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_CLASS_SAFE = re.compile(r"[^a-z0-9_-]")


def css_class(name: str) -> str:
    """A class name for a category/scraper/state: scraped or user-defined names must not inject."""
    return _CLASS_SAFE.sub("_", name.lower())


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    css: str
    note: str = ""  # e.g. "60%", shown after the value
    href: str | None = None  # a relative link, e.g. the same panel filtered to this category


def bar_chart(bars: Sequence[Bar], *, title: str) -> Markup:
    """Horizontal bars, one row per label, scaled to the largest value.

    The view box is about as wide as the half-width card it sits in, so 12px text stays 12px.
    """
    row_h, label_w, value_w, width = 30, 150, 80, 520
    plot_w = width - label_w - value_w
    height = row_h * len(bars) + 8
    top = max((b.value for b in bars), default=0) or 1
    parts = [
        f'<svg class="chart bar-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * row_h
        w = max(2.0, plot_w * bar.value / top) if bar.value else 0
        label, note = escape(bar.label), escape(f" ({bar.note})" if bar.note else "")
        group = (
            f'<g class="bar s-{css_class(bar.css)}"><title>{label}: {bar.value}{note}</title>'
            f'<text class="label" x="{label_w - 8}" y="{y + 19}" text-anchor="end">{label}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 19}">{bar.value}{note}</text></g>'
        )
        parts.append(f'<a href="{escape(bar.href)}">{group}</a>' if bar.href else group)
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: Sequence[float | None]  # one per x label; None = no data that day (a gap)


def _nice_ceiling(value: float, *, integer: bool) -> float:
    """The top of the y axis: four equal steps of a round size (1, 2, 2.5, 5 times a power of ten; for
    counts whole steps of 1, 1.5, 2, 3, 5), so gridlines read 0, 5, 10, 15, 20 and never 3.75."""
    if value <= 0:
        return 4 if integer else 1
    quarter = value / 4
    power = 10 ** math.floor(math.log10(quarter))
    for step in (1, 1.5, 2, 3, 5, 10) if integer else (1, 2, 2.5, 5, 10):
        tick = step * power
        if quarter <= tick and (not integer or float(tick).is_integer()):
            return 4 * tick
    return 40 * power


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_max: float | None = None,
    percent: bool = False,
) -> Markup:
    """Lines over days, a y axis of four gridlines and at most ~10 x labels (full-width cards)."""
    width, height, left, right, top, bottom = 1000, 230, 46, 14, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values if v is not None), default=0)
    ceiling = y_max if y_max is not None else _nice_ceiling(peak, integer=not percent)
    n = len(x_labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ceiling)

    def fmt(v: float) -> str:
        return f"{v:.0%}" if percent else f"{v:g}"

    parts = [
        f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">'
    ]
    for k in range(5):
        value = ceiling * k / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{left - 8}" y="{y(value) + 4:.1f}" text-anchor="end">{fmt(value)}</text>'
        )
    # Counted back from the last day, so today always has its label.
    step = max(1, math.ceil(n / 10))
    for i in range(n - 1, -1, -step):
        label = escape(x_labels[i])
        y_text = height - 8
        parts.append(f'<text class="axis" x="{x(i):.1f}" y="{y_text}" text-anchor="middle">{label}</text>')
    for s in series:
        points = [(i, v) for i, v in enumerate(s.values) if v is not None]
        # A gap (None) splits the line, so a day without data is not drawn as a slope.
        segments: list[list[tuple[int, float]]] = []
        for i, v in points:
            if segments and segments[-1][-1][0] == i - 1:
                segments[-1].append((i, v))
            else:
                segments.append([(i, v)])
        parts.append(f'<g class="series s-{css_class(s.css)}">')
        for seg in segments:
            coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in seg)
            parts.append(f'<polyline points="{coords}"/>')
        # Dots carry the exact value as a tooltip; on 90 days they would only blur the line.
        radius = 3 if n <= 31 else 1.5
        for i, v in points:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{radius}">'
                f"<title>{escape(s.name)} · {escape(x_labels[i])}: {fmt(v)}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
