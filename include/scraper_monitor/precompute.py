"""Precomputing the numbers over long windows: SLO statuses (7 days of final tries) and the metrics
exposition (24 hours to 8 days of raw rows).

Computing them means aggregating up to a week of raw rows: seconds at 10 million executions, far more
than a page view or a Prometheus scrape may take. ``refresh`` computes them once for a moment and
stores them in the ``snapshots`` table (``store.snapshots``); the DAG ``scraper_monitor_snapshots`` runs
it every 5 minutes. The overview and ``/scraper-monitor/metrics`` read the stored copy while it is
fresh (``store.snapshots.MAX_AGE``), and compute the numbers themselves when there is none (a small or
new store, or a snapshot DAG that is paused).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from scraper_monitor import metrics, slo
from scraper_monitor.reports.metrics import read_metrics
from scraper_monitor.reports.slo import SLO_SNAPSHOT
from scraper_monitor.store import snapshots
from scraper_monitor.store.db import MAINTENANCE_STATEMENT_TIMEOUT_MS, connect


@dataclass(frozen=True)
class RefreshReport:
    computed_at: datetime
    slo_statuses: int
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "computed_at": self.computed_at.isoformat(),
            "slo_statuses": self.slo_statuses,
            "seconds": round(self.seconds, 3),
        }


def refresh(
    dsn: str, *, slo_config: slo.SloConfig | None = None, now: datetime | None = None
) -> RefreshReport:
    """Compute both snapshots for ``now`` (default: the current time) and store them together."""
    config = slo_config or slo.load_config()
    now = now or datetime.now(UTC)
    started = time.monotonic()
    with connect(dsn, statement_timeout_ms=MAINTENANCE_STATEMENT_TIMEOUT_MS) as conn:
        # The metrics read includes the SLO statuses: one pass over the week for both snapshots.
        data = read_metrics(conn, config, now)
        # The exposition is stored as text: a scrape then only reads one row and sends it.
        text = metrics.exposition(data, config).decode()
        with conn.transaction():
            snapshots.save(conn, metrics.METRICS_SNAPSHOT, now, {"exposition": text})
            snapshots.save(conn, SLO_SNAPSHOT, now, data.slo)
    return RefreshReport(computed_at=now, slo_statuses=len(data.slo), seconds=time.monotonic() - started)
