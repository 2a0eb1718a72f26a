"""REST authentication.

Two schemes, accepted on either prefix (``/v2/project/{k}``, ``/v2/partner/{k}``) and on
``/session/create``:

* ``X-OPENTOK-AUTH: <JWT>``: HS256 with the project secret, ``iss`` = API key,
  ``ist`` = "project" (absent tolerated, as early Java SDK builds sent), ``exp`` in the future
  and at most 5 minutes ahead (both with 60 s leeway for clock skew), as the hosted service
  rules: a REST JWT is minted per request (the Python SDK sets ``exp`` = now + 3 min, Node
  now + 5 min), so a long-lived one is a leaked credential waiting to be replayed. ``jti`` is
  not required (Node sends none).
* ``X-TB-PARTNER-AUTH: <key>:<secret>`` (the 2013 spec), split at the first ``:``, secret
  compared in constant time.

Every failure is a 403 (``AuthFailed``): the SDKs map 403 to their AuthError.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping

import jwt

from archivist.errors import AuthFailed
from archivist.store.projects import Project

LEEWAY_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
"""How far ahead a REST JWT's ``exp`` may be (plus ``LEEWAY_SECONDS``)."""

ProjectLookup = Callable[[str], Awaitable[Project | None]]


async def authenticate(
    headers: Mapping[str, str], lookup: ProjectLookup, path_key: str | None = None
) -> Project:
    """Return the authenticated project; ``path_key`` is the key in the URL, if any."""
    # a header that is present decides, even empty: a bad JWT is not excused by another scheme
    token = headers.get("x-opentok-auth")
    partner = headers.get("x-tb-partner-auth")
    if token is not None:
        return await _from_jwt(token.strip(), lookup, path_key)
    if partner is not None:
        return await _from_partner(partner.strip(), lookup, path_key)
    raise AuthFailed("authentication required: send X-OPENTOK-AUTH or X-TB-PARTNER-AUTH")


async def _from_jwt(token: str, lookup: ProjectLookup, path_key: str | None) -> Project:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthFailed("invalid X-OPENTOK-AUTH token") from None
    if header.get("alg") != "HS256":
        raise AuthFailed("X-OPENTOK-AUTH must be signed with HS256")
    iss = unverified.get("iss")
    if not isinstance(iss, (str, int)) or not str(iss).isdigit():
        raise AuthFailed("X-OPENTOK-AUTH token has no valid 'iss' (API key)")
    key = str(iss)
    if path_key is not None and key != path_key:
        raise AuthFailed("X-OPENTOK-AUTH 'iss' does not match the API key in the URL")
    project = await lookup(key)
    if project is None:
        raise AuthFailed("invalid API key or secret")
    try:
        claims = jwt.decode(
            token,
            project.api_secret,
            algorithms=["HS256"],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise AuthFailed("X-OPENTOK-AUTH token expired") from None
    except jwt.PyJWTError:
        raise AuthFailed("invalid API key or secret") from None
    exp = claims["exp"]
    if not isinstance(exp, int | float) or exp > time.time() + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise AuthFailed(
            f"X-OPENTOK-AUTH token expires too far ahead: 'exp' must be at most {MAX_LIFETIME_SECONDS} s from now"
        )
    ist = claims.get("ist")
    if ist is not None and ist != "project":
        raise AuthFailed("X-OPENTOK-AUTH 'ist' must be 'project'")
    return project


async def _from_partner(value: str, lookup: ProjectLookup, path_key: str | None) -> Project:
    key, sep, secret = value.partition(":")
    key = key.strip()
    if not sep or not key.isdigit() or not secret:
        raise AuthFailed("X-TB-PARTNER-AUTH must be '<api_key>:<api_secret>'")
    if path_key is not None and key != path_key:
        raise AuthFailed("X-TB-PARTNER-AUTH API key does not match the API key in the URL")
    project = await lookup(key)
    if project is None or not hmac.compare_digest(project.api_secret.encode(), secret.strip().encode()):
        raise AuthFailed("invalid API key or secret")
    return project
