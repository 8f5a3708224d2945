"""Predictions: what a correct scraper reports for a scenario, without running a scraper.

Each unit (a Cinema City cinema-day, a Kino Krakow day page) is a fixed request flow, replayed
against the real ``FaultEngine`` under a model of the client: a request that fails retryably
(5xx, 429, a delay beyond the client timeout) is sent again up to ``client_attempts`` times in one
task try; any other failure (a parse error, a 4xx) ends the try; Airflow then runs up to
``task_tries`` tries. Reusing the engine means the prediction applies the rules exactly as the
server will. docs/scenarios.md ("Predictions") spells out the flows and the counting.

The requests outside the units decide whether anything runs at all: the sync's (cinema list,
``dates/in-cinema``, the Kino Krakow programme it parses) and each film's (its Kino Krakow page, its
TMDB searches). A sync that fails leaves no unit; a film whose requests keep failing fails its
``movie_details``, and its showtimes are skipped. Rules whose effect would depend on request timing
(a ``first_n`` rule that several units or films can hit) raise ``CannotPredict`` naming the rule and
why, rather than being predicted wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sitesim.cinema_city import cinemas_path, dates_path, film_events_path, listed_days
from sitesim.faults import CELL_KINDS, FaultEngine, FaultRule, Request
from sitesim.generate import Film, KkCity
from sitesim.kino_krakow import DAYS, PROGRAM, city_path
from sitesim.polish import same_city, slugify
from sitesim.spec import MATCHED_KINDS
from sitesim.tmdb import query_titles

if TYPE_CHECKING:
    from sitesim.scenario import Scenario

CHAINS: tuple[str, ...] = ("cinema_city", "kino_krakow")
KEYS: tuple[str, ...] = (
    "sync_failed",
    "units_total",
    "units_succeeded",
    "units_failed",
    "units_skipped",
    "units_silent",
    "units_retried",
    "films_total",
    "films_matched",
    "films_not_matched",
    "films_failed",
    "films_silent",
    "showtimes_total",
    "showtimes_created",
    "showtimes_skipped",
    "showtime_batches_upstream_failed",
)


class CannotPredict(ValueError):
    """A valid scenario whose outcome the model does not determine: the message says why."""


@dataclass(frozen=True)
class Client:
    """How a correct scraper's HTTP client and Airflow retry."""

    attempts: int  # requests per task try for a retryable failure
    tries: int  # Airflow task tries
    timeout: float  # seconds

    def retryable(self, rule: FaultRule) -> bool:
        if rule.kind == "status":
            return rule.status is not None and (rule.status >= 500 or rule.status == 429)
        return rule.kind == "delay" and (rule.seconds or 0) >= self.timeout

    def survives(self, rule: FaultRule) -> bool:
        """Whether the requests a ``first_n`` rule fails are all absorbed within the task tries."""
        per_try = self.attempts if self.retryable(rule) else 1
        return rule.first_n is not None and rule.first_n < per_try * self.tries


@dataclass(frozen=True)
class _Step:
    request: Request
    role: str  # "session" (first page of a session), "set_day" or "data"
    shared: bool  # also sent by other units


@dataclass(frozen=True)
class _Stuck:
    """Kino Krakow: the unit's page when its set_day answered but did not switch the day. The session
    keeps no day, so the page is day 0's, and rules with a ``day`` do not see the request."""

    data: Request
    showtimes: tuple[tuple[Film, int], ...]  # day 0's
    wrong_date: bool  # day 0's rows carry day 0's date: the scraper's date check fails the unit


@dataclass(frozen=True)
class _Unit:
    name: str
    steps: tuple[_Step, ...]
    listed: bool  # Cinema City: in dates/in-cinema as the sync saw it; Kino Krakow: has a programme
    showtimes: tuple[tuple[Film, int], ...]  # as served without faults
    forced_empty_is_silent: bool  # Kino Krakow: a table without rows is silent even on a notice day
    stuck: _Stuck | None = None  # Kino Krakow: the page when set_day does not switch the day


@dataclass(frozen=True)
class _Outside:
    """The requests a chain sends outside its units."""

    sync: tuple[Request, ...]  # any of them failing fails the sync task, and nothing downstream runs
    film_pages: dict[Film, Request]  # Kino Krakow: a film page that fails fails its movie_details
    tmdb: dict[Film, tuple[Request, ...]]  # searches and details a film's movie_details may send


