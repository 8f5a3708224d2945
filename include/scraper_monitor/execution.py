"""The execution summary: one row per try of one task instance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from scraper_monitor.city import city_key
from scraper_monitor.state import validate_state
from scrapers.outcome import ItemOutcome

MESSAGE_MAX_CHARS = 2000


@dataclass
class ExecutionSummary:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    scraper: str
    logical_date: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error_category: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    fingerprint: str | None = None
    silent: bool = False
    silent_reason: str | None = None
    skip_reason: str | None = None
    hostname: str | None = None
    #: Written by the repair from Airflow's record of the try (``scraper_monitor.recovery``).
    recovered: bool = False
    #: The city the run scraped (``scraper_monitor.city``): a key such as "krakow"; None for a DAG
    #: without a city param. Spool lines written before it existed have none and replay as None.
    city: str | None = None
    items: list[ItemOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        validate_state(self.state)
        if self.error_message is not None and len(self.error_message) > MESSAGE_MAX_CHARS:
            # Scraped text is untrusted and unbounded; keep rows small and predictable.
            self.error_message = self.error_message[: MESSAGE_MAX_CHARS - 1] + "…"
        if self.city is not None:
            # One key per city whoever built the summary (a spool line, the repair, a test).
            self.city = city_key(str(self.city))

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (for the spool file)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif name == "items":
                value = [asdict(i) for i in value]
            out[name] = value
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ExecutionSummary:
        data = dict(raw)
        for name in ("logical_date", "started_at", "ended_at"):
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        data["items"] = [ItemOutcome.from_dict(i) for i in data.get("items") or []]
        return cls(**data)
