"""Fault rules: which requests misbehave, how, and for how long.

A rule matches requests by site, path (glob or regex, with ``{day+N}`` date placeholders), method,
Kino Krakow day and query parameters. ``first_n`` makes a rule transient: it fails the first N
requests it matches and then lets requests through, which is what a scraper's retries are supposed
to survive; ``requests: [from, to]`` fails the from-th to the to-th instead. ``from_s``/``until_s``
limit a rule to a time window since the simulator started (or was reset): "429 for 5 minutes".
The same engine serves live requests and runs inside ``predict()``, so the prediction cannot drift
from what the server does.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from fnmatch import fnmatchcase

SITES: tuple[str, ...] = ("cinema_city", "kino_krakow", "tmdb")

#: Endpoints of each site, as the server classifies requests (see the site modules).
ENDPOINTS: dict[str, tuple[str, ...]] = {
    "cinema_city": ("cinemas", "dates", "film_events"),
    "kino_krakow": ("program", "set_day", "film"),
    "tmdb": ("search", "movie"),
}

_ALL = frozenset((site, ep) for site, eps in ENDPOINTS.items() for ep in eps)
_JSON = frozenset(pair for pair in _ALL if pair[0] in ("cinema_city", "tmdb"))

#: Where each fault kind can apply. A rule only matches requests its kind can affect, so a counter is
#: never spent on a request the fault would not change.
KIND_ENDPOINTS: dict[str, frozenset[tuple[str, str]]] = {
    "status": _ALL,
    "delay": _ALL,
    "truncated_json": _JSON,
    "invalid_json": _JSON,
    # TMDB emptiness is a film property (tmdb: no_result), not a fault.
    "empty": frozenset(pair for pair in _ALL if pair[0] == "cinema_city") | {("kino_krakow", "program")},
    "selector_removed": frozenset({("kino_krakow", "program")}),
    "csrf_missing": frozenset({("kino_krakow", "program")}),
    "csrf_rejected": frozenset({("kino_krakow", "set_day")}),
    # 200 as usual, but the session keeps the day it had: its programme page shows another day.
    "day_not_switched": frozenset({("kino_krakow", "set_day")}),
    # One cell of the answer's first row is gone or unreadable (``field``, see CELL_FIELDS).
    "drop_field": frozenset({("cinema_city", "film_events"), ("kino_krakow", "program")}),
    "garble_field": frozenset({("cinema_city", "film_events"), ("kino_krakow", "program")}),
}
KINDS: tuple[str, ...] = tuple(KIND_ENDPOINTS)
CELL_KINDS: tuple[str, ...] = ("drop_field", "garble_field")
#: The cells a cell fault can damage, per site (the first showtime's time, the first film's title, the
#: first event's attribute list).
CELL_FIELDS: dict[str, tuple[str, ...]] = {
    "cinema_city": ("showtime_time", "film_title", "event_attributes"),
    "kino_krakow": ("showtime_time", "film_title"),
}

_PLACEHOLDER = re.compile(r"\{day(?:([+-])(\d+))?\}")


@dataclass(frozen=True)
class Request:
    """What a fault rule can see of one request."""

    site: str
    method: str
    path: str  # after the site prefix, e.g. /settings/set_day/3
    endpoint: str | None  # None: no such route (404)
    day: int | None = None  # Kino Krakow: the day offset the request is about
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultRule:
    """One rule of a scenario's ``faults:`` list (validated by ``sitesim.scenario``)."""

    name: str
    site: str
    kind: str
    path: str | None = None
    regex: str | None = None
    method: str | None = None
    day: int | None = None
    query: tuple[tuple[str, str], ...] = ()
    first_n: int | None = None
    status: int | None = None
    retry_after: int | None = None
    seconds: float | None = None
    requests: tuple[int, int | None] | None = None  # the from-th to the to-th matched request (None: on)
    from_s: float | None = None  # active from this many seconds after the simulator started
    until_s: float | None = None  # ... until this many
    field: str | None = None  # the cell a drop_field / garble_field rule damages

    def applies_to(self, site: str, endpoint: str) -> bool:
        return (site, endpoint) in KIND_ENDPOINTS[self.kind]

    @property
    def days(self) -> frozenset[int]:
        """The day offsets the rule names (``day:`` and ``{day+N}`` in its path or regex); empty: any day."""
        named = {self.day} if self.day is not None else set()
        for pattern in (self.path, self.regex):
            for sign, number in _PLACEHOLDER.findall(pattern or ""):
                named.add(int(number or 0) * (-1 if sign == "-" else 1))
        return frozenset(named)

    @property
    def transient(self) -> bool:
        """Whether the rule lets some matched requests through (it counts them)."""
        return self.first_n is not None or self.requests is not None

    def active_for(self, count: int) -> bool:
        """Whether the rule acts on the ``count``-th request it matched."""
        if self.first_n is not None and count > self.first_n:
            return False
        if self.requests is not None:
            low, high = self.requests
            return low <= count and (high is None or count <= high)
        return True


