"""How long each DAG file takes to parse, as the dag-processor does it (a ``make bench`` section).

Each file is parsed in a fresh interpreter with Airflow already imported, like a dag-processor child:
the project's own imports count, Airflow's do not. Airflow's guidance is to keep a file well under
its ``dagbag_import_timeout`` (30 s) and, for a responsive UI, under a second.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.report import Report, median
from local_stack.paths import project_root

RUNS = 5
_CODE = """
import time, airflow.sdk
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder={path!r})
assert not bag.import_errors, bag.import_errors
print(time.perf_counter() - started)
"""


def parse_seconds(path: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CODE.format(path=path)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(report: Report) -> None:
    lines = [
        f"Median of {RUNS} parses per file, each in a fresh interpreter with Airflow imported first.",
        "",
        "| DAG file | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for path in sorted((project_root() / "dags").glob("*.py")):
        print(f"[dag_parse] {path.name}", flush=True)
        ms = [parse_seconds(str(path)) * 1000 for _ in range(RUNS)]
        lines.append(f"| {path.name} | {median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} |")
    report.add("DAG parse time", "\n".join(lines))
