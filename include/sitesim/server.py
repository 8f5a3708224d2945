"""The simulator's HTTP server: three sites behind path prefixes on one loopback port.

A real server (not a mock) so that scrapers, Airflow tasks and tests exercise their actual HTTP
stack: timeouts, retries, cookies, status codes. ``ThreadingHTTPServer`` serves requests
concurrently, which the Kino Krakow session race and parallel Airflow tasks need.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

from sitesim.cinema_city import CinemaCityApi
from sitesim.faults import FaultEngine, FaultRule, Request
from sitesim.kino_krakow import KinoKrakowSite
from sitesim.responses import Response, reason
from sitesim.scenario import Scenario, load
from sitesim.tmdb import TmdbApi

log = logging.getLogger("sitesim.requests")

PREFIXES: dict[str, str] = {"cinema_city": "/cinema-city", "kino_krakow": "/kino-krakow", "tmdb": "/tmdb"}
_INVALID_JSON = (
    b"<html><head><title>Przerwa techniczna</title></head>"
    b"<body><h1>Przerwa techniczna</h1><p>Zapraszamy wkr\xc3\xb3tce.</p></body></html>"
)


class Site(Protocol):
    site: str

    def classify(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Request: ...

    def respond(self, req: Request, headers: dict[str, str], fault: FaultRule | None) -> Response: ...

    def error(self, status: int) -> Response: ...


@dataclass(frozen=True)
class RequestRecord:
    """One served request, for tests and the console log."""

    method: str
    site: str
    path: str  # after the site prefix
    query: str
    status: int
    fault: str | None  # name of the fault rule that fired
    session: str | None  # Kino Krakow session id
    day: int | None  # Kino Krakow: the day the request was about (set_day argument / session's day)
    duration_ms: int


class SiteSimulator:
    """Serve a scenario on ``host:port`` (port 0 = any free port) from a background thread."""

    def __init__(
        self,
        scenario: Scenario | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        anchor_date: date | str | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load(scenario)
        if isinstance(anchor_date, str):
            anchor_date = date.fromisoformat(anchor_date)
        self.anchor = self.scenario.anchor(anchor_date)
        self.host = host
        self.port = port
        self.faults = FaultEngine(self.scenario.faults, self.anchor)
        catalog = self.scenario.catalog
        self.sites: dict[str, Site] = {
            PREFIXES["cinema_city"]: CinemaCityApi(self.scenario.cinema_city, catalog, self.anchor),
            PREFIXES["kino_krakow"]: KinoKrakowSite(catalog, self.anchor, self.scenario.seed),
            PREFIXES["tmdb"]: TmdbApi(catalog.tmdb, self.scenario.tmdb_api_key),
        }
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SiteSimulator:
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True  # a request sleeping in a delay fault must not block stop()
        self.port = self._httpd.server_address[1]
        # A short poll interval makes stop() quick (it waits for one poll): tests start many servers.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sitesim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> SiteSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- API ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Connection hosts for the three sites; clients append the real sites' paths."""
        return {site: self.base_url + prefix for site, prefix in PREFIXES.items()}

    def reset(self) -> None:
        """Restart every ``first_n`` fault from zero, e.g. before a second run of a DAG."""
        self.faults.reset()

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    # --- serving ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str]) -> tuple[Response, float | None]:
        """Answer one request (``headers`` with lower-case names); also returns the delay to sleep
        before answering (fault ``delay``)."""
        started = time.monotonic()
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        prefix = next((p for p in self.sites if url.path == p or url.path.startswith(p + "/")), None)
        if prefix is None:
            return self._control(method, url.path), None
        site = self.sites[prefix]
        req = site.classify(method, url.path[len(prefix) :] or "/", query, headers)
        fault = self.faults.match(req)
        kind = fault.kind if fault else None
        if fault is not None and kind == "status":
            response = site.error(fault.status or 500)
            if fault.retry_after is not None:
                response.headers.append(("Retry-After", str(fault.retry_after)))
        else:
            response = site.respond(req, headers, fault)
        # Sites answer redirects with their own paths; outside, they live under the prefix.
        response.headers = [
            (name, prefix + value if name == "Location" and value.startswith("/") else value)
            for name, value in response.headers
        ]
        if kind == "truncated_json":
            text = response.body.decode("utf-8")
            response.body = text[: len(text) // 2].encode("utf-8")
        elif kind == "invalid_json":
            response.body = _INVALID_JSON
        delay = fault.seconds if fault is not None and kind == "delay" else None
        self._record(req, response, fault, started, delay)
        return response, delay

    def _control(self, method: str, path: str) -> Response:
        """``/_sitesim/health`` (with requests matched per fault rule) and ``POST /_sitesim/reset``,
        for scripts that run the CLI."""
        if path == "/_sitesim/health":
            body = {
                "scenario": self.scenario.name,
                "anchor_date": self.anchor.isoformat(),
                **self.base_urls,
                "fault_matches": self.faults.counts(),
            }
            return Response(200, json.dumps(body).encode(), "application/json")
        if path == "/_sitesim/reset" and method == "POST":
            self.reset()
            return Response(200, b'{"reset": true}', "application/json")
        return Response(404, b"not found\n")

    def _record(
        self,
        req: Request,
        response: Response,
        fault: FaultRule | None,
        started: float,
        delay: float | None,
    ) -> None:
        duration_ms = round((time.monotonic() - started + (delay or 0)) * 1000)
        # The TMDB key is a secret: never in the log.
        query = urlencode({k: "***" if k == "api_key" else v for k, v in req.query.items()})
        record = RequestRecord(
            method=req.method,
            site=req.site,
            path=req.path,
            query=query,
            status=response.status,
            fault=fault.name if fault else None,
            session=response.session,
            day=req.day,
            duration_ms=duration_ms,
        )
        with self._log_lock:
            self._log.append(record)
        log.info(
            "%s %s%s%s %d%s%s",
            req.method,
            PREFIXES[req.site],
            req.path,
            f"?{query}" if query else "",
            response.status,
            f" fault={fault.name!r}" if fault else "",
            f" session={response.session[:8]} day={req.day}" if response.session else "",
        )


class _Handler(BaseHTTPRequestHandler):
    simulator: SiteSimulator
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites: clients reuse connections
    # Headers and body go out in two writes; with Nagle on, each kept-alive request waits ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            response, delay = self.simulator.handle(method, self.path, headers)
        except Exception:  # a simulator bug must answer 500, not hang the client
            logging.getLogger("sitesim").exception("error serving %s %s", method, self.path)
            response, delay = Response(500, b"simulator error\n"), None
        if delay:
            time.sleep(delay)
        try:
            self.send_response(response.status, reason(response.status))
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout): nothing to answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Requests are logged by ``SiteSimulator`` (with fault and session), not on stderr."""
