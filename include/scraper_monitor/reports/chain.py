"""Where did this run break? One DAG run as ordered stages with Airflow's task-instance states, the
store's counts and errors, and cascades collapsed into incidents (``scraper_monitor.chain`` has the
rules; this module reads the store and shapes the answer)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

import psycopg
from pydantic import BaseModel, Field

from scraper_monitor.chain import DagStructure, TaskInstanceRecord, build_chain
from scraper_monitor.reports import executions

log = logging.getLogger(__name__)


class TaskInstanceSource(Protocol):
    """Airflow's view of a DAG run (the api-server reads it from the metadata DB)."""

    def dag_structure(self, dag_id: str, run_id: str) -> DagStructure | None: ...

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceRecord]: ...


@dataclass(frozen=True)
class AirflowView:
    """What Airflow said about the run; ``error`` says why there is nothing (unreachable, 404, ...)."""

    structure: DagStructure | None = None
    task_instances: tuple[TaskInstanceRecord, ...] = ()
    url: str | None = None  # the REST API that was asked; None for the api-server's own database
    error: str | None = None


def read_source(source: TaskInstanceSource | None, dag_id: str, run_id: str) -> AirflowView:
    """The run as ``source`` sees it; a source that fails leaves the store's view, never an error."""
    if source is None:
        return AirflowView(error="no Airflow task-instance source configured")
    try:
        structure = source.dag_structure(dag_id, run_id)
        return AirflowView(structure, tuple(source.task_instances(dag_id, run_id)))
    except Exception as exc:  # e.g. a DAG version that no longer deserializes: the store still has a chain
        log.exception("scraper monitor: cannot read Airflow's task instances of %s/%s", dag_id, run_id)
        return AirflowView(error=f"cannot read Airflow's task instances ({type(exc).__name__})")


class ChainNodeOut(BaseModel):
    task_id: str
    map_index: int
    label: str = Field(description='e.g. "cinema_dates[4]"')
    name: str | None = Field(
        default=None, description='the mapped instance\'s own name, e.g. "Kraków - Bonarka 2025-11-25"'
    )
    state: str = Field(description="the monitor vocabulary plus running, queued and none (not started)")
    try_number: int
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    counts: dict[str, int]
    error_category: str | None
    error_type: str | None
    error_message: str | None
    silent: bool
    silent_reason: str | None
    skip_reason: str | None
    items: dict[str, int] = Field(description="item outcome -> count, for the latest try")
    has_summary: bool = Field(description="false for task instances that never ran")
    blocked_by: str | None = Field(
        description="for upstream_failed: the failed task instance that stopped it"
    )


class StageOut(BaseModel):
    key: str = Field(description="sync, units, films, showtimes or other")
    title: str
    states: dict[str, int]
    counts: dict[str, int]
    items: dict[str, int]
    duration_s: float | None
    nodes: list[ChainNodeOut]


class IncidentOut(BaseModel):
    kind: str = Field(description="failure, empty (the sync found nothing to do), retrying, silent or orphan")
    text: str = Field(
        description='e.g. "cinema_dates[4] failed (network_error: HTTP 503): showtimes[4] never ran", '
        '"Kraków - Galeria Kazimierz: 7 of 7 cinema-days failed, data_quality_error; 7 showtime batches'
        ' never ran", "sync returned 0 cinemas: nothing downstream ran"'
    )
    root: str | None = Field(
        description="label of the root-cause node (the first, when it collapses several)"
    )
    casualties: list[str] = Field(description="labels of the nodes that never ran because of it")
    failed: list[str] = Field(
        default_factory=list, description="labels of the failed nodes a collapsed failure stands for"
    )


class ChainSummaryOut(BaseModel):
    text: str = Field(description='e.g. "20/25 succeeded (80%)"')
    total: int = Field(description="finished task instances, skipped ones excluded")
    succeeded: int
    failed: int
    retrying: int
    upstream_failed: int
    skipped: int
    pending: int
    silent: int
    removed: int = Field(description="mapped task instances Airflow removed (the input shrank); not shown")
    success_rate: float | None


class AirflowOut(BaseModel):
    url: str | None = Field(description="the REST API asked (CLI); null inside the api-server")
    error: str | None = Field(description="why Airflow's states are missing, if they are")


class ChainOut(BaseModel):
    dag_id: str
    run_id: str
    source: str = Field(description='"airflow" when task-instance states came from Airflow, else "store"')
    airflow: AirflowOut
    summary: ChainSummaryOut
    duration_s: float | None
    items: dict[str, int]
    incidents: list[IncidentOut]
    stages: list[StageOut]


def chain(conn: psycopg.Connection, dag_id: str, run_id: str, airflow: AirflowView) -> ChainOut | None:
    """The chain panel, ``GET /api/chains/...`` and ``scraper-monitor chain --json``; None when
    neither Airflow nor the store knows the run."""
    rows = executions.of_run(conn, dag_id, run_id)
    item_counts = executions.item_outcome_counts_of_run(conn, dag_id, run_id)
    if not rows and not airflow.task_instances:
        return None
    built = build_chain(
        airflow.structure or DagStructure(dag_id, ()),
        list(airflow.task_instances),
        [asdict(e) for e in rows],
        [asdict(i) for i in item_counts],
        run_id=run_id,
    )
    summary = built.summary
    return ChainOut(
        dag_id=built.dag_id,
        run_id=built.run_id,
        source="airflow" if airflow.task_instances else "store",
        airflow=AirflowOut(url=airflow.url, error=airflow.error),
        summary=ChainSummaryOut(text=summary.text, success_rate=summary.success_rate, **asdict(summary)),
        duration_s=built.duration_s,
        items=built.items,
        incidents=[
            IncidentOut(
                kind=i.kind,
                text=i.text,
                root=i.root.label if i.root else None,
                casualties=[c.label for c in i.casualties],
                failed=[n.label for n in i.failed],
            )
            for i in built.incidents
        ],
        stages=[
            StageOut(
                key=s.key,
                title=s.title,
                states=s.states,
                counts=s.counts,
                items=s.items,
                duration_s=s.duration_s,
                nodes=[
                    ChainNodeOut(
                        label=n.label,
                        **{k: v for k, v in asdict(n).items() if k not in ("stage", "short_name")},
                    )
                    for n in s.nodes
                ],
            )
            for s in built.stages
        ],
    )
