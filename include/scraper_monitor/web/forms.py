"""Forms that change something (accepting a rule on the Errors panel) are sent from this app's own
pages only.

Airflow's login is a cookie (SameSite=Lax): a page on a sibling subdomain, which SameSite counts as
the same site, could still make a logged-in browser post a form with it. Two checks refuse that:

- the form carries a token its page was rendered with: the time it was issued and an HMAC, under the
  deployment's secret, of that time and the editor's name. It is good for ``TOKEN_HOURS``, for that
  user only, and every api-server worker can check it (they share the secret, not a session store).
- a browser's ``Sec-Fetch-Site``, ``Origin`` (else ``Referer``) headers, when sent, must say this
  site: a cross-site post is refused before the token is even looked at.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from fastapi import Request

TOKEN_HOURS = 8


def issue_token(secret: bytes, editor: str, *, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_sign(secret, editor, issued)}"


def token_is_valid(secret: bytes, editor: str, token: str, *, now: float | None = None) -> bool:
    issued, _, signature = token.partition(".")
    if not issued.isdigit() or not signature:
        return False
    age = (time.time() if now is None else now) - int(issued)
    fresh = -60 <= age <= TOKEN_HOURS * 3600  # a minute of clock skew between api-server hosts
    return fresh and hmac.compare_digest(signature, _sign(secret, editor, issued))


def _sign(secret: bytes, editor: str, issued: str) -> str:
    # A label in the message: the same secret signs other things in Airflow, never this shape.
    message = f"scraper-monitor form\n{editor}\n{issued}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def from_this_site(request: Request) -> bool:
    """False when the browser says the request comes from another site or origin."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True  # not a browser that says (old browsers, scripts): the token decides alone
    # Behind a proxy the Host may be rewritten; the forwarded host is what the browser saw.
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None}
    return urlsplit(source).netloc in hosts
