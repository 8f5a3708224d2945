"""Typed scraper exceptions.

Each exception carries what went wrong (URL, HTTP status, selector, field) and a ``category`` /
``error_type`` pair from the monitor's public vocabulary, so the monitor can file it without
guessing from the message text. The monitor reads these attributes by duck typing; this package
never imports the monitor.
"""

from __future__ import annotations


class ScraperError(Exception):
    """Base class: a scrape step failed for a reason we understand."""

    category = "unknown_error"
    error_type = "scraper_error"
    #: Whether trying the same request again later may succeed.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        selector: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.status = status
        self.selector = selector
        self.field = field

    def context(self) -> dict[str, str | int]:
        """The structured details, for logs and summaries (never secrets: URLs are stripped of keys)."""
        out: dict[str, str | int] = {}
        for key in ("url", "status", "selector", "field"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class NetworkError(ScraperError):
    category = "network_error"
    error_type = "connection_error"
    retryable = True


class FetchTimeout(NetworkError):
    error_type = "timeout"


class ResponseTooLarge(NetworkError):
    """The site sent more than ``SiteConfig.max_body_bytes``: reading on would risk the worker's memory
    (an out-of-memory kill takes the tasks beside it, and their summaries, with it). Not retried."""

    error_type = "response_too_large"
    retryable = False


class HttpStatusError(ScraperError):
    """The server answered with a status we cannot use."""

    category = "network_error"

    def __init__(self, message: str, *, status: int, url: str | None = None) -> None:
        super().__init__(message, url=url, status=status)
        if status >= 500:
            self.error_type = "http_5xx"
            self.retryable = True
        elif status == 404:
            self.error_type = "not_found"
        elif status in (401, 403):
            self.error_type = "http_auth"
        else:
            self.error_type = "http_4xx"
            self.category = "validation_error"


class RateLimited(HttpStatusError):
    def __init__(self, message: str, *, url: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=429, url=url)
        self.category = "network_error"
        self.error_type = "rate_limited"
        self.retryable = True
        self.retry_after = retry_after


class ParseError(ScraperError):
    """The answer arrived but is not what the parser expects."""

    category = "data_quality_error"
    error_type = "parse_error"


class InvalidJson(ParseError):
    error_type = "invalid_json"


class SelectorMissing(ParseError):
    error_type = "selector_missing"


class UnexpectedShape(ParseError):
    error_type = "invalid_response_structure"


class CsrfTokenMissing(ParseError):
    error_type = "csrf_token_missing"


class CsrfTokenRejected(ParseError):
    """The site refused our CSRF token (Rails answers 422). A fresh session usually fixes it, so
    the task's next try (which opens a new session) is the retry."""

    error_type = "csrf_token_invalid"


class SiteNotConfigured(ScraperError):
    """The configuration cannot say which site to scrape (e.g. a city the connection does not place):
    no retry helps until someone fixes the connection or the run's params."""

    category = "validation_error"
    error_type = "missing_config"


class ValidationFailed(ScraperError):
    """A scraped record lacks a required field or has an invalid value."""

    category = "validation_error"
    error_type = "missing_field"


class TmdbAuthError(HttpStatusError):
    """TMDB refused the API key (401): retrying will not help; the connection needs fixing."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message, status=401, url=url)
