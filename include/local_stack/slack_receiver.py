"""A local stand-in for Slack's incoming webhooks: `make demo`'s alerts land in a file, not in Slack.

An HTTP server on loopback answers a webhook POST (a JSON object with ``text``, ``blocks`` or
``attachments``) like Slack does, ``200 ok``, and appends the message as one JSON line to
``.local/slack/messages.jsonl``: when it came, the webhook path it was posted to, the channel the body
names (Alertmanager's do; an Airflow connection's webhook is bound to its channel) and the body.
``python -m local_stack slack`` prints them as readable lines.

What Slack would refuse is refused the same way, and logged (the sender sees the error too, and the
alert evaluator keeps the message pending): a body that is not a JSON object or has nothing to show
gets ``400``, a body over ``MAX_BODY_BYTES`` gets ``413`` without being read. The tests' receiver
(``SlackReceiver`` below: the tests' fixtures and the drills) serves through the same handler, with
its own ``deliver``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("local_stack.slack_receiver")

#: Far above any real alert (Slack keeps 50 blocks of 3000 characters) and small enough that a runaway
#: sender cannot fill the disk or the receiver's memory with one request.
MAX_BODY_BYTES = 1_000_000
DISCARD_MAX_BYTES = 16 * MAX_BODY_BYTES
#: The webhook path of the demo's ``slack_scraper_alerts`` connection (any path is accepted).
DEMO_WEBHOOK_PATH = "/services/local-stack/scraper-alerts"
HEALTH_PATH = "/_health"
#: How much of a refused body the log keeps: enough to see what the sender got wrong.
LOGGED_EXCERPT = 200
SUMMARY_MAX = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class Refused(Exception):
    """A post Slack would refuse: ``status`` and Slack's one-word reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Message:
    received_at: datetime
    path: str
    channel: str | None
    body: dict[str, Any]

    def json_line(self) -> str:
        # ASCII escapes: a lone surrogate in a scraped title must not make the line unwritable.
        record = {"received_at": self.received_at.isoformat(), "path": self.path, "channel": self.channel}
        return json.dumps({**record, "body": self.body}) + "\n"

    @classmethod
    def from_json_line(cls, line: str) -> Message:
        record = json.loads(line)
        return cls(
            received_at=datetime.fromisoformat(record["received_at"]),
            path=record["path"],
            channel=record.get("channel"),
            body=record["body"],
        )

    def summary(self) -> str:
        """One terminal line: time, where, what. Control characters (a scraped ANSI escape) are blanked."""
        text = _text_of(self.body)
        text = _CONTROL.sub(" ", text).strip()
        if len(text) > SUMMARY_MAX:
            text = text[: SUMMARY_MAX - 1] + "…"
        where = _CONTROL.sub(" ", self.channel or self.path)
        line = f"{self.received_at:%Y-%m-%d %H:%M:%S}Z  {where}  {text}"
        return line.encode("utf-8", "replace").decode("utf-8")


def _text_of(body: dict[str, Any]) -> str:
    """What a phone's notification would show: ``text``, else the first attachment's title and text
    (Alertmanager), else the blocks' texts."""
    if isinstance(body.get("text"), str) and body["text"].strip():
        return body["text"]
    for attachment in body.get("attachments") or []:
        if isinstance(attachment, dict):
            parts = [attachment.get(k) for k in ("title", "text", "fallback")]
            if shown := [p for p in parts if isinstance(p, str) and p.strip()]:
                return " · ".join(shown[:2])
    texts = []
    for block in body.get("blocks") or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            texts.append(text["text"])
    return " · ".join(texts)


def parse(path: str, raw: bytes, now: datetime) -> Message:
    """The message a webhook POST carries, or ``Refused`` with Slack's answer."""
    try:
        body = json.loads(raw)
    except ValueError:  # also undecodable bytes
        raise Refused(400, "invalid_payload") from None
    if not isinstance(body, dict):
        raise Refused(400, "invalid_payload")
    if not any(body.get(k) for k in ("text", "blocks", "attachments")):
        raise Refused(400, "no_text")
    channel = body.get("channel")
    return Message(
        received_at=now, path=path, channel=channel if isinstance(channel, str) else None, body=body
    )


#: Decides the answer to a message Slack would take: 200 when it is kept.
Deliver = Callable[[Message], int]


