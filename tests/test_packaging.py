"""What a non-editable install gets: the packages with their data files (templates, assets, the
default SLO and error-rule files), so the monitor works outside a checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_build_carries_the_default_files(tmp_path: Path) -> None:
    # setuptools' build_py is what a wheel or a plain `pip install .` copies: the packages and
    # their package data, as pyproject.toml declares them.
    build = tmp_path / "build"
    code = (
        "import sys\n"
        "from setuptools import setup\n"
        f"sys.argv = ['setup.py', '-q', 'build_py', '--build-lib', {str(build)!r}]\n"
        "setup()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    for shipped in (
        "scraper_monitor/slo.yaml",
        "scraper_monitor/error_rules.yaml",
        "scraper_monitor/web/templates/chain.html",
        "scraper_monitor/web/static/monitor.css",
    ):
        assert (build / shipped).is_file(), f"{shipped} is not installed"
    assert not (build / "slo.yaml").exists()  # nothing is looked up beside the packages any more
