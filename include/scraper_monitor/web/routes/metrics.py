"""``GET /metrics``: the Prometheus exposition of the monitor store, behind the same Airflow login."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from scraper_monitor.metrics import render_metrics
from scraper_monitor.web.deps import Settings, store_dsn

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(settings: Settings) -> Response:
    """Prometheus exposition of the monitor store (behind the same Airflow login)."""
    body, content_type = render_metrics(store_dsn(settings))
    return Response(body, media_type=content_type)
