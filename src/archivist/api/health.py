"""``GET /health``: liveness and load of this node (no authentication, nothing secret)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from archivist import __version__
from archivist.api import schemas
from archivist.api.deps import services

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness, live sessions and event-loop lag of this node", **schemas.HEALTH)
async def health(request: Request) -> JSONResponse:
    svc = services(request)
    rooms = svc.rooms.all()
    space = await asyncio.to_thread(svc.launcher.disk_space)
    return JSONResponse({
        "status": "low disk space" if space.low else "ok",
        "version": __version__,
        "rooms": len(rooms),
        "connections": sum(len(r.connections) for r in rooms),
        "streams": sum(len(r.streams()) for r in rooms),
        "recordings": svc.launcher.active_count,
        "recordingsFailed": svc.launcher.failed_count,
        "disk": {"path": space.path, "freeBytes": space.free_bytes, "totalBytes": space.total_bytes,
                 "minFreeBytes": space.min_free_bytes, "low": space.low},
        "recordingsBehind": svc.launcher.behind(),
        "loopLagMs": svc.monitor.stats(),
    })
