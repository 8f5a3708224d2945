"""Static assets and the OpenAPI document, as ordinary (authenticated) routes."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from scraper_monitor.web.rendering import STATIC_DIR

router = APIRouter(include_in_schema=False)

# Listed once at import: only files that ship in the package are served, so no path from the URL
# ever reaches the file system.
_ASSETS = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}


@router.get("/static/{name}")
def asset(name: str) -> Response:
    path = _ASSETS.get(name)
    if path is None:
        raise HTTPException(404, f"no asset {name!r}")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Links carry a content hash (?v=...), so a long cache never serves a stale file.
    return Response(
        path.read_bytes(), media_type=media_type, headers={"Cache-Control": "private, max-age=86400"}
    )


@router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    schema = dict(request.app.openapi())
    # Behind Airflow the app is mounted under a prefix; tell API clients where the paths start.
    schema["servers"] = [{"url": request.scope.get("root_path") or "/"}]
    return JSONResponse(schema)
