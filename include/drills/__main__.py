"""python -m drills [NAME ...]: run the reliability drills (all when none is named) and write
docs/RELIABILITY.md. Exit 1 when any drill lost or duplicated something, failed a task or an alert,
or broke another of its promises."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from drills.report import write
from drills.runner import DRILLS, run_drills
from local_stack.paths import project_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drills", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(DRILLS)}")
    names = parser.parse_args(argv).names
    if unknown := [n for n in names if n not in DRILLS]:
        parser.error(f"unknown drill {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
    # The alert drill runs the evaluator task's body, which imports Airflow: give it a home of its own
    # rather than the user's ~/airflow (the private stack has its own).
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="drills-airflow-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    chosen = names or list(DRILLS)
    ran = run_drills(chosen)
    command = "make drills" if not names else f"python -m drills {' '.join(chosen)}"
    write(project_root() / "docs" / "RELIABILITY.md", command, ran, project_root())
    failed = [r.drill.name for r in ran if not r.outcome.ok]
    print(
        f"\n{len(ran) - len(failed)} of {len(ran)} drills kept every promise"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
