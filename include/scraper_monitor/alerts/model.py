"""What a check reports: an alert that is firing now, with the numbers a reader needs on a phone."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import quote

from scraper_monitor.reports.errors import TopError

Severity = Literal["warning", "critical"]
Event = Literal["opened", "repeat", "resolved"]
EVENTS: tuple[Event, ...] = ("opened", "repeat", "resolved")


@dataclass(frozen=True)
class Fact:
    """One number against its target, e.g. ("Success rate", "72.0 %", "target 85.0 %, alert below 75.0 %")."""

    label: str
    value: str
    target: str | None = None


@dataclass(frozen=True)
class Alert:
    key: str  # stable identity across evaluations: "<check>:<scraper>[:<detail>]"
    check: str
    severity: Severity
    scraper: str
    title: str  # the kind of problem, e.g. "SLO breach"
    summary: str  # what broke, one sentence of plain text (escaped when rendered)
    facts: tuple[Fact, ...] = ()
    top_error: TopError | None = None
    task_id: str | None = None
    panel_path: str = "/scraper-monitor/"  # where to look next, below the Airflow base URL

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Alert:
        data = dict(raw)
        data["facts"] = tuple(Fact(**f) for f in data.get("facts") or ())
        data["top_error"] = TopError(**data["top_error"]) if data.get("top_error") else None
        return cls(**data)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def duration(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def chain_path(dag_id: str, run_id: str) -> str:
    """The run's Chain tab: the dag_run external view registered with url_route "chain"."""
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/plugin/chain"
