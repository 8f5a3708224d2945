"""A small client for Airflow's public REST API (v2), as the demo uses it."""

from __future__ import annotations

from typing import Any

import requests

from local_stack.settings import api_url


class AirflowApi:
    def __init__(self, username: str, password: str, base_url: str | None = None) -> None:
        self.base_url = base_url or api_url()
        self.session = requests.Session()
        token = self.session.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=10
        )
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def dag_exists(self, dag_id: str) -> bool:
        response = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=10)
        return response.status_code == 200

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str, conf: dict[str, Any] | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = self._call(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": len(out)},
            )
            out += page["task_instances"]
            if len(out) >= page["total_entries"] or not page["task_instances"]:
                return out
