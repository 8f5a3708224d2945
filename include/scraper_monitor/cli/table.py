"""Output helpers shared by the commands: aligned tables, durations, state colours, JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from scraper_monitor import settings
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS, UPSTREAM_FAILED

_RESET = "\033[0m"
_STATE_COLOURS: dict[str, str] = {
    SUCCESS: "\033[32m",  # green
    FAILED: "\033[31m",  # red
    RETRYING: "\033[33m",  # yellow
    SKIPPED: "\033[36m",  # cyan
    UPSTREAM_FAILED: "\033[35m",  # magenta
}
MESSAGE_PREVIEW_CHARS = 80


def colour_enabled() -> bool:
    """Colour only on a terminal: pipes, files and tests get plain text (NO_COLOR opts out)."""
    return settings.colour_wanted(sys.stdout.isatty())


def state_painter(enabled: bool) -> Callable[[str], str]:
    def paint(state: str) -> str:
        colour = _STATE_COLOURS.get(state)
        return f"{colour}{state}{_RESET}" if enabled and colour else state

    return paint


def render(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[str] = (),
    styles: Mapping[str, Callable[[str], str]] | None = None,
) -> str:
    """Columns padded to their widest cell; ``right`` columns right-aligned (numbers).

    ``styles`` (e.g. colour) apply after padding, so escape codes never disturb the alignment.
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    styles = styles or {}

    def line(cells: Sequence[str], styled: bool) -> str:
        out = []
        for header, cell, width in zip(headers, cells, widths, strict=True):
            pad = " " * (width - len(cell))
            text = styles[header](cell) if styled and header in styles else cell
            out.append(pad + text if header in right else text + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers, False), *(line(r, True) for r in rows)])


def duration(ms: float | None) -> str:
    """Under a second in ms, else seconds with two decimals (what the origin's CLI printed)."""
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def timestamp(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def percent(rate: float | None) -> str:
    """A fraction as a percentage; None means no data, never 0 %."""
    return "-" if rate is None else f"{rate:.1%}"


def preview(text: str | None, limit: int = MESSAGE_PREVIEW_CHARS) -> str:
    """One line (newlines and runs of spaces collapsed), cut to ``limit`` characters."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def task_label(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON with ISO dates; non-ASCII (Polish titles) kept readable."""
    return json.dumps(value, indent=indent, default=_json_default, ensure_ascii=False)


def print_json(value: Any) -> None:
    print(dumps(value))
