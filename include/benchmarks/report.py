"""Collects benchmark sections and writes docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def git_revision(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


MARKER = "<!-- section: {} -->"


def _existing_sections(path: Path) -> dict[str, str]:
    """The sections of an earlier BENCHMARKS.md, by name, so a partial run keeps the others."""
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    for chunk in path.read_text().split("<!-- section: ")[1:]:
        name, _, body = chunk.partition(" -->")
        found[name] = body.strip() + "\n"
    return found


@dataclass
class Report:
    root: Path
    command: str = "make bench"
    #: The section being measured (set by the runner before each section's run()).
    current: str = ""
    sections: dict[str, str] = field(default_factory=dict)
    #: Figures one section measures and a later one compares against (same run).
    figures: dict[str, float] = field(default_factory=dict)
    #: What one section prepared and a later one reuses (the generated panel store), by key; cleaned up
    #: by ``stack`` when the run ends.
    shared: dict[Any, Any] = field(default_factory=dict)
    stack: ExitStack = field(default_factory=ExitStack)

    def add(self, title: str, body: str) -> None:
        when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        stamp = f"_Measured by `{self.command}` on {when}, revision {git_revision(self.root)}._"
        self.sections[self.current] = f"## {title}\n\n{stamp}\n\n{body.strip()}\n"
        print(f"\n## {title}\n{body.strip()}\n", flush=True)

    def write(self, path: Path, order: list[str]) -> None:
        sections = _existing_sections(path) | self.sections
        header = (
            "# Benchmarks\n\n"
            f"Machine: {machine()}.\n\n"
            "Each section says which command measured it; the figures and ratios inside a section come from\n"
            "that one run. `make bench` runs every section; `python -m benchmarks SECTION` re-measures one.\n"
        )
        body = "\n".join(f"{MARKER.format(name)}\n{sections[name]}" for name in order if name in sections)
        path.write_text(header + "\n" + body)
        print(f"wrote {path}", file=sys.stderr)
