"""``/openapi.json`` tells the truth: schemathesis, run from it against a real server, finds no
response it does not describe, no valid request refused, no invalid one accepted, no 500."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentok import Client, MediaModes

from archivist.api.schemas import STYLESHEET_PATTERN
from archivist.recording.layout import LayoutSpec, LayoutStream, compose_layout
from tests.servers import Server

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
MAX_EXAMPLES = 25
"""Per operation and phase: about 1,300 requests, 20 to 40 s (bench/fuzz_rest.py runs more)."""


CONFIG = """
# the path parameters pinned: this project (else every request is a 403) and a real session
[parameters]
key = "{key}"
session_id = "{session_id}"

# 413 is a refusal too: the server's (documented) answer to fields over their size limits
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

# The one limit JSON Schema cannot state: a signal's type (128) and data (8192) are measured in
# UTF-8 bytes, so a string within any maxLength in characters may still be a 413 (documented).
[[operations]]
include-path-regex = "/signal$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "413", "429"]
"""


def run_schemathesis(server: Server, session_id: str, workdir: Path, max_examples: int) -> dict[str, Any]:
    """One bounded, deterministic run; returns the counts and what it found."""
    key, secret = server.project.api_key, server.project.api_secret
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.format(key=key, session_id=session_id))
    reports = workdir / "reports"
    started = time.monotonic()
    done = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(config), "run", f"{server.url}/openapi.json",
         "-H", f"X-TB-PARTNER-AUTH: {key}:{secret}", "--max-examples", str(max_examples),
         "--generation-deterministic", "--generation-with-security-parameters", "false", "--workers", "1",
         "--request-timeout", "20", "--report", "json,har", "--report-dir", str(reports), "--no-color"],
        capture_output=True, text=True, timeout=1200, cwd=workdir,
    )
    seconds = time.monotonic() - started
    result = json.loads(next(reports.glob("json-*.json")).read_text())
    entries = json.loads(next(reports.glob("har-*.json")).read_text())["log"]["entries"]
    return {
        "returncode": done.returncode,
        "output": done.stdout[-8000:] + done.stderr[-2000:],
        "seconds": seconds,
        "result": result,
        "requests": len(entries),
        "statuses": collections.Counter(e["response"]["status"] for e in entries),
    }


def test_schemathesis_finds_nothing(server: Server, ot: Client, tmp_path: Path) -> None:
    session_id = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    run = run_schemathesis(server, session_id, tmp_path, MAX_EXAMPLES)
    result = run["result"]
    print(f"schemathesis: {run['requests']} requests, {result['test_cases']['generated']} test cases, "
          f"{run['seconds']:.1f} s, statuses {dict(sorted(run['statuses'].items()))}")
    assert run["returncode"] == 0, run["output"]
    assert result["failures"] == [] and result["errors"] == [], run["output"]
    assert result["operations"]["tested"] == 26
    assert all(p["status"] in ("success", "skip") for p in result["phases"].values())
    assert run["requests"] > 1000 and not any(status >= 500 for status in run["statuses"])
    assert "Traceback" not in server.logs()


def test_document(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    assert len(operations) == 26 and not any(p.startswith("/v2/partner") for p, _, _ in operations)
    assert len({op["operationId"] for _, _, op in operations}) == 26
    for path, method, op in operations:
        responses = op["responses"]
        assert "422" not in responses, (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if op.get("security") != []:
            assert "403" in responses, (method, path)
        if method in ("put", "patch") or (path.endswith(("/archive", "/callback", "/signal")) and method == "post"):
            assert "requestBody" in op and "413" in responses, (method, path)
    create = spec["paths"]["/session/create"]["post"]
    assert set(create["responses"]["200"]["content"]) == {"application/json", "text/xml"}
    assert "application/x-www-form-urlencoded" in create["requestBody"]["content"]
    listing = spec["paths"]["/v2/project/{key}/archive"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"key", "offset", "count", "sessionId"}
    # a 405 names every method of the resource (each method is a route of its own)
    key = server.project.api_key
    auth = {"X-TB-PARTNER-AUTH": f"{key}:{server.project.api_secret}"}
    for method, url, allow in (("PUT", f"/v2/project/{key}/archive", "GET, POST"),
                               ("PUT", f"/v2/project/{key}/archive/x", "GET, POST, DELETE"),
                               ("GET", "/session/create", "POST"), ("DELETE", "/health", "GET")):
        r = httpx.request(method, server.url + url, headers=auth)
        assert r.status_code == 405 and r.json()["code"] == 405, (method, url)
        assert r.headers["Allow"] == allow, (method, url, r.headers["Allow"])


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.from_regex(STYLESHEET_PATTERN, fullmatch=True))
def test_every_stylesheet_the_document_allows_is_taken(css: str) -> None:
    """The documented stylesheet pattern is a true part of what the layout engine takes: a
    schema-valid custom layout is never a 400."""
    spec = LayoutSpec("custom", css)
    compose_layout(spec, [LayoutStream("a", ("x",)), LayoutStream("b")], 640, 480)


def test_the_layout_names_the_api_checks_are_the_engines() -> None:
    from archivist.archives import options
    from archivist.recording import layout

    assert options.LAYOUT_TYPES == layout.LAYOUT_TYPES and options.SCREENSHARE_TYPES == layout.SCREENSHARE_TYPES
