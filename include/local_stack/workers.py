"""The CeleryExecutor flavour of the local stack: a Redis broker and two Celery workers that share
nothing but the network and the databases, like two machines.

Each worker has its own folder (``.local/workers/<name>``): its own ``AIRFLOW_HOME`` (the same config,
as an image would carry it), task logs, spool file and working directory. Each also has its own
address, a loopback alias (127.0.0.2, 127.0.0.3): Airflow records it as the task instance's hostname
(``[core] hostname_callable`` = ``hostname`` below), and the api-server fetches a running or finished
try's log from ``http://<hostname>:<worker_log_server_port>/log/...``. Two log servers on one machine
cannot share a port on every interface (Airflow's own binds them all), so each worker's log server is
a separate process bound to the worker's address only.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local_stack.paths import Paths

CELERY = "celery"
LOCAL = "local"
EXECUTORS = (LOCAL, CELERY)
#: Task slots per worker: the chains' widest step (7 cinema-days) spreads over both workers.
WORKER_CONCURRENCY = 4
WORKER_HOST_ENV = "SCRAPER_WORKER_HOST"


@dataclass(frozen=True)
class Worker:
    name: str
    address: str

    def folder(self, paths: Paths) -> Path:
        return paths.local / "workers" / self.name

    def spool(self, paths: Paths) -> Path:
        return self.folder(paths) / "spool" / "summaries.jsonl"

    def airflow_home(self, paths: Paths) -> Path:
        return self.folder(paths) / "airflow"

    def process(self) -> str:
        """The name of the worker's process in ``.local/run`` and ``.local/logs``."""
        return f"celery-{self.name}"

    def log_server(self) -> str:
        return f"serve-logs-{self.name}"


WORKERS = (Worker("worker-1", "127.0.0.2"), Worker("worker-2", "127.0.0.3"))


def hostname() -> str:
    """``[core] hostname_callable`` of the stack: a worker's own address, else the machine's name."""
    return os.environ.get(WORKER_HOST_ENV) or socket.getfqdn()


def broker_port() -> int:
    return int(os.environ.get("SCRAPER_REDIS_PORT", "6390"))


def celery_env(airflow_db_url: str) -> dict[str, str]:
    """What every component of a Celery stack adds to the shared environment."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "local_stack.workers.hostname",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{broker_port()}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{airflow_db_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": os.environ.get("SCRAPER_WORKER_LOG_PORT", "8793"),
        "SCRAPER_REDIS_PORT": str(broker_port()),
    }


def worker_env(paths: Paths, worker: Worker, env: dict[str, str]) -> dict[str, str]:
    """One worker's environment: the stack's, with its own home, logs, spool and address."""
    home = worker.airflow_home(paths)
    return env | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(worker.folder(paths) / "logs"),
        "SCRAPER_MONITOR_SPOOL": str(worker.spool(paths)),
        WORKER_HOST_ENV: worker.address,
    }


def prepare(paths: Paths) -> None:
    """Each worker's folders, and the cluster policy in its own config folder (the image's copy)."""
    for worker in WORKERS:
        config = worker.airflow_home(paths) / "config"
        config.mkdir(parents=True, exist_ok=True)
        worker.spool(paths).parent.mkdir(parents=True, exist_ok=True)
        (worker.folder(paths) / "logs").mkdir(exist_ok=True)
        shutil.copyfile(
            paths.root / "include" / "airflow_local_settings.py", config / "airflow_local_settings.py"
        )


def redis_argv(paths: Paths) -> list[str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server not found: the Celery stack needs it (`make debs` installs it)")
    folder = paths.local / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    # A broker for one stack: loopback only, nothing persisted (queued work is in Airflow's DB).
    return [
        *("redis-server", "--port", str(broker_port()), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(folder)),
    ]


def worker_argv(paths: Paths, worker: Worker) -> list[str]:
    airflow = str(paths.venv_bin / "airflow")
    return [
        *(airflow, "celery", "worker", "--celery-hostname", f"{worker.name}@{worker.address}"),
        *("--concurrency", str(WORKER_CONCURRENCY), "--skip-serve-logs"),
    ]


def log_server_argv(paths: Paths, worker: Worker) -> list[str]:
    return [str(paths.venv_bin / "python"), "-m", "local_stack.workers", "serve-logs", worker.address]


def ready(paths: Paths, worker: Worker) -> bool:
    """Celery prints ``<hostname> ready.`` once the worker consumes from the broker."""
    log = paths.logs / f"{worker.process()}.log"
    return log.exists() and f"{worker.name}@{worker.address} ready." in log.read_text(errors="replace")


def wait_ready(paths: Paths, check: Callable[[], None], timeout_s: float = 90) -> None:
    """Wait for every worker; ``check`` raises when a stack process died meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(ready(paths, w) for w in WORKERS):
            return
        check()
        time.sleep(1)
    waiting = [w.name for w in WORKERS if not ready(paths, w)]
    raise SystemExit(
        f"Celery workers {waiting} not ready after {timeout_s:.0f}s; see .local/logs/celery-*.log"
    )


def _serve_logs(address: str) -> None:
    import uvicorn
    from airflow.configuration import conf

    port = conf.getint("logging", "worker_log_server_port")
    uvicorn.run(
        "airflow.utils.serve_logs.log_server:get_app",
        factory=True,
        host=address,
        port=port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve-logs"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m local_stack.workers serve-logs ADDRESS")
    _serve_logs(sys.argv[2])
