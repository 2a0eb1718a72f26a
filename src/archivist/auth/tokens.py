"""Client tokens: the JWT format (default in today's SDKs) and the legacy ``T1==`` format.

:class:`TokenVerifier` is what the signaling layer calls when a client connects. It checks the
signature with the project's secret, the expiry, the role, and that the session belongs to the
project and exists. Every failure raises :class:`TokenError` with a reason a client can read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qs

import jwt

from archivist.errors import AuthFailed
from archivist.sessions import ids
from archivist.sessions.model import Session
from archivist.store.projects import Project

LEEWAY_SECONDS = 30
MAX_TOKEN_LEN = 16_384


class Role(StrEnum):
    PUBLISHER = "publisher"
    SUBSCRIBER = "subscriber"
    MODERATOR = "moderator"
    PUBLISHER_ONLY = "publisheronly"

    @property
    def can_publish(self) -> bool:
        return self is not Role.SUBSCRIBER

    @property
    def can_subscribe(self) -> bool:
        return self is not Role.PUBLISHER_ONLY

    @property
    def can_moderate(self) -> bool:
        return self is Role.MODERATOR


class TokenError(AuthFailed):
    """A client token was refused. ``reason`` is a short machine-readable word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ClientToken:
    project_key: str
    session_id: str
    role: Role
    expire_time: int
    connection_data: str | None
    layout_classes: tuple[str, ...] = field(default_factory=tuple)
    format: str = "jwt"


ProjectLookup = Callable[[str], Awaitable[Project | None]]
SessionLookup = Callable[[str], Awaitable[Session | None]]


class TokenVerifier:
    def __init__(self, projects: ProjectLookup, sessions: SessionLookup) -> None:
        self._projects = projects
        self._sessions = sessions

    async def verify(self, token: object, session_id: str | None = None, now: float | None = None) -> ClientToken:
        """Verify ``token``; if ``session_id`` is given the token must be for that session."""
        if not isinstance(token, str) or not token:
            raise TokenError("missing", "a token is required")
        if len(token) > MAX_TOKEN_LEN:
            raise TokenError("malformed", "token too long")
        if not token.isascii():  # both formats are ASCII; a lone surrogate failed to encode (a crash)
            raise TokenError("malformed", "token is neither a JWT nor a T1 token (not ASCII)")
        now = time.time() if now is None else now
        if token.startswith("T1=="):
            parsed = await self._verify_t1(token)
        else:
            parsed = await self._verify_jwt(token, now)
        if parsed.expire_time + LEEWAY_SECONDS < now:
            raise TokenError("expired", "token expired")
        if session_id is not None and parsed.session_id != session_id:
            raise TokenError("wrong_session", "token is for another session")
        if ids.project_key_of(parsed.session_id) != parsed.project_key:
            raise TokenError("wrong_project", "token's session does not belong to its project")
        session = await self._sessions(parsed.session_id)
        if session is None or session.project_key != parsed.project_key:
            raise TokenError("unknown_session", "session not found")
        return parsed

    async def _project(self, key: str) -> Project:
        project = await self._projects(key) if key.isdigit() else None
        if project is None:
            raise TokenError("unknown_project", "token names an unknown API key")
        return project

    async def _verify_jwt(self, token: str, now: float) -> ClientToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenError("malformed", "token is neither a JWT nor a T1 token") from None
        if header.get("alg") != "HS256":
            raise TokenError("malformed", "token must be signed with HS256")
        project = await self._project(str(unverified.get("iss", "")))
        try:
            claims = jwt.decode(
                token,
                project.api_secret,
                algorithms=["HS256"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("expired", "token expired") from None
        except jwt.PyJWTError:
            raise TokenError("bad_signature", "token signature does not verify") from None
        if claims.get("ist") != "project":
            raise TokenError("malformed", "token 'ist' must be 'project'")
        if claims.get("scope") != "session.connect":
            raise TokenError("malformed", "token 'scope' must be 'session.connect'")
        session_id = claims.get("session_id")
        if not isinstance(session_id, str):
            raise TokenError("malformed", "token has no session_id")
        data = claims.get("connection_data")
        classes = claims.get("initial_layout_class_list") or ""
        return ClientToken(
            project_key=project.api_key,
            session_id=session_id,
            role=_role(claims.get("role")),
            expire_time=int(claims["exp"]),
            connection_data=data if isinstance(data, str) else None,
            layout_classes=tuple(str(classes).split()),
            format="jwt",
        )

    async def _verify_t1(self, token: str) -> ClientToken:
        body = token[4:]
        try:
            decoded = base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise TokenError("malformed", "T1 token is not valid base64") from None
        head, sep, payload = decoded.partition(":")
        if not sep:
            raise TokenError("malformed", "T1 token has no payload")
        head_fields = parse_qs(head)
        key = (head_fields.get("partner_id") or [""])[0]
        sig = (head_fields.get("sig") or [""])[0]
        project = await self._project(key)
        expected = hmac.new(project.api_secret.encode(), payload.encode("utf-8"), hashlib.sha1).hexdigest()
        # bytes: compare_digest raises TypeError on a str with non-ASCII characters
        if not sig or not hmac.compare_digest(expected.encode(), sig.lower().encode()):
            raise TokenError("bad_signature", "token signature does not verify")
        fields = parse_qs(payload, keep_blank_values=True)

        def one(name: str) -> str | None:
            values = fields.get(name)
            return values[0] if values else None

        session_id = one("session_id")
        if not session_id:
            raise TokenError("malformed", "token has no session_id")
        scope = one("scope")
        if scope is not None and scope != "session.connect":
            raise TokenError("malformed", "token scope must be 'session.connect'")
        try:
            create_time = int(float(one("create_time") or time.time()))
            expire_raw = one("expire_time")
            expire_time = int(float(expire_raw)) if expire_raw not in (None, "", "None") else create_time + 86400
        except ValueError:
            raise TokenError("malformed", "token times are not numbers") from None
        data = one("connection_data")
        legacy = "initial_layout_class_list" not in fields
        if legacy and data == "None":
            data = None  # Python SDK 2.x writes the literal None when no data was given
        return ClientToken(
            project_key=project.api_key,
            session_id=session_id,
            role=_role(one("role")),
            expire_time=expire_time,
            connection_data=data,
            layout_classes=tuple((one("initial_layout_class_list") or "").split()),
            format="t1",
        )


def _role(raw: object) -> Role:
    if raw is None or raw == "":
        return Role.PUBLISHER
    try:
        return Role(str(raw))
    except ValueError:
        raise TokenError("bad_role", f"unknown role {raw!r}") from None
