"""The demo's local Slack receiver, as `make demo` runs it: a managed process on loopback that keeps
what Slack would post in `.local/slack/messages.jsonl`, refuses what Slack would refuse (and logs it),
and `python -m local_stack slack` prints the messages as lines a person reads."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from local_stack import processes
from local_stack.__main__ import main
from local_stack.paths import Paths
from local_stack.private import free_port
from local_stack.slack_receiver import MAX_BODY_BYTES, Message, webhook_url


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paths]:
    """The receiver started by the stack's own process management, in a private state folder."""
    root = tmp_path / "project"
    # The stack starts `.venv/bin/python` of the project: here, this test's interpreter.
    (root / ".venv" / "bin").mkdir(parents=True)
    python = root / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("SCRAPER_MONITOR_HOME", str(root))
    monkeypatch.setenv("SLACK_RECEIVER_PORT", str(free_port()))
    # The child finds local_stack the way this test did.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    paths = Paths(root)
    paths.make_dirs()
    processes.start_slack_receiver(paths, {})
    try:
        processes.wait_slack_receiver(timeout_s=20)
        yield paths
    finally:
        processes.stop(paths, "slack-receiver", say=lambda line: None)


def post(body: bytes | str) -> requests.Response:
    port = int(os.environ["SLACK_RECEIVER_PORT"])
    data = body.encode() if isinstance(body, str) else body
    return requests.post(
        webhook_url(port), data=data, headers={"Content-Type": "application/json"}, timeout=10
    )


def lines(paths: Paths) -> list[dict]:
    return [json.loads(line) for line in paths.slack_messages.read_text().splitlines()]


def test_a_posted_message_lands_in_the_file_and_reads_as_a_line(
    receiver: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    message = {
        "text": "🟠 WARNING: Silent failures in cinema_city · 1 success produced nothing",
        "blocks": [],
    }
    answer = post(json.dumps(message))
    assert (answer.status_code, answer.text) == (200, "ok")

    [kept] = lines(receiver)
    assert kept["body"] == message and kept["path"] == "/services/local-stack/scraper-alerts"
    assert abs(datetime.fromisoformat(kept["received_at"]) - datetime.now(UTC)).total_seconds() < 60

    assert main(["slack"]) == 0
    [printed] = capsys.readouterr().out.splitlines()
    assert printed.endswith("/services/local-stack/scraper-alerts  " + message["text"])


def test_malformed_and_oversized_posts_are_refused_and_logged_not_kept(receiver: Paths) -> None:
    refused = post('{"text": "cut off')
    assert (refused.status_code, refused.text) == (400, "invalid_payload")
    assert (post('{"username": "nothing to show"}').status_code, post("[]").status_code) == (400, 400)
    huge = post(json.dumps({"text": "x" * (MAX_BODY_BYTES + 1)}))
    assert (huge.status_code, huge.text) == (413, "request_too_large")

    assert post(json.dumps({"text": "still up"})).status_code == 200  # the receiver survived all that
    assert [m["body"]["text"] for m in lines(receiver)] == ["still up"]
    log = (receiver.logs / "slack-receiver.log").read_text()
    assert '(invalid_payload): b\'{"text": "cut off\'' in log
    assert "(no_text)" in log
    assert f"body of {len(json.dumps({'text': 'x' * (MAX_BODY_BYTES + 1)}))} bytes" in log


def test_stop_ends_the_receiver(receiver: Paths) -> None:
    processes.stop(receiver, "slack-receiver", say=lambda line: None)
    with pytest.raises(requests.ConnectionError):
        post(json.dumps({"text": "anyone there?"}))


def test_a_line_shows_alertmanagers_channel_and_title_and_no_terminal_escapes() -> None:
    message = Message(
        received_at=datetime(2026, 12, 7, 12, 0, 1, tzinfo=UTC),
        path="/services/T/B/X",
        channel="#scrapers",
        body={"attachments": [{"title": "[FIRING:1] ScraperDown", "text": "cinema_city\x1b[2J is down\n"}]},
    )
    assert (
        message.summary()
        == "2026-12-07 12:00:01Z  #scrapers  [FIRING:1] ScraperDown · cinema_city [2J is down"
    )
    assert Message.from_json_line(message.json_line()) == message


def test_no_messages_yet_says_where_they_will_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCRAPER_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("SCRAPER_MONITOR_HOME", str(tmp_path))
    assert main(["slack"]) == 0
    assert capsys.readouterr().out == f"no Slack messages yet in {tmp_path / 'slack' / 'messages.jsonl'}\n"
