"""A DAG run's chain: ordered stages of task-instance nodes, with cascades collapsed into incidents.

The chain joins three sources that only make sense together: Airflow's task-instance states (the truth
about what ran, including ``upstream_failed`` children that never wrote a summary), the monitor store's
execution summaries (counts, error category and message, silent flag) and item outcomes (per-film /
per-showtime fates). All inputs are plain records, so this module never imports Airflow.

Stages come from the stage table (``scraper_monitor.stages``); a new scraper whose tasks follow the same
step names gets its chain for free, and unknown tasks land in an "Other tasks" stage instead of vanishing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from scraper_monitor.stages import OTHER, STAGE_ORDER, STAGES, StageRule
from scraper_monitor.state import (
    FAILED,
    PENDING_STATES,
    RETRYING,
    SKIPPED,
    SUCCESS,
    UPSTREAM_FAILED,
    from_airflow,
)

MESSAGE_PREVIEW_CHARS = 80
#: Dates in a unit's name ("Kraków - Galeria Kazimierz 2025-11-25", "day 3 (2025-11-27)"): what is
#: left is the entity the unit belongs to, whose failures on several days are one incident.
_DATE_IN_NAME = re.compile(r"\s*\(?\d{4}-\d{2}-\d{2}\)?")


@dataclass(frozen=True)
class TaskSpec:
    """One task of the DAG and the task ids it depends on."""

    task_id: str
    upstream: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The task group prefix ("cinema_day" for "cinema_day.showtimes"); "" at top level."""
        return self.task_id.rpartition(".")[0]


@dataclass(frozen=True)
class DagStructure:
    dag_id: str
    tasks: tuple[TaskSpec, ...]


