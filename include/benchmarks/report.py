"""Collects benchmark sections and writes docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


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


@dataclass
class Report:
    root: Path
    sections: list[str] = field(default_factory=list)
    #: Figures one section measures and a later one compares against (same run).
    figures: dict[str, float] = field(default_factory=dict)

    def add(self, title: str, body: str) -> None:
        self.sections.append(f"## {title}\n\n{body.strip()}\n")
        print(f"\n## {title}\n{body.strip()}\n", flush=True)

    def write(self, path: Path, command: str) -> None:
        header = (
            "# Benchmarks\n\n"
            f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision "
            f"{git_revision(self.root)}.\n\nMachine: {machine()}.\n\n"
            "All figures below come from that one run; ratios compare numbers measured in it.\n\n"
        )
        path.write_text(header + "\n".join(self.sections))
        print(f"wrote {path}", file=sys.stderr)
