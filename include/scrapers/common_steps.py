"""Steps and step helpers shared by both chains.

Both chains end the same way: the listing units name films and showtimes, films are matched once
each, and each unit's showtimes are stored against those matches. A showtime travelling between
steps is a plain dict (XCom) with these keys::

    {"external_id": str | None, "film_key": str | None, "title": str | None,
     "cinema": str | None, "starts_at": ISO-8601 with offset | None, "payload": {...},
     "version": str (optional: the screening's own language and format, "subtitled 3D IMAX")}

and a film dict carries at least ``film_key`` and ``title``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scrapers.outcome import ItemOutcome, MatchQuality, StepResult
from scrapers.sink import MAX_EXTERNAL_ID, ShowtimeRecord, ShowtimeSink
from scrapers.tmdb.client import MovieDetails
from scrapers.tmdb.matching import MatchResult

log = logging.getLogger(__name__)

REQUIRED_SHOWTIME_FIELDS = ("external_id", "film_key", "cinema", "starts_at")


def _successful(results: Iterable[Mapping[str, Any] | None]) -> list[Mapping[str, Any]]:
    """Results of upstream tries that produced one (a failed mapped task leaves None or nothing)."""
    return [r for r in results if r and not r.get("skip_reason")]


def plan_films(unit_results: list[dict[str, Any] | None], units: list[dict[str, Any]]) -> StepResult:
    """The unique films (by ``film_key``, first seen wins) across the units that succeeded.

    Each film also gets ``listed_showtimes``: ``{iso date: its showtimes in the listing}`` over the
    dates whose every unit (of the sync's ``units``) came back, succeeded or legitimately empty, so 0
    is a real "not listed". A date with a failed unit is absent: nothing is known of it. A chain that
    can see a film's screenings another way compares them with this (Kino Krakow's film pages).
    """
    units_ok = _successful(unit_results)
    films: dict[str, dict[str, Any]] = {}
    for unit in units_ok:
        for film in (unit.get("data") or {}).get("films") or []:
            films.setdefault(film["film_key"], dict(film))
    came_back = Counter(_unit_date(r) for r in unit_results if r)
    known = sorted(d for d, n in Counter(u["date"] for u in units).items() if came_back[d] == n)
    listed = {key: dict.fromkeys(known, 0) for key in films}
    for unit in units_ok:
        day = _unit_date(unit)
        for showtime in (unit.get("data") or {}).get("showtimes") or []:
            if day in known and showtime.get("film_key") in listed:
                listed[showtime["film_key"]][day] += 1
    planned = [{**film, "listed_showtimes": listed[key]} for key, film in films.items()]
    return StepResult(counts={"units": len(units_ok), "films": len(films)}, data={"films": planned})


def _unit_date(result: Mapping[str, Any]) -> str | None:
    return ((result.get("data") or {}).get("unit") or {}).get("date")


def film_match_result(
    *,
    external_id: str,
    film_key: str,
    title: str,
    match: MatchResult,
    details: MovieDetails | None = None,
) -> StepResult:
    """A ``movie_details`` result: one film item, and the match (with TMDB's runtime and IMDb id
    when it matched) for ``collect_matches``."""
    quality = MatchQuality(
        title=title,
        confidence=match.confidence,
        method=match.method,
        tmdb_id=match.candidate_id,
        tmdb_title=match.candidate_title,
    )
    if match.matched:
        item = ItemOutcome("film", external_id, "created", match=quality)
    else:
        item = ItemOutcome(
            "film", external_id, "failed", category="validation_error", reason=match.reason, match=quality
        )
    return StepResult(
        counts={"matched": int(match.matched), "not_matched": int(not match.matched)},
        items=[item],
        data={
            "film_key": film_key,
            "matched": match.matched,
            "tmdb_id": match.tmdb_id,
            "confidence": match.confidence,
            "reason": match.reason,
            "title": title,
            "runtime": details.runtime if details else None,
            "imdb_id": details.imdb_id if details else None,
        },
    )


def collect_matches(detail_results: list[dict[str, Any] | None]) -> StepResult:
    """``{film_key: match}`` from the movie_details results that exist; a film whose detail task
    failed is simply absent (its showtimes are then skipped as ``film_detail_missing``)."""
    matches: dict[str, dict[str, Any]] = {}
    for result in _successful(detail_results):
        data = dict(result.get("data") or {})
        film_key = data.pop("film_key", None)
        if film_key is not None:
            matches[film_key] = data
    matched = sum(bool(m.get("matched")) for m in matches.values())
    return StepResult(
        counts={"matched": matched, "not_matched": len(matches) - matched},
        data={"matches": matches},
    )


def _missing_field(showtime: Mapping[str, Any]) -> str | None:
    for name in REQUIRED_SHOWTIME_FIELDS:
        if not showtime.get(name):
            return name
    # The sink refuses such ids (truncating or cleaning could merge two showtimes): the item fails
    # here, with its reason, instead of the whole batch with a ValueError. NUL comes from scraped ids.
    if len(showtime["external_id"]) > MAX_EXTERNAL_ID or "\x00" in showtime["external_id"]:
        return "external_id"
    try:
        datetime.fromisoformat(showtime["starts_at"])
    except (TypeError, ValueError):
        return "starts_at"
    return None


def store_showtimes(
    unit_result: Mapping[str, Any],
    matches: Mapping[str, Mapping[str, Any]],
    sink: ShowtimeSink,
    *,
    source: str,
) -> StepResult:
    """Store one unit's showtimes whose film matched; say what happened to each.

    ``matches`` is ``collect_matches(...).data["matches"]``.
    """
    showtimes = (unit_result.get("data") or {}).get("showtimes") or []
    items: list[ItemOutcome] = []
    records: dict[str, ShowtimeRecord] = {}
    versions: dict[str, str] = {}
    for index, showtime in enumerate(showtimes):
        external_id = showtime.get("external_id") or f"{source}_showtime_without_id_{index}"
        missing = _missing_field(showtime)
        if missing:
            items.append(
                ItemOutcome(
                    "showtime",
                    external_id[:MAX_EXTERNAL_ID],
                    "failed",
                    category="validation_error",
                    reason=f"missing_field:{missing}",
                )  # fmt: skip
            )
            continue
        match = matches.get(showtime["film_key"])
        if match is None:
            items.append(
                ItemOutcome("showtime", external_id, "skipped_expected", reason="film_detail_missing")
            )
        elif not match.get("matched"):
            reason = f"film_not_matched:{match.get('reason') or 'unknown'}"
            items.append(ItemOutcome("showtime", external_id, "skipped_expected", reason=reason))
        elif external_id in records:
            # The listing repeated a screening: storing it twice would count it twice.
            items.append(ItemOutcome("showtime", external_id, "skipped_expected", reason="duplicate_in_unit"))
        else:
            if showtime.get("version"):
                versions[external_id] = f"version:{showtime['version']}"
            records[external_id] = ShowtimeRecord(
                external_id=external_id,
                source=source,
                title=showtime.get("title"),
                tmdb_id=match.get("tmdb_id"),
                cinema=showtime["cinema"],
                starts_at=datetime.fromisoformat(showtime["starts_at"]),
                payload={
                    **(showtime.get("payload") or {}),
                    "tmdb_runtime": match.get("runtime"),
                    "imdb_id": match.get("imdb_id"),
                },
            )
    stored = sink.upsert(list(records.values())) if records else {}
    # A stored showtime's reason is its version: a film shown in several versions then reads, item by
    # item, which screening is which (not a problem: reports only count reasons of skipped/failed items).
    items.extend(ItemOutcome("showtime", eid, stored[eid], reason=versions.get(eid)) for eid in records)
    counts = {
        "showtimes": len(showtimes),
        "created": sum(i.outcome == "created" for i in items),
        "updated": sum(i.outcome == "updated" for i in items),
        "skipped": sum(i.outcome == "skipped_expected" for i in items),
        "failed": sum(i.outcome == "failed" for i in items),
    }
    log.info("stored showtimes of one unit: %s", counts)
    return StepResult(counts=counts, items=items)