def expand_days(pattern: str, anchor: date) -> str:
    """Replace ``{day}``, ``{day+N}``, ``{day-N}`` with ISO dates relative to the anchor."""

    def expand(match: re.Match[str]) -> str:
        sign, number = match.groups()
        offset = int(number or 0) * (-1 if sign == "-" else 1)
        return (anchor + timedelta(days=offset)).isoformat()

    return _PLACEHOLDER.sub(expand, pattern)


@dataclass(frozen=True)
class _BoundRule:
    rule: FaultRule
    path_glob: str | None
    path_regex: re.Pattern[str] | None

    def matches(self, req: Request) -> bool:
        rule = self.rule
        if req.site != rule.site or req.endpoint is None or not rule.applies_to(req.site, req.endpoint):
            return False
        if rule.method is not None and req.method != rule.method:
            return False
        if rule.day is not None and req.day != rule.day:
            return False
        if self.path_glob is not None and not fnmatchcase(req.path, self.path_glob):
            return False
        if self.path_regex is not None and not self.path_regex.fullmatch(req.path):
            return False
        return all(
            fnmatchcase(req.query.get(key, "").casefold(), pattern.casefold()) for key, pattern in rule.query
        )


class FaultEngine:
    """Matches requests against the rules, in order, keeping one counter per rule.

    A request walks the rules in order; each rule it matches counts it, and the first rule that is
    still active for that count (always, count <= first_n, or within ``requests``) decides the fault.
    Later rules only see requests that earlier ones let through, so rules compose: "two 503s, then
    one 429". A rule outside its time window neither matches nor counts.
    """

    def __init__(
        self, rules: tuple[FaultRule, ...], anchor: date, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rules = tuple(
            _BoundRule(
                rule=rule,
                path_glob=expand_days(rule.path, anchor) if rule.path is not None else None,
                path_regex=re.compile(expand_days(rule.regex, anchor)) if rule.regex is not None else None,
            )
            for rule in rules
        )
        self._counts = [0] * len(self._rules)
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()

    def match(self, req: Request) -> FaultRule | None:
        with self._lock:
            elapsed = self._clock() - self._started
            for index, bound in enumerate(self._rules):
                if not bound.matches(req) or not _in_window(bound.rule, elapsed):
                    continue
                self._counts[index] += 1
                if bound.rule.active_for(self._counts[index]):
                    return bound.rule
            return None

    def matches_any(self, rule: FaultRule, req: Request) -> bool:
        """Whether ``rule`` would match ``req`` (no counting): used to classify rules in predictions."""
        return next(b for b in self._rules if b.rule is rule).matches(req)

    def reset(self) -> None:
        """Counters back to zero, and time windows restart from now."""
        with self._lock:
            self._counts = [0] * len(self._rules)
            self._started = self._clock()

    def counts(self) -> dict[str, int]:
        """Requests matched so far, per rule name."""
        with self._lock:
            return {bound.rule.name: count for bound, count in zip(self._rules, self._counts, strict=True)}


GARBLED = "\ufffd\ufffd\ufffd"  # what a broken encoding leaves of a value


def damaged(value: str, kind: str) -> str:
    """A cell as a drop_field (empty) or garble_field (unreadable) rule serves it."""
    return "" if kind == "drop_field" else GARBLED


def _in_window(rule: FaultRule, elapsed: float) -> bool:
    if rule.from_s is not None and elapsed < rule.from_s:
        return False
    return rule.until_s is None or elapsed < rule.until_s
