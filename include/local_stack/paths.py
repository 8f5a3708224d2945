"""Where the local stack keeps its state (everything under `.local/`, git-ignored)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def project_root() -> Path:
    if home := os.environ.get("SCRAPER_MONITOR_HOME"):
        return Path(home).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() and (folder / "dags").is_dir():
            return folder
    raise SystemExit("run this from the project folder (or set SCRAPER_MONITOR_HOME)")


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def local(self) -> Path:
        # Tests run a private stack beside a user's demo by pointing this elsewhere.
        return Path(os.environ.get("SCRAPER_STACK_DIR", self.root / ".local"))

    @property
    def pgdata(self) -> Path:
        return self.local / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return self.local / "airflow"

    @property
    def logs(self) -> Path:
        return self.local / "logs"

    @property
    def run(self) -> Path:
        return self.local / "run"

    @property
    def secrets(self) -> Path:
        return self.local / "secrets.json"

    @property
    def env_file(self) -> Path:
        return self.local / "env"

    @property
    def login_file(self) -> Path:
        return self.local / "demo-login.json"

    @property
    def slack_messages(self) -> Path:
        """What the local Slack receiver was sent (local_stack/slack_receiver.py)."""
        return self.local / "slack" / "messages.jsonl"

    @property
    def venv_bin(self) -> Path:
        return self.root / ".venv" / "bin"

    def make_dirs(self) -> None:
        for folder in (
            self.local,
            self.airflow_home / "config",
            self.logs,
            self.run,
            self.local / "spool",
            self.slack_messages.parent,
        ):
            folder.mkdir(parents=True, exist_ok=True)
