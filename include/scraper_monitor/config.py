"""Where the command line finds the monitor store and the spool file.

DSN: ``--dsn``, else ``$SCRAPER_MONITOR_DSN``, else the ``SCRAPER_MONITOR_DSN`` line of the local
stack's ``.local/env``. Spool: ``$SCRAPER_MONITOR_SPOOL``, else ``.local/spool/summaries.jsonl``.
Both ``.local`` paths are under the project root: ``$SCRAPER_MONITOR_HOME``, else the nearest folder
from the current one upwards that holds ``pyproject.toml`` and ``dags/``, else the current folder.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

DSN_ENV = "SCRAPER_MONITOR_DSN"
SPOOL_ENV = "SCRAPER_MONITOR_SPOOL"
HOME_ENV = "SCRAPER_MONITOR_HOME"


class ConfigError(Exception):
    """Nothing says where the store is: the command line prints it as one line (exit status 2)."""


def project_root(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    if home := environ.get(HOME_ENV):
        return Path(home)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "dags").is_dir():
            return folder
    return here


def env_file(root: Path) -> Path:
    return root / ".local" / "env"


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as the local stack writes them (values JSON-quoted; plain also accepted)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value.startswith('"'):
            try:
                value = str(json.loads(value))
            except ValueError:
                value = value.strip('"')
        elif value.startswith("'"):
            value = value.strip("'")
        values[key.strip()] = value
    return values


def resolve_dsn(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    if explicit:
        return explicit
    if from_env := environ.get(DSN_ENV):
        return from_env
    path = env_file(project_root(environ))
    if path.is_file() and (from_file := read_env_file(path).get(DSN_ENV)):
        return from_file
    raise ConfigError(
        f"no monitor store configured: pass --dsn, set {DSN_ENV}, or start the local stack (it writes {path})"
    )


def spool_path(environ: Mapping[str, str] = os.environ) -> Path:
    if from_env := environ.get(SPOOL_ENV):
        return Path(from_env)
    return project_root(environ) / ".local" / "spool" / "summaries.jsonl"


def add_dsn_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        help=f"monitor store (libpq DSN); default: ${DSN_ENV}, else the local stack's .local/env",
    )
