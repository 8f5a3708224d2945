"""Kino Krakow site access. The selected day lives in the Rails session, so each day needs its own.

The origin passed one session's cookie to all seven day jobs; concurrent ``set_day`` calls then
overwrote each other and days silently showed another day's program. Here a ``KinoSession`` is
opened per day and never shared.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from scrapers.errors import CsrfTokenMissing, CsrfTokenRejected, HttpStatusError
from scrapers.http import HttpClient, SiteConfig
from scrapers.kino_krakow.parser import csrf_token

log = logging.getLogger(__name__)

PROGRAM_PATH = "/cinema_program/by_movie"
DAYS_SELECTABLE = 7  # set_day accepts 0..6


def _set_cookies(response: requests.Response) -> dict[str, str]:
    """``name=value`` of every Set-Cookie header of the response and of every redirect before it
    (attributes after the first ';' dropped). ``set_day`` may answer 302: Rails sets the session
    cookie that carries the day on that redirect, not on the page it leads to."""
    cookies = {}
    for hop in (*response.history, response):
        for header in hop.raw.headers.getlist("Set-Cookie") if hop.raw is not None else []:
            name, sep, value = header.split(";", 1)[0].partition("=")
            if sep and name.strip():
                cookies[name.strip()] = value.strip()
    return cookies


@dataclass
class KinoSession:
    """One site session: its cookies and CSRF token. Use it for one day only."""

    http: HttpClient
    cookies: dict[str, str]
    token: str
    #: (html, url) of the programme page the session was opened on: day 0, as a new visitor sees it.
    landing: tuple[str, str] = field(default=("", ""), repr=False)
    #: The programme page set_day's redirect already brought (the real site answers 302 to it).
    _redirected_page: str | None = field(default=None, repr=False)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def set_day(self, day: int) -> None:
        if not 0 <= day < DAYS_SELECTABLE:
            raise ValueError(f"day must be 0..{DAYS_SELECTABLE - 1}, got {day}")
        try:
            response = self.http.post(
                f"/settings/set_day/{day}",
                headers={
                    "Accept": "*/*",
                    "X-CSRF-Token": self.token,
                    "Cookie": self.cookie_header,
                    "X-Requested-With": "XMLHttpRequest",
                    "Referer": self.http.config.url(PROGRAM_PATH),
                },
            )
        except HttpStatusError as exc:
            if exc.status == 422:  # Rails' InvalidAuthenticityToken
                raise CsrfTokenRejected(
                    f"set_day/{day} refused the session's CSRF token (HTTP 422)", url=exc.url, status=422
                ) from None
            raise
        # Rails re-issues the session cookie when the session changes; the old one may not carry the day.
        self.cookies.update(_set_cookies(response))
        redirected = response.history and response.url.split("?")[0].endswith(PROGRAM_PATH)
        self._redirected_page = response.text if redirected else None

    def program_page(self) -> tuple[str, str]:
        """(html, url) of the program for the selected day: the page set_day was redirected to,
        else a GET with the session's cookies."""
        if self._redirected_page is not None:
            page, self._redirected_page = self._redirected_page, None
            return page, self.http.config.url(PROGRAM_PATH)
        response = self.http.get(PROGRAM_PATH, headers={"Cookie": self.cookie_header})
        self.cookies.update(_set_cookies(response))
        return response.text, self.http.config.url(PROGRAM_PATH)


@dataclass
class KinoKrakowClient:
    site: SiteConfig
    sleep: Callable[[float], None] = time.sleep
    _http: HttpClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = HttpClient(self.site, sleep=self.sleep)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KinoKrakowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_session(self) -> KinoSession:
        """GET the program page for a fresh session cookie and its CSRF token."""
        response = self._http.get(PROGRAM_PATH)
        url = self.site.url(PROGRAM_PATH)
        token = csrf_token(response.text, url=url)
        if not token:
            raise CsrfTokenMissing(
                "program page has no csrf-token meta tag", url=url, selector="meta[name=csrf-token]"
            )
        cookies = _set_cookies(response)
        log.debug("opened a site session (%d cookies)", len(cookies))
        return KinoSession(http=self._http, cookies=cookies, token=token, landing=(response.text, url))

    def movie_page(self, slug: str) -> tuple[str, str]:
        # The slug comes from the site: quote it so it cannot walk to another path.
        path = f"/film/{quote(slug, safe='')}.html"
        return self._http.get_text(path), self.site.url(path)
