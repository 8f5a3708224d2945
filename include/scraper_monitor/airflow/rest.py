"""A small client for Airflow's public REST API (v2): plain ``requests``, no Airflow import.

The CLI (``chain``, ``reconcile``), the local stack and the end-to-end tests talk to Airflow through
this client only, so the core stays importable and testable without Airflow installed.

Where the CLI finds Airflow and how it logs in: ``scraper_monitor.settings`` (``airflow_url``,
``airflow_credentials``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from scraper_monitor import settings

PAGE_SIZE = 100
LOGIN_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0


class AirflowError(Exception):
    """Any failure to get an answer from Airflow."""


class AirflowUnreachable(AirflowError):
    """No answer from Airflow (refused, timed out, DNS): callers fall back or say so."""


class AirflowHttpError(AirflowError):
    """Airflow answered with an HTTP error (bad login, unknown DAG or run, ...)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:300]}")
        self.status = status


def _segment(value: str) -> str:
    # Run ids carry ':' and '+' ("scheduled__2025-11-24T10:00:00+00:00"); quote everything.
    return quote(value, safe="")


class AirflowApi:
    """An Airflow REST v2 session; logs in (``POST /auth/token``) when a username is given."""

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.base_url = (base_url or settings.airflow_url()).rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        if username is not None:
            self.login(username, password or "")

    def login(self, username: str, password: str) -> None:
        body = {"username": username, "password": password}
        response = self._send(
            "POST", f"{self.base_url}/auth/token", "/auth/token", LOGIN_TIMEOUT_S, json=body
        )
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def _send(self, method: str, url: str, path: str, timeout_s: float, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, url, timeout=timeout_s, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise AirflowUnreachable(
                f"cannot reach Airflow at {self.base_url} ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 400:
            raise AirflowHttpError(method, path, response.status_code, response.text)
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, f"{self.base_url}/api/v2{path}", path, self.timeout_s, **kwargs)
        return response.json() if response.content else None

    def _paged(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every entry of a collection endpoint, following limit/offset until total_entries.

        Endpoints that ignore paging (``/tries`` answers everything at once) end after one page.
        """
        out: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", path, params={**(params or {}), "limit": PAGE_SIZE, "offset": len(out)})
            out += page[key]
            if len(out) >= page["total_entries"] or not page[key]:
                return out

    def dag_exists(self, dag_id: str) -> bool:
        try:
            self._call("GET", f"/dags/{_segment(dag_id)}")
        except AirflowHttpError:
            return False  # not parsed yet (404) or the api-server still starting: callers poll
        return True

    def import_errors(self) -> dict[str, str]:
        """The DAG files Airflow could not load: file name -> the last line of its error."""
        errors = {}
        for error in self._paged("/importErrors", "import_errors"):
            lines = (error.get("stack_trace") or "").strip().splitlines()
            errors[error["filename"]] = lines[-1] if lines else ""
        return errors

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{_segment(dag_id)}", json={"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str, conf: dict[str, Any] | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self._call("POST", f"/dags/{_segment(dag_id)}/dagRuns", json=body)["dag_run_id"]

    def trigger_run(
        self, dag_id: str, run_id: str, run_after: str, conf: dict[str, Any] | None = None
    ) -> str:
        """A run with the given id and no logical date (several cities' runs of one DAG share a day,
        and Airflow keeps logical dates unique per DAG). HTTP 409 when the id is taken."""
        body = {"dag_run_id": run_id, "logical_date": None, "run_after": run_after, "conf": conf or {}}
        return self._call("POST", f"/dags/{_segment(dag_id)}/dagRuns", json=body)["dag_run_id"]

    def put_connection(self, conn_id: str, conn_type: str, **fields: Any) -> None:
        """Create or replace a connection (``host``, ``login``, ``password``, ``extra`` as a dict, ...)."""
        extra = fields.pop("extra", None)
        body = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        if extra is not None:
            body["extra"] = json.dumps(extra)
        try:
            self._call("POST", "/connections", json=body)
        except AirflowHttpError as exc:
            if exc.status != 409:
                raise
            self._call("PATCH", f"/connections/{_segment(conn_id)}", json=body)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}")

    def dag_runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        """Every run of a DAG (``~``: of every DAG), all pages; ``filters`` are the endpoint's query
        parameters (``end_date_gte``, ``state``, ...)."""
        return self._paged(f"/dags/{_segment(dag_id)}/dagRuns", "dag_runs", filters)

    def dag_details(self, dag_id: str) -> dict[str, Any]:
        """The DAG with its tags and its params (each param as ``{"value": ..., "schema": ...}``)."""
        return self._call("GET", f"/dags/{_segment(dag_id)}/details")

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> list[Any]:
        """One try's whole log as structured records (``event``, ``level``, ``error_detail``...)."""
        path = f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/taskInstances/{_segment(task_id)}"
        params = {"map_index": int(map_index), "full_content": "true"}
        answer = self._call("GET", f"{path}/logs/{int(try_number)}", params=params)
        return list((answer or {}).get("content") or [])

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task instance of a run, as the UI's "Clear run" does: the run starts again."""
        path = f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/clear"
        self._call("POST", path, json={"dry_run": False, "only_failed": False})

    def set_variable(self, key: str, value: str) -> None:
        try:
            self._call("PATCH", f"/variables/{_segment(key)}", json={"key": key, "value": value})
        except AirflowHttpError as exc:
            if exc.status != 404:
                raise
            self._call("POST", "/variables", json={"key": key, "value": value})

    def tasks(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's tasks, each with ``task_id`` and ``downstream_task_ids``."""
        return self._call("GET", f"/dags/{_segment(dag_id)}/tasks")["tasks"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run (its current try), all pages."""
        return self._paged(
            f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/taskInstances", "task_instances"
        )

    def task_instance_tries(
        self, dag_id: str, run_id: str, task_id: str, map_index: int
    ) -> list[dict[str, Any]]:
        """Every try of one task instance (the history plus the current try), all pages.

        Airflow leaves out the current try while it is ``up_for_retry``: that try is already in the
        history, recorded as ``failed``.
        """
        path = f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/taskInstances/{_segment(task_id)}"
        return self._paged(f"{path}/{int(map_index)}/tries", "task_instances")


def connect(url: str | None = None, environ: Mapping[str, str] = os.environ) -> AirflowApi:
    """A client for the CLI: the resolved URL, logged in when credentials are found."""
    credentials = settings.airflow_credentials(environ)
    username, password = credentials if credentials else (None, None)
    return AirflowApi(username, password, base_url=settings.airflow_url(url, environ))
