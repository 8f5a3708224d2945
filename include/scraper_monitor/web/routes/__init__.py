"""One module per panel, each holding the panel's JSON API route and its HTML page route, both
rendering the same report (``scraper_monitor.reports``)."""

from fastapi import APIRouter

from scraper_monitor.web.routes import (
    accept,
    assets,
    chains,
    discovery,
    errors,
    executions,
    matching,
    metrics,
    overview,
    runs,
    silent,
    trends,
)

# The JSON API (``/scraper-monitor/api/...``) is in the OpenAPI document; pages, assets and metrics are not.
api = APIRouter(prefix="/api", tags=["scraper monitor"])
pages = APIRouter(include_in_schema=False)
for module in (overview, executions, errors, silent, runs, chains, trends, matching, discovery):
    api.include_router(module.api)
    pages.include_router(module.pages)
pages.include_router(accept.pages)  # POST /errors: the Errors panel's accept form
pages.include_router(assets.router)
pages.include_router(metrics.router)
