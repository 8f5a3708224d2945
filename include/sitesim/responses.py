"""HTTP responses as values, so site modules stay free of socket handling and are easy to test."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    session: str | None = None  # Kino Krakow session id, for the request log


def json_response(data: Any, status: int = 200) -> Response:
    """Compact UTF-8 JSON with keys in insertion order: same data, same bytes."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode("utf-8"), "text/html; charset=utf-8")


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_error(status: int) -> Response:
    return json_response({"status_code": status, "status_message": reason(status), "success": False}, status)


def html_error(status: int) -> Response:
    title = f"{status} {reason(status)}"
    return html_response(
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>",
        status,
    )
