"""What a scrape step returns: counts, per-item outcomes and the payload for the next step.

A step's result travels through Airflow XCom as a plain dict (``StepResult.to_dict``). The monitor
stores ``counts`` and ``items``; ``data`` is only for downstream tasks. ``skip_reason`` set means
"nothing to do here, and that is expected" (the Airflow glue turns it into a skipped task).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["created", "updated", "skipped_expected", "failed"]
OUTCOMES: tuple[str, ...] = ("created", "updated", "skipped_expected", "failed")


@dataclass(frozen=True)
class MatchQuality:
    """How a film was matched to TMDB, matched or not: what the monitor's Matching view reads."""

    title: str  # the listing's title of the film
    confidence: float  # of the best candidate; 0 when there was none
    method: str | None  # how the best candidate was found (scrapers.tmdb.matching); None: no candidate
    tmdb_id: int | None  # the best candidate: the match, or the film that fell short
    tmdb_title: str | None  # its title as TMDB answered it

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MatchQuality:
        return cls(
            title=raw["title"],
            confidence=float(raw["confidence"]),
            method=raw.get("method"),
            tmdb_id=raw.get("tmdb_id"),
            tmdb_title=raw.get("tmdb_title"),
        )


@dataclass(frozen=True)
class ItemOutcome:
    """The fate of one scraped entity (film, showtime, day page)."""

    entity_type: str
    external_id: str
    outcome: Outcome
    category: str | None = None
    reason: str | None = None
    #: Film items of movie_details only.
    match: MatchQuality | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ItemOutcome:
        return cls(
            entity_type=raw["entity_type"],
            external_id=raw["external_id"],
            outcome=raw["outcome"],
            category=raw.get("category"),
            reason=raw.get("reason"),
            match=MatchQuality.from_dict(raw["match"]) if raw.get("match") else None,
        )


@dataclass
class StepResult:
    counts: dict[str, int] = field(default_factory=dict)
    items: list[ItemOutcome] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.for_monitor(), "data": self.data}

    def for_monitor(self) -> dict[str, Any]:
        """What the monitor records: the counts, item outcomes and skip reason, without the data the
        next task needs (a unit's payload, the films to map over), which can be large."""
        return {
            "counts": dict(self.counts),
            "items": [asdict(i) for i in self.items],
            "skip_reason": self.skip_reason,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StepResult:
        return cls(
            counts={k: int(v) for k, v in (raw.get("counts") or {}).items()},
            items=[ItemOutcome.from_dict(i) for i in raw.get("items") or []],
            data=raw.get("data") or {},
            skip_reason=raw.get("skip_reason"),
        )