def effect(rule: FaultRule | None, role: str, client: Client) -> str:
    """What a fault does to one request: ok, retry, fail or empty. Roles: "session" (first page of a
    unit's session), "set_day", "data" (the unit's data), "sync" (read by the sync task), "film"."""
    if rule is None:
        return "ok"
    kind = rule.kind
    if kind in ("status", "delay"):
        if kind == "delay" and not client.retryable(rule):
            return "ok"  # slow, but within the timeout
        return "retry" if client.retryable(rule) else "fail"
    if kind in ("truncated_json", "invalid_json", "csrf_rejected"):
        return "fail"
    if kind == "day_not_switched":
        return "stuck"
    if kind == "empty":
        return "empty" if role in ("data", "sync") else "ok"
    if kind == "selector_removed":
        return "fail" if role in ("data", "sync") else "ok"  # the sync parses the programme too
    # csrf_missing: only the page the token comes from, a day's session or the Kino Krakow sync's
    # health check (which opens a session before the fan-out).
    return "fail" if role in ("session", "sync") else "ok"


def predict_chain(
    scenario: Scenario,
    chain: str,
    *,
    city_name: str,
    days_ahead: int,
    client_attempts: int,
    task_tries: int,
    client_timeout: float,
    anchor: date,
) -> dict[str, int]:
    if min(days_ahead, client_attempts, task_tries) < 1:
        raise ValueError("days_ahead, client_attempts and task_tries must be >= 1")
    client = Client(client_attempts, task_tries, client_timeout)
    if chain == "cinema_city":
        units, outside = _cinema_city_units(scenario, city_name, days_ahead, anchor, client)
    elif chain == "kino_krakow":
        city = scenario.catalog.kk_cities.get(slugify(city_name))
        if city is None:
            # The connection places any city, but the site family has no such site: every page
            # answers 404, and the sync fails on the first.
            return {**dict.fromkeys(KEYS, 0), "sync_failed": 1}
        units, outside = _kino_krakow_units(scenario, city, days_ahead, anchor)
    else:
        raise ValueError(f"unknown chain {chain!r}; expected one of {', '.join(CHAINS)}")
    engine = FaultEngine(scenario.faults, anchor)
    _check_rules(scenario.faults, engine, units, outside, client)

    counts = dict.fromkeys(KEYS, 0)
    if any(_final(scenario, req, "sync", anchor, client) == "failed" for req in outside.sync):
        counts["sync_failed"] = 1  # no unit, no film: the whole run is this one failure
        return counts
    films: set[Film] = set()
    lost: set[Film] = set()  # films whose rows a silent unit's page lost
    showtimes: list[tuple[Film, int]] = []
    for unit in units:
        # A fresh engine per unit: first_n rules reach at most one unit (checked above), and shared
        # ones are harmless, so counters never carry information from one unit to another.
        state, tries = _simulate(unit, FaultEngine(scenario.faults, anchor), client)
        counts["units_total"] += 1
        if state == "failed":
            counts["units_failed"] += 1
            counts["showtime_batches_upstream_failed"] += 1
            continue
        if state == "skipped":
            counts["units_skipped"] += 1
            # Only a day whose set_day did not switch is skipped with rows of its own: it showed day
            # 0's notice, and its films' pages disagree with the day pages, as after a silent day.
            lost.update(film for film, _ in unit.showtimes)
            continue
        counts["units_succeeded"] += 1
        counts["units_retried"] += tries > 1
        if state == "silent":
            counts["units_silent"] += 1
            lost.update(film for film, _ in unit.showtimes)
            continue
        films.update(film for film, _ in unit.showtimes)
        showtimes.extend(unit.showtimes)
    failed = {film for film in films if _film_fails(scenario, film, outside, anchor, client)}
    for film, n in showtimes:
        # A film without its details has its showtimes skipped (film_detail_missing), like an unmatched one.
        created = film.tmdb in MATCHED_KINDS and film not in failed
        counts["showtimes_total"] += n
        counts["showtimes_created" if created else "showtimes_skipped"] += n
    counts["films_total"] = len(films)
    counts["films_failed"] = len(failed)
    counts["films_matched"] = sum(f.tmdb in MATCHED_KINDS for f in films - failed)
    counts["films_not_matched"] = len(films - failed) - counts["films_matched"]
    if chain == "kino_krakow":
        # A film page lists its film's screenings whatever the day pages showed: a film planned from
        # other days whose rows a silent day lost disagrees with its page, and movie_details says so.
        counts["films_silent"] = len((films - failed) & lost)
    return counts


def _simulate(unit: _Unit, engine: FaultEngine, client: Client) -> tuple[str, int]:
    """Run the unit's tries; returns (succeeded | silent | skipped | failed, tries used)."""
    for attempt in range(1, client.tries + 1):
        state = _run_try(unit, engine, client)
        if state != "failed":
            return state, attempt
    return "failed", client.tries


