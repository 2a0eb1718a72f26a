"""The status-callback delivery log: ``GET …/webhooks/deliveries``, ``POST …/{id}/retry``.

Newest first; each delivery with its attempts (time, HTTP status code, error, duration). Filter
with ``archiveId`` and ``state`` (``pending``, ``delivered``, ``failed``); ``limit`` ≤ 500.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from archivist.api import schemas
from archivist.api.deps import project, services
from archivist.errors import BadRequest, Conflict, NotFound
from archivist.store.outbox import DELIVERED, FAILED, PENDING

router = APIRouter(tags=["callbacks"])

MAX_LIMIT = 500


@router.get("/webhooks/deliveries", summary="Status callback deliveries and their attempts", **schemas.DELIVERIES)
async def list_deliveries(request: Request, key: str) -> JSONResponse:
    proj = await project(request, key)
    q = request.query_params
    state = q.get("state")
    if state is not None and state not in (PENDING, DELIVERED, FAILED):
        raise BadRequest("state must be pending, delivered or failed")
    raw_limit = q.get("limit", "50")
    # isdigit() alone also takes superscripts ("²"), which int() refuses (a 500)
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 4 and 1 <= int(raw_limit) <= MAX_LIMIT):
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    items = await services(request).delivery_log.listing(
        project_key=proj.api_key, archive_id=q.get("archiveId") or None, state=state, limit=int(raw_limit)
    )
    return JSONResponse({"count": len(items), "items": [d.to_json() for d in items]})


@router.post("/webhooks/deliveries/{delivery_id}/retry", summary="Queue a given-up delivery again", **schemas.RETRY)
async def retry_delivery(request: Request, key: str, delivery_id: str) -> JSONResponse:
    proj = await project(request, key)
    svc = services(request)
    found = await svc.delivery_log.listing(project_key=proj.api_key, delivery_id=delivery_id, limit=1)
    if not found:
        raise NotFound("delivery not found")
    if not await svc.delivery_log.retry(delivery_id, proj.api_key):
        raise Conflict(f"only a given-up delivery can be retried (this one is {found[0].state})")
    svc.delivery_worker.wake()
    again = await svc.delivery_log.listing(project_key=proj.api_key, delivery_id=delivery_id, limit=1)
    return JSONResponse(again[0].to_json())
