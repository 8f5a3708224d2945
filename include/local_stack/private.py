"""A private stack: its own state folder and free ports, so it runs beside a user's `make demo`.
Used by the end-to-end tests and by `make bench`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from local_stack.database import EXTERNAL_SERVER_ENV, MONITOR_DSN_ENV
from local_stack.paths import project_root
from local_stack.processes import simulator_day
from local_stack.workers import LOCAL
from scraper_monitor.airflow.rest import AirflowApi
from scraper_monitor.settings import read_env_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivateStack:
    state_dir: Path
    env: dict[str, str]
    api_url: str
    login: dict[str, str]

    @property
    def monitor_dsn(self) -> str:
        return self.env["SCRAPER_MONITOR_DSN"]

    def simulator_day(self) -> date:
        """The simulator's day 0, the logical date the stack's chain runs scrape."""
        return simulator_day(int(self.env["SITESIM_PORT"]))

    def api(self) -> AirflowApi:
        return AirflowApi(self.login["username"], self.login["password"], base_url=self.api_url)

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command in the stack's environment (e.g. `airflow backfill create ...`)."""
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=True)


def _clean_environment() -> dict[str, str]:
    # The caller may be configured for something else (tests: dag.test(); a user's `make demo` on an
    # external server, PG_DSN / MONITOR_DSN): the stack sees none of it, so a test's stack never
    # creates its databases on, or records into, someone's real PostgreSQL. ``extra_env`` may say so.
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "SCRAPER_")) and k not in (EXTERNAL_SERVER_ENV, MONITOR_DSN_ENV)
    }


@contextmanager
def private_stack(
    state_dir: Path,
    scenario: str,
    extra_env: dict[str, str] | None = None,
    executor: str = LOCAL,
    root: Path | None = None,
) -> Iterator[PrivateStack]:
    """A stack of this checkout (``root``: the project found from here) in ``state_dir``."""
    root = root or project_root()
    env = _clean_environment() | {
        "SCRAPER_STACK_DIR": str(state_dir),
        "AIRFLOW_PORT": str(free_port()),
        "SITESIM_PORT": str(free_port()),
        "SLACK_RECEIVER_PORT": str(free_port()),
        "SCRAPER_REDIS_PORT": str(free_port()),
        "SCRAPER_WORKER_LOG_PORT": str(free_port()),
        "SCRAPER_MONITOR_HOME": str(root),
        "SCRAPER_RETRY_DELAY_SECONDS": "1",
        **(extra_env or {}),
    }
    python = str(root / ".venv" / "bin" / "python")
    stack_cmd = [python, "-m", "local_stack"]
    try:
        started = subprocess.run(
            [*stack_cmd, "start", "--scenario", scenario, "--executor", executor],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if started.returncode != 0:
            raise RuntimeError(
                f"the private stack did not start:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}"
            )
        stack_env = env | read_env_file(state_dir / "env")
        stack_env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        yield PrivateStack(
            state_dir=state_dir,
            env=stack_env,
            api_url=f"http://127.0.0.1:{env['AIRFLOW_PORT']}",
            login=json.loads((state_dir / "demo-login.json").read_text()),
        )
    finally:
        subprocess.run([*stack_cmd, "stop"], env=env, cwd=root, capture_output=True, timeout=120)
