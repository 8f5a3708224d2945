"""``GET /metrics``: the Prometheus exposition of the monitor store, behind the same Airflow login."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from scraper_monitor.metrics import only_scrapers, render_metrics
from scraper_monitor.web.deps import Settings, Visible, store_dsn

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(settings: Settings, visible: Visible) -> Response:
    """Prometheus exposition of the monitor store (behind the same Airflow login; a user who may read
    only some DAGs gets only their scrapers' series)."""
    body, content_type = render_metrics(store_dsn(settings))
    if visible is not None:
        body = only_scrapers(body, visible)
    return Response(body, media_type=content_type)
