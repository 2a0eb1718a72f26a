"""Access control, as one table: every REST route (both prefixes, as the served OpenAPI lists
them) x every way of getting in without the right credentials is a 403 JSON error, and the
right credentials are not (so the table is not vacuous). The official SDK, pointed at the same
server with bad credentials, is refused the same way (its requests show as 403s in the server's
access log). The signed download URL and /health have their own rows."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest
from opentok import Client, MediaModes, OpenTokException

from tests.servers import Project, Server

Headers = dict[str, str]


def project_jwt(project: Project, **over: object) -> str:
    now = int(time.time())
    claims = {"iss": project.api_key, "ist": "project", "iat": now, "exp": now + 180} | over
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, project.api_secret, algorithm="HS256")


def partner(project: Project) -> Headers:
    return {"X-TB-PARTNER-AUTH": f"{project.api_key}:{project.api_secret}"}


def refusals(owner: Project, other: Project) -> dict[str, Headers]:
    """The cases: headers a request carries (the URL always names ``owner``'s API key)."""
    wrong = Project(owner.api_key, "wrong-" + owner.api_secret)
    good = project_jwt(owner)
    unsigned = jwt.encode({"iss": owner.api_key, "ist": "project", "exp": int(time.time()) + 60}, key=None,
                          algorithm="none")
    return {
        "no auth": {},
        "empty headers": {"X-OPENTOK-AUTH": "", "X-TB-PARTNER-AUTH": ""},
        "wrong secret (partner)": partner(wrong),
        "wrong secret (JWT)": {"X-OPENTOK-AUTH": project_jwt(wrong)},
        "unsigned JWT (alg none)": {"X-OPENTOK-AUTH": unsigned},
        "expired JWT": {"X-OPENTOK-AUTH": project_jwt(owner, iat=int(time.time()) - 900, exp=int(time.time()) - 600)},
        "JWT for ten years": {"X-OPENTOK-AUTH": project_jwt(owner, exp=int(time.time()) + 10 * 365 * 86400)},
        "other project (partner)": partner(other),
        "other project (JWT)": {"X-OPENTOK-AUTH": project_jwt(other)},
        "other project's key in a JWT signed with ours": {"X-OPENTOK-AUTH": project_jwt(owner, iss=other.api_key)},
        "wrong prefix: Authorization: Bearer": {"Authorization": f"Bearer {good}"},
        "wrong prefix: X-OPENTOK-AUTH: Bearer": {"X-OPENTOK-AUTH": f"Bearer {good}"},
        "wrong prefix: X-TB-TOKEN-AUTH": {"X-TB-TOKEN-AUTH": good},
        "wrong prefix: partner with a space": {"X-TB-PARTNER-AUTH": f"{owner.api_key} {owner.api_secret}"},
        "a bad JWT next to good partner credentials": {"X-OPENTOK-AUTH": "garbage"} | partner(owner),
    }


def routes(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every authenticated REST route, from the served document, with the
    undocumented ``/v2/partner`` twin of each project route."""
    spec = httpx.get(f"{server.url}/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if op.get("security") == []:
                continue
            found.append((method.upper(), path))
            if path.startswith("/v2/project/"):
                found.append((method.upper(), path.replace("/v2/project/", "/v2/partner/", 1)))
    return found


def concrete(path: str, key: str, session_id: str) -> str:
    filled = path.replace("{key}", key).replace("{session_id}", session_id)
    return re.sub(r"\{[a-z_]+\}", "does-not-exist", filled)


@pytest.fixture(scope="module")
def other(server: Server) -> Project:
    return server.create_project("intruder")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def test_every_route_refuses_every_bad_credential(server: Server, other: Project, ot: Client,
                                                  http: httpx.Client) -> None:
    owner = server.project
    session_id = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    table = routes(server)
    assert len(table) == 43  # 21 project routes on both prefixes, and /session/create
    cases = refusals(owner, other)
    outcomes: Counter[str] = Counter()
    leaks = []
    for method, path in table:
        url = server.url + concrete(path, owner.api_key, session_id)
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        for case, headers in cases.items():
            if path == "/session/create" and case.startswith("other project ("):
                continue  # no key in the URL: another project's credentials create that project's session
            r = http.request(method, url, headers=headers, **body)
            outcomes[case] += 1
            if r.status_code != 403 or r.json()["code"] != 403 or not r.json()["message"]:
                leaks.append((method, path, case, r.status_code, r.text[:200]))
        for case, headers in (("partner", partner(owner)), ("JWT", {"X-OPENTOK-AUTH": project_jwt(owner)})):
            r = http.request(method, url, headers=headers, **body)  # the table is not vacuous:
            legacy_delete = method == "DELETE" and path == "/v2/partner/{key}/archive/{archive_id}"
            if legacy_delete:  # the 2013 spec answers an unknown archive id with 403
                assert r.json()["message"] == "invalid archive ID", r.text
            else:
                assert r.status_code != 403, (method, path, case, r.text)
    cells = sum(outcomes.values())
    print(f"access matrix: {len(table)} routes x {len(cases)} cases = {cells} refusals checked, "
          f"{2 * len(table)} controls")
    assert leaks == []
    assert cells == len(table) * len(cases) - 2


def test_signed_downloads_and_health(server: Server, other: Project, http: httpx.Client) -> None:
    base = f"{server.url}/archives"
    later = int(time.time()) + 600
    for method in ("GET", "HEAD"):
        for query in ("", f"?expires={later}", "?signature=abc", f"?expires={later}&signature=forged",
                      f"?expires={int(time.time()) - 10}&signature=x", "?expires=abc&signature=x",
                      f"?expires={later}&signature=%C3%A8"):
            r = http.request(method, f"{base}/some-archive/download{query}", headers=partner(server.project))
            assert r.status_code == 403, (method, query)  # API credentials do not replace the signature
    r = http.get(f"{server.url}/health")
    assert r.status_code == 200 and server.project.api_secret not in r.text and server.project.api_key not in r.text


def _last_status(server: Server, fragment: str) -> int:
    lines = [line for line in server.logs().splitlines() if fragment in line and "HTTP/1.1" in line]
    assert lines, fragment
    return int(lines[-1].rsplit('" ', 1)[1].split()[0])


def test_the_sdk_is_refused_too(server: Server, other: Project, ot: Client) -> None:
    owner = server.project
    session_id = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    wrong = Client(owner.api_key, "wrong-" + owner.api_secret, api_url=server.url, timeout=20)
    expired = Client(owner.api_key, owner.api_secret, api_url=server.url, timeout=20)
    expired.jwt_livetime = -10  # minutes: every JWT it mints expired ten minutes ago
    ten_years = Client(owner.api_key, owner.api_secret, api_url=server.url, timeout=20)
    ten_years.jwt_livetime = 10 * 365 * 24 * 60
    calls: dict[str, tuple[Callable[[Client], object], str]] = {
        "create_session": (lambda c: c.create_session(), "/session/create"),
        "start_archive": (lambda c: c.start_archive(session_id), f"/v2/project/{owner.api_key}/archive"),
        "list_archives": (lambda c: c.list_archives(), f"/v2/project/{owner.api_key}/archive"),
        "get_archive": (lambda c: c.get_archive("a1"), "/archive/a1"),
        "stop_archive": (lambda c: c.stop_archive("a1"), "/archive/a1/stop"),
        "delete_archive": (lambda c: c.delete_archive("a1"), "/archive/a1"),
        "set_archive_layout": (lambda c: c.set_archive_layout("a1", "bestFit"), "/archive/a1/layout"),
        "add_archive_stream": (lambda c: c.add_archive_stream("a1", "s1"), "/archive/a1/streams"),
        "send_signal": (lambda c: c.send_signal(session_id, {"type": "t", "data": "d"}), "/signal"),
        "force_disconnect": (lambda c: c.force_disconnect(session_id, "c1"), "/connection/c1"),
        "list_streams": (lambda c: c.list_streams(session_id), f"/session/{session_id}/stream"),
        "get_stream": (lambda c: c.get_stream(session_id, "s1"), "/stream/s1"),
        "set_stream_class_lists": (lambda c: c.set_stream_class_lists(session_id, [{"id": "s1",
                                                                                     "layoutClassList": []}]),
                                   f"/session/{session_id}/stream"),
        "mute_stream": (lambda c: c.mute_stream(session_id, "s1"), "/stream/s1/mute"),
        "mute_all": (lambda c: c.mute_all(session_id, []), f"/session/{session_id}/mute"),
        "disable_force_mute": (lambda c: c.disable_force_mute(session_id), f"/session/{session_id}/mute"),
    }
    refused = 0
    for client_name, client in (("wrong secret", wrong), ("expired", expired), ("ten years", ten_years)):
        for name, (call, fragment) in calls.items():
            with pytest.raises(OpenTokException):
                call(client)
            assert _last_status(server, fragment) == 403, (client_name, name)
            refused += 1
    print(f"SDK: {refused} calls refused ({len(calls)} operations x 3 bad clients)")
