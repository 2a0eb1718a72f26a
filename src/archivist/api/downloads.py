"""Archive downloads: ``GET|HEAD /archives/{id}/download?expires=…&signature=…``.

The signed URL is the authorisation (no API credentials needed, so it can be handed to a
browser or a video tag); see ``storage/signing.py``. A missing, wrong or expired signature is a
403. A local file is served with HTTP Range support, ``Content-Type: video/mp4`` and
``Content-Disposition: attachment``; a file in object storage is a 307 redirect to a presigned
URL with the same headers; a file in a store this server cannot presign for (Azure with a SAS
token) is streamed through this server, with the same headers and Range support. An archive
that is not (or no longer) downloadable is a 404.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from archivist import logs
from archivist.api import schemas
from archivist.api.deps import services
from archivist.archives.status import DOWNLOADABLE
from archivist.errors import NotFound, Unavailable
from archivist.storage.base import (
    CONTENT_TYPE,
    LocalFile,
    Proxied,
    StorageError,
    content_disposition,
    content_type,
    download_name,
    file_suffix,
)

router = APIRouter(tags=["downloads"])
log = logs.get(__name__)


@router.get("/archives/{archive_id}/download", summary="Download an archive's MP4", operation_id="download_archive",
            response_class=Response, **schemas.DOWNLOAD)
@router.head("/archives/{archive_id}/download", summary="An archive's MP4 headers", operation_id="head_archive",
             response_class=Response, **schemas.DOWNLOAD)
async def download(request: Request, archive_id: str) -> Response:
    svc = services(request)
    svc.download_urls.check(archive_id, request.query_params.get("expires"), request.query_params.get("signature"))
    archive = await svc.archives.find(archive_id)
    if archive is None or archive.status not in DOWNLOADABLE or archive.storage_key is None:
        raise NotFound("archive not available for download")
    try:
        where = await svc.files.locate(archive)
    except StorageError as exc:
        log.error("archive download unavailable", archive=archive.id, error=str(exc))
        raise Unavailable("archive storage unavailable, try again later") from None
    if where is None:
        raise NotFound("archive file not found")
    filename = download_name(archive.id, archive.name, file_suffix(archive.output_mode))
    headers = {"Cache-Control": "private, no-store"}
    if isinstance(where, LocalFile):
        return FileResponse(
            where.path,
            media_type=content_type(filename),
            headers=headers | {"Content-Disposition": content_disposition(filename)},
        )
    if isinstance(where, Proxied):
        return _proxied(request, where, headers | {"Content-Disposition": content_disposition(filename)})
    return RedirectResponse(where.url, status_code=307, headers=headers)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _proxied(request: Request, where: Proxied, headers: dict[str, str]) -> Response:
    """The object's bytes through this server: the whole, or one ``Range`` (206, or 416)."""
    size = where.size
    start, end, status = 0, size - 1, 200
    wanted = request.headers.get("range")
    match = _RANGE.fullmatch(wanted.strip()) if wanted else None
    if match and (match[1] or match[2]):  # one range (a multi-range request gets the whole file)
        if match[1]:
            start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
        else:
            start = max(0, size - int(match[2]))
        if start >= size or start > end:
            return Response(status_code=416, headers=headers | {"Content-Range": f"bytes */{size}"})
        status = 206
        headers = headers | {"Content-Range": f"bytes {start}-{end}/{size}"}
    length = max(0, end - start + 1)
    headers = headers | {"Accept-Ranges": "bytes", "Content-Length": str(length)}
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=CONTENT_TYPE)
    return StreamingResponse(where.read(start, length), status_code=status, headers=headers, media_type=CONTENT_TYPE)
