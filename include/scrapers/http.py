"""HTTP access for the scrapers: timeouts, retries with backoff, 429 Retry-After, polite delay.

Every failure leaves as a typed exception from ``scrapers.errors`` carrying the (redacted) URL and
status, so the monitor can file it without reading messages. URLs are redacted before they reach an
exception or a log line: the TMDB key travels as a query parameter.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import urllib3

from scrapers.errors import (
    FetchTimeout,
    HttpStatusError,
    InvalidJson,
    NetworkError,
    RateLimited,
    ResponseTooLarge,
)

log = logging.getLogger(__name__)

# The origin's desktop browser identity; the real sites serve bots differently.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
DEFAULT_ACCEPT_LANGUAGE = "pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7"

_SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "password", "secret"})
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(sorted(_SECRET_PARAMS)) + r")=[^&\s'\"]*",
)
_REDACTED = "***"


def redact_url(url: str) -> str:
    """The URL with the values of secret-looking query parameters replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, _REDACTED if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def redact_text(text: str) -> str:
    """Free text (e.g. a requests exception message quoting the URL) with secret values masked."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}={_REDACTED}", text)


class _RedactSecretsFilter(logging.Filter):
    """Masks secrets in another library's log records (urllib3 logs every request line at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# Import-time on purpose: the first request may be sent before anyone configures logging.
logging.getLogger("urllib3.connectionpool").addFilter(_RedactSecretsFilter())


@dataclass(frozen=True)
class SiteConfig:
    """How to talk to one site. Defaults are the origin's production values."""

    base_url: str
    timeout_s: float = 10.0
    max_attempts: int = 3
    #: Wait before retry n (1-based) is ``backoff_s * 2 ** (n - 1)``: 2 s, 4 s with the default.
    backoff_s: float = 2.0
    #: Courtesy pause before every request, so a chain never hammers the site.
    polite_delay_s: float = 2.0
    retry_after_cap_s: float = 30.0
    #: ``timeout_s`` bounds each wait for bytes; this bounds a whole request, so a server trickling
    #: one byte at a time cannot hold a task until its execution timeout.
    deadline_s: float = 60.0
    #: Larger answers are refused (the real pages are well under 2 MiB).
    max_body_bytes: int = 32 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    accept_language: str = DEFAULT_ACCEPT_LANGUAGE

    def url(self, path: str) -> str:
        """``base_url`` + ``path``. Root-absolute hrefs from pages go through here too, because the
        site may be served under a path prefix (the simulator is)."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpClient:
    """A requests.Session with the retry policy of ``SiteConfig``.

    Stateless about cookies: the session's cookie jar accepts nothing, callers that need a site
    session (Kino Krakow) pass ``Cookie`` explicitly. An implicit shared jar is exactly how the
    origin's concurrent day pages overwrote each other's selected day.
    """

    def __init__(
        self,
        config: SiteConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._session.headers.update(
            {"User-Agent": config.user_agent, "Accept-Language": config.accept_language}
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        response = self.request(
            "GET", path, params=params, headers={"Accept": "application/json", **(headers or {})}
        )
        try:
            return response.json()
        # RecursionError: a body nested deeper than the decoder's stack ("[[[[..."), no answer either.
        except (ValueError, RecursionError) as exc:
            url = redact_url(response.url)
            raise InvalidJson(
                f"response is not valid JSON ({exc.__class__.__name__}: {exc}) from {url}",
                url=url,
                status=response.status_code,
            ) from None

    def get_text(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> str:
        return self.request("GET", path, params=params, headers=headers).text

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        return self.request("GET", path, params=params, headers=headers)

    def post(
        self,
        path: str,
        *,
        data: Mapping[str, Any] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.request("POST", path, data=data, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; return a 2xx/3xx response or raise a typed ``ScraperError``.

        Retried: timeouts, connection errors, 5xx and 429. Not retried: other 4xx (asking again
        gives the same answer).
        """
        url = self.config.url(path)
        attempts = max(1, self.config.max_attempts)
        for attempt in range(1, attempts + 1):
            if self.config.polite_delay_s > 0:
                self._sleep(self.config.polite_delay_s)
            try:
                return self._attempt(method, url, params=params, data=data, headers=headers)
            except (NetworkError, HttpStatusError) as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                wait = self._wait_before_retry(exc, attempt)
                log.warning(
                    "%s %s failed (%s, attempt %d/%d); retrying in %.2f s",
                    method,
                    exc.url,
                    exc.error_type,
                    attempt,
                    attempts,
                    wait,
                )
                self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _read_body(self, response: requests.Response, method: str, safe_url: str, started: float) -> None:
        """Read the body under the size cap and the request deadline, one socket read at a time
        (``read1``: a trickle of bytes never hides inside one long read)."""
        limit, deadline = self.config.max_body_bytes, started + self.config.deadline_s
        declared = response.headers.get("Content-Length", "")
        chunks: list[bytes] = []
        size = 0
        try:
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(
                    f"{method} {safe_url} announced {declared} bytes, more than {limit}; not read",
                    url=safe_url,
                )
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(
                        f"{method} {safe_url} answered more than {limit} bytes; not read", url=safe_url
                    )
                if time.monotonic() > deadline:
                    raise FetchTimeout(
                        f"{method} {safe_url} took longer than {self.config.deadline_s:g} s in all",
                        url=safe_url,
                    )
                chunks.append(chunk)
        except BaseException:
            response.close()  # drop the connection: the rest of the body is not wanted
            raise
        response._content = b"".join(chunks)  # what .text and .json() read, as without streaming
        response._content_consumed = True
        response.close()  # read to the end: the connection goes back to the pool

    def _wait_before_retry(self, exc: Exception, attempt: int) -> float:
        backoff = self.config.backoff_s * 2 ** (attempt - 1)
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.config.retry_after_cap_s)
        return backoff

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | bytes | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        # The prepared URL includes the query string, so redact it before it goes anywhere.
        safe_url = redact_url(requests.Request(method, url, params=params).prepare().url or url)
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=self.config.timeout_s,
                stream=True,
            )
            self._read_body(response, method, safe_url, started)
        # ``from None`` below: the chained requests exception quotes the raw URL (with the API key).
        except requests.Timeout as exc:
            raise FetchTimeout(
                f"{method} {safe_url} timed out after {self.config.timeout_s} s ({exc.__class__.__name__})",
                url=safe_url,
            ) from None
        except requests.ConnectionError as exc:
            raise NetworkError(
                f"{method} {safe_url} connection failed: {redact_text(str(exc))}", url=safe_url
            ) from None
        except requests.RequestException as exc:
            raise NetworkError(f"{method} {safe_url} failed: {redact_text(str(exc))}", url=safe_url) from None
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise FetchTimeout(
                f"{method} {safe_url} timed out after {self.config.timeout_s} s ({exc.__class__.__name__})",
                url=safe_url,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkError(f"{method} {safe_url} failed: {redact_text(str(exc))}", url=safe_url) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug("%s %s -> %d in %.0f ms", method, safe_url, response.status_code, elapsed_ms)
        status = response.status_code
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            raise RateLimited(
                f"{method} {safe_url} rate limited (429, Retry-After={retry_after})",
                url=safe_url,
                retry_after=retry_after,
            )
        if status >= 400:
            raise HttpStatusError(f"{method} {safe_url} answered HTTP {status}", status=status, url=safe_url)
        return response