def _run_try(unit: _Unit, engine: FaultEngine, client: Client) -> str:
    forced_empty = stuck = False
    for step in unit.steps:
        request = unit.stuck.data if stuck and unit.stuck and step.role == "data" else step.request
        outcome = _send(request, step.role, engine, client)
        if outcome == "failed":
            return "failed"
        forced_empty = forced_empty or outcome == "empty"
        stuck = stuck or outcome == "stuck"
    if stuck and unit.stuck and not forced_empty:
        # The page is day 0's: its notice (skipped, whatever the day holds), or its rows.
        if not unit.stuck.showtimes:
            return "skipped"
        return "failed" if unit.stuck.wrong_date else "succeeded"
    if unit.showtimes and not forced_empty:
        return "succeeded"
    if forced_empty and unit.forced_empty_is_silent:
        return "silent"
    return "silent" if unit.listed else "skipped"


def _send(req: Request, role: str, engine: FaultEngine, client: Client) -> str:
    """One request within one task try, with the client's retries: ok, empty or failed."""
    outcome = "retry"
    for _ in range(client.attempts):
        outcome = effect(engine.match(req), role, client)
        if outcome != "retry":
            break
    return "failed" if outcome in ("retry", "fail") else outcome


def _final(scenario: Scenario, req: Request, role: str, anchor: date, client: Client) -> str:
    """How a request sent on its own ends after every client retry and task try: ok, empty or failed.
    Requests outside the units are judged one at a time (rules on them are always-on, or first_n
    rules that only this request can spend, see _check_rules)."""
    engine = FaultEngine(scenario.faults, anchor)
    for _ in range(client.tries):
        outcome = _send(req, role, engine, client)
        if outcome != "failed":
            return outcome
    return "failed"


def _film_fails(scenario: Scenario, film: Film, outside: _Outside, anchor: date, client: Client) -> bool:
    """Whether the film's movie_details fails: its Kino Krakow page fails, or every TMDB request it
    could send does. When only some of its TMDB requests fail, the outcome depends on which ones the
    scraper sends, which the model does not know."""
    page = outside.film_pages.get(film)
    if page is not None and _final(scenario, page, "film", anchor, client) == "failed":
        return True
    tmdb = outside.tmdb.get(film, ())
    failing = [req for req in tmdb if _final(scenario, req, "film", anchor, client) == "failed"]
    if failing and len(failing) < len(tmdb):
        raise CannotPredict(
            f"TMDB faults fail {len(failing)} of the {len(tmdb)} requests film {film.title_pl!r} may send"
            f" (e.g. {failing[0].path} {dict(failing[0].query)}); whether its movie_details fails depends on"
            " which of them the scraper sends. Make the rule match all of a film's searches, or none"
        )
    return bool(failing)


def _check_rules(
    rules: Iterable[FaultRule],
    engine: FaultEngine,
    units: list[_Unit],
    outside: _Outside,
    client: Client,
) -> None:
    film_requests = [*outside.film_pages.values(), *(r for reqs in outside.tmdb.values() for r in reqs)]
    chain_requests = [*outside.sync, *film_requests, *(s.request for u in units for s in u.steps)]
    for rule in rules:
        where = f"fault {rule.name!r}"
        counting = f"{where} ({_counting(rule)})"
        if not any(engine.matches_any(rule, r) for r in chain_requests):
            continue
        if rule.from_s is not None or rule.until_s is not None:
            raise CannotPredict(
                f"{where} has a time window (from_s/until_s): which requests fall inside it depends on"
                " when the run starts and how fast it goes"
            )
        if rule.kind in CELL_KINDS:
            raise CannotPredict(
                f"{where} damages one cell ({rule.kind} {rule.field}): whether a correct scraper skips"
                " that row, fails the unit or stores what is left is its own choice, which the model does"
                " not fix"
            )
        harmful = rule.kind not in ("delay", "empty", "csrf_missing") or client.retryable(rule)
        if (
            rule.transient
            and harmful
            and not client.survives(rule)
            and any(engine.matches_any(rule, r) for r in film_requests)
        ):
            raise CannotPredict(
                f"{counting} fails film pages or TMDB requests beyond the retries; which films'"
                " movie_details absorb the failures depends on timing. Make it an outage (no first_n or"
                " requests) or keep first_n below the retries"
            )
        for unit in units:
            for step in unit.steps:
                if not step.shared or not rule.transient or not engine.matches_any(rule, step.request):
                    continue
                outcome = effect(rule, step.role, client)
                absorbed = outcome == "retry" and rule.first_n is not None and rule.first_n < client.attempts
                if outcome != "ok" and not absorbed:
                    raise CannotPredict(
                        f"{counting} hits a request several units send ({step.request.path});"
                        " which unit absorbs it would depend on timing. Target one unit's own request"
                        " (film-events path, set_day path, or a Kino Krakow day)"
                    )
        hit = [
            u.name for u in units if any(engine.matches_any(rule, s.request) for s in u.steps if not s.shared)
        ]
        if rule.transient and len(hit) > 1:
            raise CannotPredict(
                f"{counting} matches {len(hit)} units ({', '.join(hit[:3])}, ...); which of them"
                " absorbs the failures would depend on timing. Narrow its path or day to one unit"
            )