@dataclass(frozen=True)
class TaskInstanceRecord:
    """The fields of an Airflow task instance the chain needs (from the ORM or the REST API)."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int = 0
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: float | None = None  # seconds, as Airflow stores it
    name: str | None = None  # Airflow's rendered map index, e.g. "Kraków - Bonarka 2025-11-25"


@dataclass
class ChainNode:
    task_id: str
    map_index: int
    state: str
    stage: str
    short_name: str
    try_number: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error_category: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    silent: bool = False
    silent_reason: str | None = None
    skip_reason: str | None = None
    items: dict[str, int] = field(default_factory=dict)  # item outcome -> count
    has_summary: bool = False  # False for children that never ran (no summary was written)
    blocked_by: str | None = None  # for upstream_failed: the label of the failure that stopped it
    name: str | None = None  # the mapped instance's own name (Airflow's rendered map index)

    @property
    def label(self) -> str:
        return self.short_name if self.map_index < 0 else f"{self.short_name}[{self.map_index}]"

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.map_index)


@dataclass
class Stage:
    key: str
    title: str
    nodes: list[ChainNode]

    @property
    def states(self) -> dict[str, int]:
        return dict(Counter(n.state for n in self.nodes))

    @property
    def items(self) -> dict[str, int]:
        return _sum_dicts(n.items for n in self.nodes)

    @property
    def counts(self) -> dict[str, int]:
        return _sum_dicts(n.counts for n in self.nodes)

    @property
    def duration_s(self) -> float | None:
        return _span_seconds(self.nodes)


IncidentKind = Literal["failure", "empty", "retrying", "silent", "orphan"]


@dataclass
class Incident:
    """One root cause and everything it took down with it, as a single readable line."""

    kind: IncidentKind
    text: str
    root: ChainNode | None  # None for "orphan": never-ran nodes whose failed parent is unknown
    casualties: list[ChainNode] = field(default_factory=list)
    #: A "failure" that collapses several failed nodes (one cinema's days, a whole stage): all of them.
    failed: list[ChainNode] = field(default_factory=list)


@dataclass(frozen=True)
class ChainSummary:
    """Finished nodes only: skipped ("nothing to do") and pending nodes are reported beside the rate."""

    total: int
    succeeded: int
    failed: int
    retrying: int
    upstream_failed: int
    skipped: int
    pending: int
    silent: int
    #: Mapped task instances Airflow marked ``removed`` (the mapped input shrank on a clear): no
    #: longer part of the run, so hidden from the stages and counted here only.
    removed: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.total if self.total else None

    @property
    def text(self) -> str:
        if not self.total:
            return "no finished task instances yet"
        # Floor, so "100%" only ever means that everything succeeded.
        return f"{self.succeeded}/{self.total} succeeded ({self.succeeded * 100 // self.total}%)"


@dataclass
class Chain:
    dag_id: str
    run_id: str
    stages: list[Stage]
    incidents: list[Incident]
    summary: ChainSummary

    @property
    def nodes(self) -> list[ChainNode]:
        return [n for s in self.stages for n in s.nodes]

    @property
    def items(self) -> dict[str, int]:
        return _sum_dicts(s.items for s in self.stages)

    @property
    def duration_s(self) -> float | None:
        return _span_seconds(self.nodes)


def build_chain(
    dag_structure: DagStructure,
    task_instances: Iterable[TaskInstanceRecord],
    executions: Iterable[Mapping[str, Any]],
    item_outcomes: Iterable[Mapping[str, Any]],
    *,
    run_id: str,
    stage_rules: Sequence[StageRule] = STAGES,
) -> Chain:
    """Build the chain of one DAG run.

    ``executions`` are store rows (``task_executions`` columns; every try). ``item_outcomes`` are rows
    with ``task_id``, ``map_index``, ``outcome`` and ``items`` (how many items had that outcome).
    Airflow's state wins over the store's; the store supplies counts and errors of the latest try.
    Without task instances (metadata pruned, Airflow unreachable) the store's states are used.
    """
    rules = {r.suffix: r for r in stage_rules}
    specs = {t.task_id: t for t in dag_structure.tasks}
    task_order = {tid: i for i, tid in enumerate(_topological(dag_structure.tasks))}

    latest: dict[tuple[str, int], Mapping[str, Any]] = {}
    for row in executions:
        key = (row["task_id"], int(row["map_index"]))
        if key not in latest or row["try_number"] > latest[key]["try_number"]:
            latest[key] = row

    nodes: dict[tuple[str, int], ChainNode] = {}
    removed: set[tuple[str, int]] = set()
    for ti in task_instances:
        state = from_airflow(ti.state)
        if state is None:
            removed.add((ti.task_id, ti.map_index))
            continue
        node = _new_node(ti.task_id, ti.map_index, state, rules)
        node.try_number = ti.try_number
        node.started_at, node.ended_at, node.duration_s = ti.start_date, ti.end_date, ti.duration
        node.name = ti.name
        nodes[node.key] = node
    for key, row in latest.items():
        if key in removed:  # its rows are from before the input shrank: history, not this run
            continue
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = _new_node(key[0], key[1], row["state"], rules)
            node.try_number = row["try_number"]
        elif node.state in PENDING_STATES and row["try_number"] < node.try_number:
            continue  # cleared and not finished again: the old try says nothing about this one
        _apply_summary(node, row)

    for row in item_outcomes:
        node = nodes.get((row["task_id"], int(row["map_index"])))
        if node is not None:
            node.items[row["outcome"]] = node.items.get(row["outcome"], 0) + int(row.get("items", 1))

    def sort_key(n: ChainNode) -> tuple[int, int, str, int]:
        return (
            STAGE_ORDER.index(n.stage),
            task_order.get(n.task_id, len(task_order)),
            n.task_id,
            n.map_index,
        )

    ordered = sorted(nodes.values(), key=sort_key)
    stages: list[Stage] = []
    for node in ordered:
        if not stages or stages[-1].key != node.stage:
            stages.append(Stage(key=node.stage, title="", nodes=[]))
        stages[-1].nodes.append(node)
    for stage in stages:
        titles = dict.fromkeys(_rule_for(n.task_id, rules).title for n in stage.nodes)
        stage.title = " / ".join(titles)

    incidents = _incidents(ordered, nodes, specs, rules)
    return Chain(
        dag_id=dag_structure.dag_id,
        run_id=run_id,
        stages=stages,
        incidents=incidents,
        summary=_summarize(ordered, removed=len(removed)),
    )


def _new_node(task_id: str, map_index: int, state: str, rules: Mapping[str, StageRule]) -> ChainNode:
    rule = _rule_for(task_id, rules)
    short = task_id.rsplit(".", 1)[-1]
    return ChainNode(task_id=task_id, map_index=map_index, state=state, stage=rule.stage, short_name=short)


def _rule_for(task_id: str, rules: Mapping[str, StageRule]) -> StageRule:
    return rules.get(task_id.rsplit(".", 1)[-1], OTHER)


def _apply_summary(node: ChainNode, row: Mapping[str, Any]) -> None:
    node.has_summary = True
    node.counts = {k: int(v) for k, v in (row.get("counts") or {}).items()}
    node.error_category = row.get("error_category")
    node.error_type = row.get("error_type")
    node.error_message = row.get("error_message")
    node.silent = bool(row.get("silent"))
    node.silent_reason = row.get("silent_reason")
    node.skip_reason = row.get("skip_reason")
    node.started_at = node.started_at or row.get("started_at")
    node.ended_at = node.ended_at or row.get("ended_at")
    if node.duration_s is None and row.get("duration_ms") is not None:
        node.duration_s = row["duration_ms"] / 1000


def _topological(tasks: Sequence[TaskSpec]) -> list[str]:
    """Task ids parents-first, keeping the declared order among independent tasks."""
    known = {t.task_id for t in tasks}
    pending = {t.task_id: {u for u in t.upstream if u in known} for t in tasks}
    order: list[str] = []
    while pending:
        ready = [tid for tid, ups in pending.items() if not ups]
        if not ready:  # a cycle cannot come from Airflow; keep whatever is left in declared order
            ready = list(pending)
        for tid in ready:
            order.append(tid)
            del pending[tid]
        for ups in pending.values():
            ups.difference_update(ready)
    return order


def _parents(
    node: ChainNode,
    specs: Mapping[str, TaskSpec],
    by_task: Mapping[str, list[ChainNode]],
) -> list[ChainNode]:
    spec = specs.get(node.task_id)
    if spec is None:
        return []
    parents: list[ChainNode] = []
    for up_id in spec.upstream:
        candidates = by_task.get(up_id, [])
        # Inside a mapped task group, index i only depends on index i of its siblings: one failed
        # cinema-day takes down only its own showtime batch.
        if node.map_index >= 0 and spec.group and specs.get(up_id, TaskSpec(up_id)).group == spec.group:
            same_index = [c for c in candidates if c.map_index == node.map_index]
            candidates = same_index or candidates
        parents.extend(candidates)
    return parents


def _root_causes(
    node: ChainNode,
    specs: Mapping[str, TaskSpec],
    by_task: Mapping[str, list[ChainNode]],
) -> list[ChainNode]:
    causes: list[ChainNode] = []
    seen: set[tuple[str, int]] = set()
    stack = [node]
    while stack:
        for parent in _parents(stack.pop(), specs, by_task):
            if parent.key in seen:
                continue
            seen.add(parent.key)
            if parent.state == FAILED:
                causes.append(parent)
            elif parent.state == UPSTREAM_FAILED:
                stack.append(parent)
    return causes


def _incidents(
    ordered: list[ChainNode],
    nodes: Mapping[tuple[str, int], ChainNode],
    specs: Mapping[str, TaskSpec],
    rules: Mapping[str, StageRule],
) -> list[Incident]:
    by_task: dict[str, list[ChainNode]] = defaultdict(list)
    for node in ordered:
        by_task[node.task_id].append(node)
    position = {n.key: i for i, n in enumerate(ordered)}

    casualties: dict[tuple[str, int], list[ChainNode]] = defaultdict(list)
    orphans: list[ChainNode] = []
    for node in ordered:
        if node.state != UPSTREAM_FAILED:
            continue
        causes = _root_causes(node, specs, by_task)
        if causes:
            # Several failed parents (e.g. two film details feeding one batch): credit the earliest,
            # so each never-ran node is counted in exactly one incident.
            first = min(causes, key=lambda c: position[c.key])
            casualties[first.key].append(node)
            node.blocked_by = first.label
        else:
            orphans.append(node)

    empty = _empty_sync(ordered)
    incidents: list[Incident] = [empty] if empty else []
    for failed in _failure_groups(ordered):
        lost = [c for node in failed for c in casualties.get(node.key, [])]
        rule = _rule_for(failed[0].task_id, rules)
        effect = f"{_describe(lost, rules)} never ran" if lost else rule.failure_effect or ""
        if len(failed) == 1:
            text = f"{failed[0].label} failed{_error_suffix(failed[0])}" + (f": {effect}" if effect else "")
            incidents.append(Incident("failure", text, failed[0], lost))
            continue
        owner, total = _owner(failed[0], [n for n in by_task[failed[0].task_id] if n.map_index >= 0])
        categories = ", ".join(sorted({n.error_category for n in failed if n.error_category}))
        text = f"{owner}: {len(failed)} of {total} {rule.plural} failed" + (
            f", {categories}" if categories else ""
        )
        incidents.append(
            Incident("failure", text + (f"; {effect}" if effect else ""), failed[0], lost, failed)
        )
    for node in ordered:
        if node.state == RETRYING:
            text = f"{node.label} is retrying (try {node.try_number}){_error_suffix(node)}"
            incidents.append(Incident("retrying", text, node))
    if orphans:
        text = f"{_describe(orphans, rules)} never ran: an upstream task failed"
        incidents.append(Incident("orphan", text, None, orphans))
    for node in ordered:
        if node.silent and node.state == SUCCESS:
            reason = f": {_preview(node.silent_reason)}" if node.silent_reason else ""
            incidents.append(Incident("silent", f"{node.label} succeeded silently{reason}", node))
    return incidents


def _entity(node: ChainNode) -> str | None:
    if not node.name:
        return None
    return _DATE_IN_NAME.sub("", node.name).strip() or None


def _owner(node: ChainNode, siblings: list[ChainNode]) -> tuple[str, int]:
    """Who a group of failed nodes belongs to, and how many nodes it has: the entity in the node's
    name when several of its mapped siblings share it (a cinema over its days), else the task."""
    entity = _entity(node)
    shared = [n for n in siblings if entity is not None and _entity(n) == entity]
    if entity is not None and len(shared) > 1:
        return entity, len(shared)
    return node.short_name, len(siblings)


def _failure_groups(ordered: list[ChainNode]) -> list[list[ChainNode]]:
    """Failed nodes, one group per incident, in chain order. The failed days of one entity (a cinema)
    are one group; a mapped task whose every instance failed (every day page, every film detail on a
    TMDB outage) is one group; any other failure stands alone."""
    by_task: dict[str, list[ChainNode]] = defaultdict(list)
    for node in ordered:
        by_task[node.task_id].append(node)
    groups: dict[tuple[str, str], list[ChainNode]] = {}
    for node in ordered:
        if node.state != FAILED:
            continue
        siblings = [n for n in by_task[node.task_id] if n.map_index >= 0]
        owner, _ = _owner(node, siblings)
        whole_task = len(siblings) > 1 and all(n.state == FAILED for n in siblings)
        if node.map_index >= 0 and (owner != node.short_name or whole_task):
            groups.setdefault((node.task_id, owner), []).append(node)
        else:
            groups[(node.task_id, node.label)] = [node]
    return list(groups.values())


def _empty_sync(ordered: list[ChainNode]) -> Incident | None:
    """A sync that succeeded with nothing to fan out to: the run "succeeds" and scrapes nothing."""
    syncs = [n for n in ordered if n.stage == "sync" and n.state == SUCCESS]
    units = [n for n in ordered if n.stage == "units"]
    if len(syncs) != 1 or any(n.map_index >= 0 for n in units):
        return None
    sync = syncs[0]
    unexpanded = bool(units) and all(n.state == SKIPPED for n in units)
    if not unexpanded and sync.counts.get("units") != 0:
        return None
    zeros = sorted(k for k, v in sync.counts.items() if v == 0)
    what = [k for k in zeros if not k.startswith("units")] or ["units"]
    returned = " and ".join(f"0 {k}" for k in what) if sync.has_summary else "nothing"
    return Incident("empty", f"{sync.label} returned {returned}: nothing downstream ran", sync)


def _error_suffix(node: ChainNode) -> str:
    parts = [p for p in (node.error_category, _preview(node.error_message)) if p]
    return f" ({': '.join(parts)})" if parts else ""


def _preview(text: str | None) -> str | None:
    if not text:
        return None
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_PREVIEW_CHARS else line[: MESSAGE_PREVIEW_CHARS - 1] + "…"


def _describe(lost: list[ChainNode], rules: Mapping[str, StageRule]) -> str:
    """ "showtimes[4]" for one node, "1 film detail and 3 showtime batches" for several."""
    if len(lost) == 1:
        return lost[0].label
    groups: dict[str, list[ChainNode]] = {}
    for node in lost:
        groups.setdefault(node.task_id, []).append(node)
    parts = []
    for task_nodes in groups.values():
        rule = _rule_for(task_nodes[0].task_id, rules)
        # An unexpanded mapped task (map index -1) stands for all its instances: name it, don't count it.
        if len(task_nodes) == 1 and (task_nodes[0].map_index < 0 or rule is OTHER):
            parts.append(task_nodes[0].label)
        else:
            parts.append(f"{len(task_nodes)} {rule.noun if len(task_nodes) == 1 else rule.plural}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _summarize(nodes: list[ChainNode], *, removed: int) -> ChainSummary:
    states = Counter(n.state for n in nodes)
    pending = sum(states[s] for s in PENDING_STATES)
    finished = len(nodes) - pending - states[SKIPPED]
    return ChainSummary(
        total=finished,
        succeeded=states[SUCCESS],
        failed=states[FAILED],
        retrying=states[RETRYING],
        upstream_failed=states[UPSTREAM_FAILED],
        skipped=states[SKIPPED],
        pending=pending,
        silent=sum(1 for n in nodes if n.silent and n.state == SUCCESS),
        removed=removed,
    )


def _sum_dicts(dicts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for d in dicts:
        total.update(d)
    return dict(total)


def _span_seconds(nodes: Iterable[ChainNode]) -> float | None:
    starts = [n.started_at for n in nodes if n.started_at]
    ends = [n.ended_at for n in nodes if n.ended_at]
    if not starts or not ends:
        return None
    return (max(ends) - min(starts)).total_seconds()
