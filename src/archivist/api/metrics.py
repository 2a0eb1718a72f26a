"""``GET /metrics``: this node's metrics in the Prometheus text format (docs/operations.md).

An operator endpoint, on unless ``ARCHIVIST_METRICS=false`` (then 404). With
``ARCHIVIST_METRICS_TOKEN`` set it wants ``Authorization: Bearer <token>`` (401 otherwise);
without, anyone who reaches the port can read it: counts, archive ids and project keys, no
secrets, no tokens.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archivist import metrics
from archivist.api import schemas
from archivist.api.deps import services
from archivist.errors import NotFound

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics of this node", response_class=Response, **schemas.METRICS)
async def scrape(request: Request) -> Response:
    svc = services(request)
    settings = svc.settings
    if not settings.metrics:
        raise NotFound("metrics are off (ARCHIVIST_METRICS=false)")
    if settings.metrics_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            message = "metrics need Authorization: Bearer <ARCHIVIST_METRICS_TOKEN>"
            return JSONResponse({"code": 401, "message": message}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body, content_type = await metrics.render(svc, request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})