def _counting(rule: FaultRule) -> str:
    """How a transient rule counts, as the scenario file says it."""
    if rule.requests is not None:
        low, high = rule.requests
        return f"requests=[{low}, {'null' if high is None else high}]"
    return f"first_n={rule.first_n}"


def _tmdb_requests(scenario: Scenario, films: Iterable[Film]) -> dict[Film, tuple[Request, ...]]:
    """Requests each film's movie_details may send: searches (with and without the year, in Polish)
    and the details of a matched film."""
    key = {"api_key": scenario.tmdb_api_key}
    requests: dict[Film, tuple[Request, ...]] = {}
    for film in films:
        own = []
        for title in query_titles(film):
            for extra in ({}, {"language": "pl-PL"}, {"year": str(film.year)}):
                query = {**key, "query": title, **extra}
                own.append(Request("tmdb", "GET", "/3/search/movie", "search", query=query))
            for movie in scenario.catalog.tmdb.search(title) if film.tmdb in MATCHED_KINDS else ():
                own.append(Request("tmdb", "GET", f"/3/movie/{movie.id}", "movie", query=key))
        requests[film] = tuple(own)
    return requests


def _cinema_city_units(
    scenario: Scenario, city_name: str, days_ahead: int, anchor: date, client: Client
) -> tuple[list[_Unit], _Outside]:
    spec, catalog = scenario.cinema_city, scenario.catalog
    until = anchor + timedelta(days=days_ahead)
    cinemas = Request("cinema_city", "GET", cinemas_path(spec.tenant, until), "cinemas")
    sync = [cinemas]
    units = []
    # An empty cinema list is a successful sync with nothing to do.
    listing = () if _final(scenario, cinemas, "sync", anchor, client) == "empty" else spec.cinemas
    for cinema in listing:
        listed = set(listed_days(catalog, cinema.id, days_ahead))
        if not same_city(cinema.city, city_name) or not listed:
            continue  # filtered out by the sync task, or not in cinemas/with-event
        dates = Request("cinema_city", "GET", dates_path(spec.tenant, cinema.id, until), "dates")
        sync.append(dates)
        if _final(scenario, dates, "sync", anchor, client) == "empty":
            listed = set()
        for day in range(days_ahead):
            events = Request(
                "cinema_city",
                "GET",
                film_events_path(spec.tenant, cinema.id, anchor + timedelta(days=day)),
                "film_events",
            )
            cinema_day = catalog.cinema_days.get((cinema.id, day))
            showtimes: tuple[tuple[Film, int], ...] = ()
            if cinema_day is not None:
                showtimes = tuple(
                    (f, sum(e.film_id == f.cc_id for e in cinema_day.events)) for f in cinema_day.films
                )
            units.append(
                _Unit(
                    name=f"{cinema.name} day {day}",
                    steps=(_Step(events, "data", shared=False),),
                    listed=day in listed,
                    showtimes=showtimes,
                    forced_empty_is_silent=False,
                )
            )
    tmdb = _tmdb_requests(scenario, catalog.cc_films)
    return units, _Outside(tuple(sync), {}, tmdb)


def _kino_krakow_units(
    scenario: Scenario, city: KkCity, days_ahead: int, anchor: date
) -> tuple[list[_Unit], _Outside]:
    if days_ahead > DAYS:
        raise ValueError(
            f"Kino Krakow offers {DAYS} days (set_day 0..{DAYS - 1}); days_ahead must be <= {DAYS}"
        )
    root = city_path(city.spec.slug)  # the paths fault rules see: /cities/{slug}/... but Kraków's
    first_page = Request("kino_krakow", "GET", root + PROGRAM, "program", None)
    day_0 = tuple((fd.film, fd.showtimes) for fd in city.programme.get(0, ()))
    units = []
    for day in range(days_ahead):
        programme = city.programme.get(day, ())
        units.append(
            _Unit(
                name=f"day {day}",
                steps=(
                    _Step(first_page, "session", shared=True),
                    _Step(
                        Request("kino_krakow", "POST", f"{root}/settings/set_day/{day}", "set_day", day),
                        "set_day",
                        False,
                    ),
                    _Step(Request("kino_krakow", "GET", root + PROGRAM, "program", day), "data", False),
                ),
                listed=bool(programme),
                showtimes=tuple((fd.film, fd.showtimes) for fd in programme),
                forced_empty_is_silent=True,
                stuck=_Stuck(first_page, day_0, wrong_date=day != 0),
            )
        )
    pages = {f: Request("kino_krakow", "GET", f"{root}/film/{f.slug}.html", "film") for f in city.films}
    return units, _Outside((first_page,), pages, _tmdb_requests(scenario, city.films))
