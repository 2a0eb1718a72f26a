"""The spec's callback registry: ``POST/GET/DELETE …/callback``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archivist.api import schemas
from archivist.api.deps import is_legacy, project, services
from archivist.api.errors import json_body
from archivist.errors import BadRequest, NotFound
from archivist.store.callbacks import Callback
from archivist.webhooks import targets

router = APIRouter(tags=["callbacks"])

MAX_JSON = 8096


def _spec_time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + ".0"


def render(request: Request, cb: Callback) -> dict[str, Any]:
    body: dict[str, Any] = {"id": cb.id, "group": cb.group, "event": cb.event, "url": cb.url}
    if is_legacy(request):
        body.update(uri=cb.url, createdAt=_spec_time(cb.created_at), updatedAt=_spec_time(cb.updated_at))
    else:
        body.update(createdAt=cb.created_at, updatedAt=cb.updated_at)
    return body


@router.post("/callback", summary="Register a status callback", **schemas.REGISTER)
async def register(request: Request, key: str) -> JSONResponse:
    proj = await project(request, key)
    body = await json_body(request, max_chars=MAX_JSON, lenient_quotes=True)
    values: dict[str, str] = {}
    for name in ("group", "event", "url"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"'{name}' is required")
        values[name] = value
    if len(values["group"]) > 64 or len(values["event"]) > 64 or "\x00" in values["group"] + values["event"]:
        raise BadRequest("group and event are at most 64 characters, without NUL")
    svc = services(request)
    try:
        url = targets.check_url(values["url"], allow_private=svc.settings.callback_allow_private)
    except targets.ForbiddenTarget as exc:
        raise BadRequest(exc.message) from None
    cb = await svc.callbacks.add(proj.api_key, values["group"], values["event"], url)
    return JSONResponse(render(request, cb))


@router.get("/callback", summary="List registered callbacks", **schemas.CALLBACKS)
async def list_callbacks(request: Request, key: str) -> JSONResponse:
    proj = await project(request, key)
    items = await services(request).callbacks.all(proj.api_key)
    return JSONResponse([render(request, cb) for cb in items])


@router.delete("/callback/{callback_id}", summary="Delete a callback", **schemas.UNREGISTER)
async def delete_callback(request: Request, key: str, callback_id: str) -> Response:
    proj = await project(request, key)
    if not await services(request).callbacks.remove(proj.api_key, callback_id):
        raise NotFound("callback not found")
    return Response(status_code=204)
