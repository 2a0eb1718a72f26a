"""Archive downloads: ``GET|HEAD /archives/{id}/download?expires=…&signature=…``.

The signed URL is the authorisation (no API credentials needed, so it can be handed to a
browser or a video tag); see ``storage/signing.py``. A missing, wrong or expired signature is a
403. A local file is served with HTTP Range support, ``Content-Type: video/mp4`` and
``Content-Disposition: attachment``; a file in object storage is a 307 redirect to a presigned
URL with the same headers. An archive that is not (or no longer) downloadable is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from archivist import logs
from archivist.api import schemas
from archivist.api.deps import services
from archivist.archives.status import DOWNLOADABLE
from archivist.errors import NotFound, Unavailable
from archivist.storage.base import CONTENT_TYPE, LocalFile, StorageError, content_disposition, download_name

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
    filename = download_name(archive.id, archive.name)
    headers = {"Cache-Control": "private, no-store"}
    if isinstance(where, LocalFile):
        return FileResponse(
            where.path,
            media_type=CONTENT_TYPE,
            headers=headers | {"Content-Disposition": content_disposition(filename)},
        )
    return RedirectResponse(where.url, status_code=307, headers=headers)