class _Handler(BaseHTTPRequestHandler):
    server: ReceiverServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            log.warning(
                "refused a post to %s: body of %s bytes (limit %d)", self.path, length, MAX_BODY_BYTES
            )
            self._discard(length)
            self.close_connection = True  # what was not read must not be taken for the next request
            self._answer(413, b"request_too_large")
            return
        raw = self.rfile.read(length)
        try:
            message = parse(self.path, raw, datetime.now(UTC))
        except Refused as refused:
            log.warning("refused a post to %s (%s): %r", self.path, refused.reason, raw[:LOGGED_EXCERPT])
            self._answer(refused.status, refused.reason.encode())
            return
        status = self.server.deliver(message)
        self._answer(status, b"ok" if status == 200 else b"internal_error")

    def _discard(self, length: int) -> None:
        """Reads a refused body in small pieces (a sender still writing would get a reset instead of
        the answer), up to a bound: past it the connection is simply closed."""
        left = min(length, DISCARD_MAX_BYTES)
        while left > 0 and (chunk := self.rfile.read(min(left, 65536))):
            left -= len(chunk)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(200, b"ok") if self.path == HEALTH_PATH else self._answer(404, b"not_found")

    def _answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting; its timeout is its own error

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug(format, *args)


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True  # a sender that hangs must not hold up shutdown

    def __init__(self, port: int, deliver: Deliver, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.deliver = deliver

    @property
    def port(self) -> int:
        return self.server_address[1]


@dataclass(frozen=True)
class Received:
    path: str
    body: dict[str, Any]
    status: int


class SlackReceiver:
    """The receiver in this process, keeping messages in memory, with Slack's faults on demand: down
    (nothing listens on its port: connection refused), answering ``status`` (500: Slack failing), or
    taking ``hang`` seconds per post and then answering ``504`` (the gateway gave up, nothing was
    posted). It records every post with the status it answered; ``messages`` are the ones Slack would
    have posted. The tests' Slack fixtures and the reliability drills (include/drills) use it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._status = 200
        self._hang_seconds = 0.0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._port = 0
        self._serve()

    def _serve(self) -> None:
        # The product's receiver (what `make demo` runs), keeping messages here instead of in a file.
        self._server = ReceiverServer(self._port, self._record)
        self._port = self._server.port
        # A short poll interval: shutdown() waits up to one interval, and every test closes a receiver.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="slack-receiver", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/services/T0/B0/X"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Bodies answered with 200: what Slack would have posted."""
        with self._lock:
            return [r.body for r in self.received if r.status == 200]

    def airflow_conn_json(self) -> str:
        return json.dumps({"conn_type": "slackwebhook", "password": self.url})

    def answer(self, status: int = 200) -> None:
        self._status, self._hang_seconds = status, 0.0

    def hang(self, seconds: float) -> None:
        self._hang_seconds = seconds

    def down(self) -> None:
        """Stop listening: a post is refused at the TCP level, as when Slack cannot be reached."""
        self._server.shutdown()
        self._server.server_close()

    def up(self) -> None:
        """Listen again on the same port (the webhook URL senders hold stays valid)."""
        self._serve()

    def close(self) -> None:
        self._closing.set()
        self.down()

    def _record(self, message: Message) -> int:
        if self._hang_seconds:
            self._closing.wait(self._hang_seconds)
            status = 504
        else:
            status = self._status
        with self._lock:
            self.received.append(Received(path=message.path, body=message.body, status=status))
        return status


class MessageLog:
    """The messages file: one JSON line per message, appended under a lock so concurrent posts never
    interleave. Opened per message, so a user who deletes the file gets a fresh one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def deliver(self, message: Message) -> int:
        try:
            with self._lock, self.path.open("a", encoding="ascii") as out:
                out.write(message.json_line())
        except OSError as exc:  # a full disk: the sender hears it and retries, like Slack being down
            log.error("could not keep a message for %s: %s", message.path, exc)
            return 500
        log.info("kept a message for %s", message.channel or message.path)
        return 200

    def read(self) -> Iterator[Message]:
        if not self.path.exists():
            return
        with self.path.open(encoding="ascii", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    yield Message.from_json_line(line)
                except (ValueError, KeyError, TypeError):
                    log.warning("%s:%d is not a message line; skipped", self.path, number)


def is_receiver_url(url: str | None) -> bool:
    """True for the webhook URL the local stack gives its Slack connection (any earlier port too):
    setup may replace that, never a webhook the user configured."""
    parts = urlsplit(url or "")
    return parts.hostname == "127.0.0.1" and parts.path == DEMO_WEBHOOK_PATH


def webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{DEMO_WEBHOOK_PATH}"


def print_messages(messages: Iterable[Message], say: Callable[[str], None] = print) -> int:
    count = 0
    for message in messages:
        say(message.summary())
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local_stack.slack_receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--messages", type=Path, required=True, help="the JSON-lines file to append to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.messages.parent.mkdir(parents=True, exist_ok=True)
    server = ReceiverServer(args.port, MessageLog(args.messages).deliver)
    log.info("Slack receiver on http://127.0.0.1:%d, messages to %s", server.port, args.messages)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
