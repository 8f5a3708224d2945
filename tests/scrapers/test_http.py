"""HttpClient against a tiny real HTTP server on loopback (scripted answers, no mocks)."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from scrapers.errors import (
    FetchTimeout,
    HttpStatusError,
    InvalidJson,
    NetworkError,
    RateLimited,
    ResponseTooLarge,
)
from scrapers.http import HttpClient, SiteConfig, redact_text, redact_url
from tests.fixtures.loopback import serve_handler

# Built at run time so a traceback quoting a test's source line does not contain it.
SECRET = "".join(["SECRET", "123"])


class Script:
    """Answers to serve in order (the last one repeats), and the requests seen."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes, float, float, bool]] = []
        self.seen: list[dict[str, object]] = []

    def add(
        self,
        status: int,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0,
        *,
        trickle_s: float = 0,  # a pause before every byte of the body
        declare_length: bool = True,  # False: no Content-Length, the body ends when the server closes
    ):
        data = body.encode() if isinstance(body, str) else body
        self.answers.append((status, headers or {}, data, delay, trickle_s, declare_length))
        return self


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.script.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        index = min(len(self.script.seen), len(self.script.answers)) - 1
        status, headers, data, delay, trickle_s, declare_length = self.script.answers[index]
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if declare_length:
                self.send_header("Content-Length", str(len(data)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if trickle_s:
                for byte in data:
                    time.sleep(trickle_s)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    with serve_handler(type("Handler", (_Handler,), {"script": script})) as base_url:
        yield f"{base_url}/prefix", script


def make_client(base_url: str, sleeps: list[float], **overrides: float) -> HttpClient:
    config = SiteConfig(
        base_url=base_url,
        **{"timeout_s": 2.0, "backoff_s": 0.5, "polite_delay_s": 0.0, "retry_after_cap_s": 30.0, **overrides},
    )
    return HttpClient(config, sleep=sleeps.append)


def test_get_json_sends_browser_headers_under_the_base_path(server):
    base, script = server
    script.add(200, json.dumps({"ok": True}), {"Content-Type": "application/json"})
    sleeps: list[float] = []
    assert make_client(base, sleeps, polite_delay_s=2.0).get_json("/api/x", params={"q": "a b"}) == {
        "ok": True
    }
    request = script.seen[0]
    assert request["path"] == "/prefix/api/x?q=a+b"
    assert "Chrome" in request["headers"]["User-Agent"]
    assert request["headers"]["Accept-Language"].startswith("pl-PL")
    assert request["headers"]["Accept"] == "application/json"
    assert sleeps == [2.0], "one polite delay before the request"


def test_5xx_is_retried_with_exponential_backoff_then_succeeds(server):
    base, script = server
    script.add(503).add(502).add(200, "fine")
    sleeps: list[float] = []
    assert make_client(base, sleeps).get_text("/page") == "fine"
    assert len(script.seen) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_exhausting_attempts_raises_typed_error(server):
    base, script = server
    script.add(500)
    sleeps: list[float] = []
    with pytest.raises(HttpStatusError) as caught:
        make_client(base, sleeps, max_attempts=2).get_text("/page")
    assert caught.value.status == 500
    assert caught.value.error_type == "http_5xx"
    assert caught.value.url == f"{base}/page"
    assert len(script.seen) == 2


@pytest.mark.parametrize(
    ("status", "error_type"), [(404, "not_found"), (403, "http_auth"), (422, "http_4xx")]
)
def test_4xx_is_not_retried(server, status, error_type):
    base, script = server
    script.add(status)
    with pytest.raises(HttpStatusError) as caught:
        make_client(base, []).get_text("/page")
    assert (caught.value.status, caught.value.error_type) == (status, error_type)
    assert len(script.seen) == 1


def test_429_honours_retry_after_capped(server):
    base, script = server
    script.add(429, headers={"Retry-After": "7"}).add(429, headers={"Retry-After": "120"}).add(200, "ok")
    sleeps: list[float] = []
    assert make_client(base, sleeps, retry_after_cap_s=30.0).get_text("/page") == "ok"
    assert sleeps == [7.0, 30.0]


def test_429_without_retry_after_uses_backoff_and_raises_rate_limited(server):
    base, script = server
    script.add(429)
    sleeps: list[float] = []
    with pytest.raises(RateLimited) as caught:
        make_client(base, sleeps).get_text("/page")
    assert caught.value.retry_after is None and caught.value.retryable
    assert sleeps == [0.5, 1.0]


def test_timeout_is_retried_and_raises_fetch_timeout(server):
    base, script = server
    script.add(200, "late", delay=0.5)
    sleeps: list[float] = []
    with pytest.raises(FetchTimeout) as caught:
        make_client(base, sleeps, timeout_s=0.1, max_attempts=2).get_text("/slow")
    assert caught.value.error_type == "timeout" and caught.value.category == "network_error"
    assert len(sleeps) == 1


def test_connection_refused_is_a_network_error():
    sleeps: list[float] = []
    with pytest.raises(NetworkError) as caught:
        make_client("http://127.0.0.1:9", sleeps, max_attempts=2).get_text("/x")
    assert caught.value.error_type == "connection_error"
    assert sleeps == [0.5]


def test_invalid_json_is_typed(server):
    base, script = server
    script.add(200, '{"body": {"cinemas": [', {"Content-Type": "application/json"})
    with pytest.raises(InvalidJson) as caught:
        make_client(base, []).get_json("/api")
    assert caught.value.url == f"{base}/api" and caught.value.status == 200


def test_post_sends_headers_and_body(server):
    base, script = server
    script.add(200, "", {"Set-Cookie": "s=1; path=/"})
    make_client(base, []).post("/settings/set_day/2", headers={"X-CSRF-Token": "t"}, data={"a": "1"})
    assert script.seen[0]["method"] == "POST"
    assert script.seen[0]["headers"]["X-CSRF-Token"] == "t"
    assert script.seen[0]["body"] == b"a=1"


def test_client_keeps_no_cookies_between_requests(server):
    """Site sessions are explicit (Kino Krakow); an implicit jar would share them."""
    base, script = server
    script.add(200, "", {"Set-Cookie": "_kinokrakow_session=abc; path=/"})
    client = make_client(base, [])
    client.get_text("/a")
    client.get_text("/b")
    assert "Cookie" not in script.seen[1]["headers"]


def test_secrets_never_reach_errors_or_logs(server, caplog):
    base, script = server
    script.add(500)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HttpStatusError) as caught:
        make_client(base, []).get_json("/3/search/movie", params={"api_key": SECRET, "query": "x"})
    assert "SECRET123" not in str(caught.value) and "SECRET123" not in (caught.value.url or "")
    assert "api_key=***" in caught.value.url
    assert "SECRET123" not in caplog.text
    assert "SECRET123" not in "".join(traceback.format_exception(caught.value))


def test_secrets_are_redacted_from_connection_errors():
    with pytest.raises(NetworkError) as caught:
        make_client("http://127.0.0.1:9", [], max_attempts=1).get_json("/s", params={"api_key": SECRET})
    # What Airflow would print: the whole chain, including any exception it was raised from.
    assert "SECRET123" not in "".join(traceback.format_exception(caught.value))


def test_redaction_helpers():
    assert (
        redact_url("https://h/3/search?api_key=K&query=a%20b") == "https://h/3/search?api_key=***&query=a+b"
    )
    assert redact_url("https://h/plain") == "https://h/plain"
    assert redact_text("Max retries exceeded with url: /3/x?api_key=K1&query=q") == (
        "Max retries exceeded with url: /3/x?api_key=***&query=q"
    )


def test_a_body_over_the_size_cap_is_refused_without_being_read(server: tuple[str, Script]) -> None:
    base, script = server
    huge = b"x" * (40 * 1024 * 1024)
    script.add(200, huge, declare_length=False)  # no Content-Length: the cap must hold while reading
    script.add(200, huge)  # announced: refused before reading
    with make_client(base, [], max_attempts=1) as client:
        client.config = dataclasses.replace(client.config, max_body_bytes=1024 * 1024)
        for _ in range(2):
            with pytest.raises(ResponseTooLarge) as info:
                client.get_text("/big")
            assert (info.value.category, info.value.error_type) == ("network_error", "response_too_large")
    assert len(script.seen) == 2  # not retried: the same answer would come again


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(server: tuple[str, Script]) -> None:
    base, script = server
    script.add(200, b"x" * 40, trickle_s=0.1)  # a byte every 0.1 s: each read is quick, the whole is 4 s
    with make_client(base, [], max_attempts=1, timeout_s=1) as client:
        client.config = dataclasses.replace(client.config, deadline_s=1.0)
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="took longer than 1 s in all"):
            client.get_text("/slow")
        assert time.monotonic() - started < 2.5
