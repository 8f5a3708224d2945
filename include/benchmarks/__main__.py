"""python -m benchmarks [SECTION ...]: run the benchmark sections and write docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks.report import Report
from local_stack.paths import project_root

# Order matters: the chain section compares against the write cost measured before it.
SECTIONS = ["summary_writes", "chains", "dag_parse", "panels"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("sections", nargs="*", choices=SECTIONS, default=SECTIONS, metavar="SECTION")
    args = parser.parse_args(argv)
    root = project_root()
    command = "make bench" if args.sections == SECTIONS else f"python -m benchmarks {' '.join(args.sections)}"
    report = Report(root, command=command)
    for name in args.sections:
        print(f"== {name}", flush=True)
        report.current = name
        importlib.import_module(f"benchmarks.{name}").run(report)
    report.write(root / "docs" / "BENCHMARKS.md", SECTIONS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
