"""Mounts the REST routers: ``/session/create`` and every project resource under both prefixes."""

from __future__ import annotations

from fastapi import APIRouter

from archivist.api import archives, callbacks, deliveries, downloads, health, live, metrics, sessions

PREFIXES = ("/v2/project/{key}", "/v2/partner/{key}")


def build_rest_router() -> APIRouter:
    root = APIRouter()
    root.include_router(sessions.router)
    root.include_router(downloads.router)
    root.include_router(health.router)
    root.include_router(metrics.router)
    for prefix in PREFIXES:
        for sub in (archives.router, callbacks.router, deliveries.router, live.router):
            root.include_router(sub, prefix=prefix, include_in_schema=prefix == PREFIXES[0])
    return root
