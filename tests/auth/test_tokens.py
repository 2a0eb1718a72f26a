"""Client tokens minted by the official SDK, verified by the server's verifier on the server's database."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import jwt
import pytest
from opentok import Client, MediaModes, Roles

from archivist.api.errors import http_status
from archivist.auth.tokens import Role, TokenError, TokenVerifier
from archivist.sessions.service import SessionService
from archivist.store.db import open_database
from archivist.store.projects import ProjectRepository
from archivist.store.sessions import SessionRepository
from tests.servers import Server


@pytest.fixture
async def verifier(server: Server) -> AsyncIterator[TokenVerifier]:
    engine = await open_database(f"sqlite+aiosqlite:///{server.data_dir / 'archivist.db'}")
    yield TokenVerifier(ProjectRepository(engine).get, SessionService(SessionRepository(engine)).find)
    await engine.dispose()


@pytest.fixture(scope="module")
def session_id(ot: Client) -> str:
    return str(ot.create_session(media_mode=MediaModes.routed).session_id)


@pytest.mark.parametrize("use_jwt", [True, False], ids=["jwt", "t1"])
@pytest.mark.parametrize("role", [Roles.publisher, Roles.subscriber, Roles.moderator, Roles.publisher_only])
async def test_sdk_tokens_verify(ot: Client, session_id: str, verifier: TokenVerifier, role: Roles,
                                 use_jwt: bool, server: Server) -> None:
    expire = int(time.time()) + 600
    token = ot.generate_token(session_id, role=role, expire_time=expire, data="name=Ann&x=1 2",
                              initial_layout_class_list=["focus", "wide"], use_jwt=use_jwt)
    assert token.startswith("T1==") != use_jwt
    parsed = await verifier.verify(token, session_id)
    assert parsed.role == Role(role.value)
    assert parsed.session_id == session_id
    assert parsed.project_key == server.project.api_key
    assert parsed.connection_data == "name=Ann&x=1 2"
    assert parsed.expire_time == expire
    assert parsed.layout_classes == ("focus", "wide")
    assert parsed.format == ("jwt" if use_jwt else "t1")


@pytest.mark.parametrize("use_jwt", [True, False], ids=["jwt", "t1"])
async def test_default_role_and_no_data(ot: Client, session_id: str, verifier: TokenVerifier, use_jwt: bool) -> None:
    parsed = await verifier.verify(ot.generate_token(session_id, use_jwt=use_jwt))
    assert parsed.role is Role.PUBLISHER and parsed.connection_data is None
    assert parsed.expire_time > time.time() + 86000


@pytest.mark.parametrize("use_jwt", [True, False], ids=["jwt", "t1"])
async def test_expired(ot: Client, session_id: str, verifier: TokenVerifier, use_jwt: bool) -> None:
    token = ot.generate_token(session_id, expire_time=int(time.time()) + 2, use_jwt=use_jwt)
    with pytest.raises(TokenError) as err:
        await verifier.verify(token, now=time.time() + 3600)
    assert err.value.reason == "expired" and http_status(err.value) == 403


@pytest.mark.parametrize("use_jwt", [True, False], ids=["jwt", "t1"])
async def test_forged_with_another_secret(session_id: str, verifier: TokenVerifier, server: Server,
                                          use_jwt: bool) -> None:
    forger = Client(server.project.api_key, "x" * 40, api_url=server.url)
    with pytest.raises(TokenError) as err:
        await verifier.verify(forger.generate_token(session_id, use_jwt=use_jwt))
    assert err.value.reason == "bad_signature"


@pytest.mark.parametrize("use_jwt", [True, False], ids=["jwt", "t1"])
async def test_truncated(ot: Client, session_id: str, verifier: TokenVerifier, use_jwt: bool) -> None:
    token = ot.generate_token(session_id, use_jwt=use_jwt)
    for cut in (len(token) // 2, len(token) - 3, 5):
        with pytest.raises(TokenError):
            await verifier.verify(token[:cut])


async def test_wrong_project_and_wrong_session(ot: Client, server: Server, session_id: str,
                                               verifier: TokenVerifier) -> None:
    other = server.create_project("wrong-project")
    other_client = Client(other.api_key, other.api_secret, api_url=server.url)
    # the other project's SDK refuses to mint for a session of ours: forge what it would sign
    now = int(time.time())
    claims = {"iss": other.api_key, "ist": "project", "iat": now, "exp": now + 600, "scope": "session.connect",
              "session_id": session_id, "role": "publisher", "nonce": 1}
    with pytest.raises(TokenError) as err:
        await verifier.verify(jwt.encode(claims, other.api_secret, algorithm="HS256"))
    assert err.value.reason == "wrong_project"
    other_session = other_client.create_session(media_mode=MediaModes.routed).session_id
    token = other_client.generate_token(other_session)
    assert (await verifier.verify(token)).project_key == other.api_key
    with pytest.raises(TokenError) as err:
        await verifier.verify(token, session_id)
    assert err.value.reason == "wrong_session"


async def test_unknown_session_and_garbage(server: Server, verifier: TokenVerifier) -> None:
    from archivist.sessions import ids

    ghost = ids.mint(server.project.api_key)
    now = int(time.time())
    claims = {"iss": server.project.api_key, "ist": "project", "iat": now, "exp": now + 600,
              "scope": "session.connect", "session_id": ghost, "role": "publisher", "nonce": 0.5}
    with pytest.raises(TokenError) as err:
        await verifier.verify(jwt.encode(claims, server.project.api_secret, algorithm="HS256"))
    assert err.value.reason == "unknown_session"
    claims["role"] = "admin"
    with pytest.raises(TokenError) as err:
        await verifier.verify(jwt.encode(claims, server.project.api_secret, algorithm="HS256"))
    assert err.value.reason == "bad_role"
    for junk in ("", "T1==", "T1==!!!!", "abc.def.ghi", "T1==" + base64.b64encode(b"no colon here").decode(), 42):
        with pytest.raises(TokenError):
            await verifier.verify(junk)
    none_alg = jwt.encode(claims | {"role": "publisher"}, None, algorithm="none")
    with pytest.raises(TokenError):
        await verifier.verify(none_alg)
