"""python -m benchmarks [SECTION ...]: run the benchmark sections and write docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks.report import Report
from local_stack.paths import project_root

# Order matters: the chain section compares against the write cost measured before it.
SECTIONS = [
    "summary_writes",
    "categorize",
    "chains",
    "dag_parse",
    "discovery",
    "panels",
    "page_load",
    "panel_load",
]


def parse_sections(argv: list[str] | None = None) -> list[str]:
    """The sections to run, in their order; all of them when none is named."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    # Checked here, not with choices=: Python 3.11's argparse rejects an empty "*" list against them.
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)}")
    named = parser.parse_args(argv).sections
    if unknown := [name for name in named if name not in SECTIONS]:
        parser.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in named] if named else list(SECTIONS)


def main(argv: list[str] | None = None) -> int:
    sections = parse_sections(argv)
    root = project_root()
    command = "make bench" if sections == SECTIONS else f"python -m benchmarks {' '.join(sections)}"
    report = Report(root, command=command)
    with report.stack:  # page_load reads the store panels generated: it lives until the last section
        for name in sections:
            print(f"== {name}", flush=True)
            report.current = name
            importlib.import_module(f"benchmarks.{name}").run(report)
    report.write(root / "docs" / "BENCHMARKS.md", SECTIONS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
