"""The core (scrapers, sitesim and scraper_monitor apart from its Airflow-facing modules) never
imports Airflow, so it stays testable in milliseconds and usable outside Airflow."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import scraper_monitor
import scrapers
import sitesim

# The modules whose job is to talk to Airflow; everything else must not import it.
AIRFLOW_FACING = {
    "scraper_monitor.airflow_glue",
    "scraper_monitor.airflow_alerting",
    "scraper_monitor.airflow_web",
    "scraper_monitor.migrations.env",  # runs only inside Alembic
}


def core_modules() -> list[str]:
    names = []
    for package in (scrapers, sitesim, scraper_monitor):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name not in AIRFLOW_FACING and ".migrations.versions" not in info.name:
                names.append(info.name)
    return names


def test_core_modules_never_import_airflow() -> None:
    modules = core_modules()
    assert len(modules) > 40  # the walk found the packages
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules "
        "if m.startswith('airflow.')} | ({'airflow'} & set(sys.modules))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"core modules pulled in Airflow: {out.stdout}"
