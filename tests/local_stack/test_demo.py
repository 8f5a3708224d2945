"""The wait for a scenario's chain runs (`make demo`, `make e2e`, the tests), against an api-server
that answers late."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler

from local_stack import scenario_runs
from local_stack.verdict import CHAINS
from scraper_monitor.airflow.rest import AirflowApi
from sitesim.scenario import load
from tests.fixtures.loopback import serve_handler

TIMEOUT_S = 0.5


class LateOnceAirflow(BaseHTTPRequestHandler):
    """Airflow's REST answers for two runs that finish at once; the first look at each run's task
    instances comes after the client has given up (an api-server on a machine busy with the tasks)."""

    late: set[str] = set()
    lock = threading.Lock()

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer({"dag_run_id": "manual__demo"})

    def do_PATCH(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer({})

    def do_GET(self) -> None:  # noqa: N802
        if match := re.search(r"/dags/([^/]+)/dagRuns/[^/]+/taskInstances", self.path):
            with self.lock:
                first = match[1] not in self.late
                self.late.add(match[1])
            if first:
                time.sleep(TIMEOUT_S * 3)  # and no answer: the client stopped listening
                return
            self._answer({"task_instances": [{"state": "success"}], "total_entries": 1})
        else:
            self._answer({"state": "success"})

    def log_message(self, *args: object) -> None:
        pass


def test_a_late_answer_is_a_line_and_another_look_not_the_end() -> None:
    said: list[str] = []
    with serve_handler(LateOnceAirflow) as url:
        api = AirflowApi(base_url=url, timeout_s=TIMEOUT_S)
        batch = scenario_runs.trigger(api, load("demo"), date(2026, 12, 7))
        scenario_runs.wait(api, [batch], timeout_s=60, say=said.append, poll_s=0.1)
    assert batch.runs == dict.fromkeys(CHAINS, "manual__demo")
    for dag_id in CHAINS:
        assert f"  {dag_id}: cannot reach Airflow at {url} (ReadTimeout); asking again" in said
        assert any(re.fullmatch(rf"  {dag_id} finished: run success \(\d+ s\)", line) for line in said)
