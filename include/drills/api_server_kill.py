"""The api-server is killed and restarted while the panels are being read and both chains run.

A reader asks every panel's API route in turn, logged in, the whole time. While the api-server is down
its requests are refused; once it is back every panel must answer 200 again, no panel may answer a 5xx
while the server is up, and the chains' tries must all be recorded (on Airflow 3 the tasks report to
the api-server's execution API too).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

from drills.context import DrillContext
from drills.model import Drill, Outcome
from drills.stack import DrillStack, panel_paths

DOWN_S = 2


@dataclass
class PanelReader:
    """Reads the panels in a loop on its own thread; keeps what each request got."""

    base_url: str
    token: str
    paths: list[str]
    answers: list[tuple[float, str, int | str]] = field(default_factory=list)  # (answered, path, status)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _get(self, session: requests.Session, path: str) -> int | str:
        try:
            return session.get(f"{self.base_url}{path}", timeout=30).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    def _loop(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = self.token
        while not self._stop.is_set():
            for path in self.paths:
                status = self._get(session, path)
                # Timed at the answer: a request in flight when the server is killed fails then.
                self.answers.append((time.monotonic(), path, status))
            time.sleep(0.2)

    def start(self) -> None:
        threading.Thread(target=self._loop, name="panel-reader", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def final_round(self) -> dict[str, int | str]:
        session = requests.Session()
        session.headers["Authorization"] = self.token
        return {path: self._get(session, path) for path in self.paths}


@dataclass
class Window:
    down_at: float = 0.0
    up_at: float = 0.0


def run(ctx: DrillContext) -> Outcome:
    stack = ctx.stack()
    api = stack.api()
    reader = PanelReader(stack.running.api_url, api.session.headers["Authorization"], panel_paths(api))
    window = Window()

    def kill_api_server(stack: DrillStack) -> str:
        window.down_at = time.monotonic()
        stack.kill("api-server")
        time.sleep(DOWN_S)
        stack.restart("api-server")
        stack.wait_healthy(ctx.say)
        window.up_at = time.monotonic()
        return (
            f"api-server SIGKILLed, started again {DOWN_S} s later, healthy "
            f"{window.up_at - window.down_at:.0f} s after the kill"
        )

    reader.start()
    try:
        chains = stack.run_chains(kill_api_server, after_finished=10, say=ctx.say)
    finally:
        reader.stop()
    outcome = stack.count(chains)
    during = [a for a in reader.answers if window.down_at <= a[0] <= window.up_at]
    outside = [a for a in reader.answers if not window.down_at <= a[0] <= window.up_at]
    ok = sum(1 for _, _, status in outside if status == 200)
    errors = [f"{path}: {status}" for _, path, status in outside if status != 200]
    final = reader.final_round()
    outcome.problems += [f"outside the outage {e}" for e in sorted(set(errors))]
    outcome.problems += [f"after the restart {p}: {s}" for p, s in final.items() if s != 200]
    outcome.user_saw = (
        f"{chains.fault}; {len(reader.paths)} panel routes read {len(reader.answers)} times: {ok} answered "
        f"200 while the server was up, {len(during)} refused or failed while it was down or starting, "
        f"every panel answered 200 after the restart: {all(s == 200 for s in final.values())}; "
        f"runs ended {', '.join(f'{d} {s}' for d, s in chains.states.items())}"
    )
    return outcome


DRILL = Drill(
    name="api_server_kill",
    injects="the api-server, while the panels are read and both chains run",
    how="SIGKILL to its process group; started again 2 s later",
    counts="panel answers before/during/after; tries vs rows; failed tasks beyond the scenario's",
    needs_stack=True,
    run=run,
)
