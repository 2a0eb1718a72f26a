"""Shared request plumbing: the services, the authenticated project, the API flavour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from archivist.auth.rest import authenticate
from archivist.store.projects import Project

if TYPE_CHECKING:
    from archivist.app import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def is_legacy(request: Request) -> bool:
    """``/v2/partner`` follows the 2013 spec; ``/v2/project`` follows today's API."""
    return request.url.path.startswith("/v2/partner/")


async def project(request: Request, key: str) -> Project:
    svc = services(request)
    return await authenticate(request.headers, svc.projects.get, path_key=key)
