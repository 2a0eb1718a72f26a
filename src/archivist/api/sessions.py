"""``POST /session/create`` (opentok-rest-compat.md §3): form fields in, JSON or XML out."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archivist.api import schemas
from archivist.api.deps import services
from archivist.auth.rest import authenticate
from archivist.errors import BadRequest

router = APIRouter(tags=["sessions"])


def _create_dt(ms: int) -> str:
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


@router.post("/session/create", summary="Create a session", response_class=Response, **schemas.SESSION_CREATE)
async def create_session(request: Request) -> Response:
    svc = services(request)
    project = await authenticate(request.headers, svc.projects.get)
    ctype = request.headers.get("content-type", "")
    if ctype and "application/x-www-form-urlencoded" not in ctype and "multipart/form-data" not in ctype:
        raw = await request.body()
        if raw.strip():
            raise BadRequest("session create takes form fields (application/x-www-form-urlencoded)")
        form: dict[str, str] = {}
    else:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    session = await svc.sessions.create(
        project.api_key,
        p2p_preference=form.get("p2p.preference"),
        archive_mode=form.get("archiveMode"),
        location=form.get("location"),
        e2ee=form.get("e2ee"),
        archive_name=form.get("archiveName"),
        archive_resolution=form.get("archiveResolution"),
    )
    created = _create_dt(session.created_at)
    if "application/json" in request.headers.get("accept", ""):
        # Exactly "application/json": the Python SDK compares the header string.
        return JSONResponse(
            [
                {
                    "session_id": session.id,
                    "project_id": project.api_key,
                    "partner_id": project.api_key,
                    "create_dt": created,
                    "media_server_url": "",
                    "media_mode": session.media_mode.value,
                    "archive_mode": session.archive_mode.value,
                }
            ],
            media_type="application/json",
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<sessions><Session><session_id>{escape(session.id)}</session_id>"
        f"<partner_id>{escape(project.api_key)}</partner_id>"
        f"<create_dt>{escape(created)}</create_dt></Session></sessions>"
    )
    return Response(xml, media_type="text/xml")
