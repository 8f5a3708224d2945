"""Headless Chromium and a loopback web server, shared by the browser tests and the page-load benchmark.

Debian's /usr/bin/chromium (``scripts/install-debian-packages.sh`` installs it) is driven by
Playwright's sync API; Playwright's own browser download is not used, and the networking features
that would call out to Google are switched off. ``serve`` runs an ASGI app on a loopback port in a
thread, mounted under a prefix the way Airflow mounts plugin apps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from local_stack.private import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1360, "height": 900}


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[Any]:
    """A headless Chromium browser context with its own profile folder."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: run scripts/install-debian-packages.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(user_data_dir),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


@contextmanager
def serve(app: Any, prefix: str = "") -> Iterator[str]:
    """Serve ``app`` (under ``prefix``) on 127.0.0.1 in a thread; yields the app's base URL."""
    root: Any = app
    if prefix:
        root = FastAPI()
        root.mount(prefix, app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
