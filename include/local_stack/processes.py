"""Start and stop the stack's long-running processes (one process group each, pid files in
`.local/run`, logs in `.local/logs`)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import requests

from local_stack import workers
from local_stack.paths import Paths
from local_stack.settings import API_HOST, api_port, api_url, sim_port, slack_receiver_port
from local_stack.slack_receiver import HEALTH_PATH


def airflow_components() -> dict[str, list[str]]:
    return {
        "api-server": ["api-server", "--host", API_HOST, "--port", str(api_port())],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer"],
    }


def _pid(paths: Paths, name: str) -> int | None:
    pidfile = paths.run / f"{name}.pid"
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pidfile.unlink()
        return None
    return pid


def start(paths: Paths, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    if _pid(paths, name):
        return
    log = open(paths.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (paths.run / f"{name}.pid").write_text(str(proc.pid))


def start_simulator(paths: Paths, env: dict[str, str], scenario: str, anchor_date: str) -> None:
    argv = [str(paths.venv_bin / "python"), "-m", "sitesim", "--scenario", scenario]
    argv += ["--port", str(sim_port()), "--anchor-date", anchor_date]
    start(paths, "sitesim", argv, env)


def start_slack_receiver(paths: Paths, env: dict[str, str]) -> None:
    """The local Slack webhook receiver: the demo's alerts land in ``paths.slack_messages``."""
    argv = [str(paths.venv_bin / "python"), "-m", "local_stack.slack_receiver"]
    argv += ["--port", str(slack_receiver_port()), "--messages", str(paths.slack_messages)]
    start(paths, "slack-receiver", argv, env)


def start_airflow(paths: Paths, env: dict[str, str]) -> None:
    celery = env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor"
    if celery:
        start(paths, "redis", workers.redis_argv(paths), env)
    for name, args in airflow_components().items():
        start(paths, name, [str(paths.venv_bin / "airflow"), *args], env)
    if celery:
        workers.prepare(paths)
        for worker in workers.WORKERS:
            start_worker(paths, worker, env)


def start_worker(paths: Paths, worker: workers.Worker, env: dict[str, str]) -> None:
    """One Celery worker and its log server, in the worker's own folder and environment."""
    own = workers.worker_env(paths, worker, env)
    folder = worker.folder(paths)
    start(paths, worker.process(), workers.worker_argv(paths, worker), own, cwd=folder)
    start(paths, worker.log_server(), workers.log_server_argv(paths, worker), own, cwd=folder)


def kill(paths: Paths, name: str) -> None:
    """SIGKILL a process and its children, as a machine that loses power would stop them."""
    if pid := _pid(paths, name):
        os.killpg(pid, signal.SIGKILL)
        (paths.run / f"{name}.pid").unlink(missing_ok=True)


def stop(paths: Paths, name: str, say: Callable[[str], None] = print) -> None:
    """SIGTERM a process and its children; SIGKILL what is left after 20 s."""
    pid = _pid(paths, name)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    # A zombie has exited: the process that started it (`make demo`'s own stop) never reaps it.
    while time.monotonic() < deadline and not _exited(pid):
        time.sleep(0.2)
    if not _exited(pid):
        os.killpg(pid, signal.SIGKILL)
    (paths.run / f"{name}.pid").unlink(missing_ok=True)
    say(f"stopped {name}")


def stop_all(paths: Paths, say: Callable[[str], None] = print) -> None:
    for name in [p.stem for p in paths.run.glob("*.pid")] if paths.run.exists() else []:
        stop(paths, name, say)


def _exited(pid: int) -> bool:
    """True once the process is gone or a zombie (our child that exited; nobody reaped it yet)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (ProcessLookupError, FileNotFoundError):
        return True


def _check_running(paths: Paths) -> None:
    """A component that died while starting ends the wait at once, with the end of its log."""
    for pidfile in paths.run.glob("*.pid"):
        if _exited(int(pidfile.read_text())):
            name = pidfile.stem
            log = paths.logs / f"{name}.log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise SystemExit(f"{name} exited while starting; the end of {log}:\n" + "\n".join(tail))


def wait_healthy(paths: Paths, timeout_s: float = 180, say: Callable[[str], None] = print) -> None:
    """Wait until the api-server reports every component healthy."""
    url = f"{api_url()}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        _check_running(paths)
        try:
            health = requests.get(url, timeout=5).json()
            status = {k: (v or {}).get("status") for k, v in health.items()}
            if all(s == "healthy" for s in status.values()):
                break
            now = ", ".join(f"{k}: {v}" for k, v in status.items())
        except (requests.RequestException, ValueError):
            now = "api-server starting"
        if now != last:
            say(f"  waiting for Airflow ({now})")
            last = now
        time.sleep(2)
    else:
        raise SystemExit(f"Airflow did not become healthy within {timeout_s:.0f}s; see .local/logs/*.log")
    if any(paths.run.glob("celery-*.pid")):
        say("  waiting for the Celery workers")
        workers.wait_ready(paths, check=lambda: _check_running(paths))


def simulator_day(port: int | None = None) -> date:
    """The running simulator's day 0: the date its data starts on, fixed when it started."""
    health = requests.get(f"http://127.0.0.1:{port or sim_port()}/_sitesim/health", timeout=5)
    health.raise_for_status()
    return date.fromisoformat(health.json()["anchor_date"])


def _wait_listening(url: str, what: str, name: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"the {what} did not start; see .local/logs/{name}.log")


def wait_simulator(timeout_s: float = 30) -> None:
    _wait_listening(
        f"http://127.0.0.1:{sim_port()}/kino-krakow/cinema_program/by_movie",
        "site simulator",
        "sitesim",
        timeout_s,
    )


def wait_slack_receiver(timeout_s: float = 30) -> None:
    _wait_listening(
        f"http://127.0.0.1:{slack_receiver_port()}{HEALTH_PATH}",
        "Slack receiver",
        "slack-receiver",
        timeout_s,
    )
