"""Benchmark (issue 12): the REST and signaling fuzzers of the test suite, run longer.

    .venv/bin/python -m bench.fuzz [--examples 100] [--connections 4] [--frames 1500] [--pre-connect 600]

1. schemathesis from the served OpenAPI against a real server (deterministic generation,
   ``--examples`` per operation and phase; tests/api/test_openapi.py runs 25);
2. the signaling fuzzer (tests/signaling/fuzzer.py) with ``--connections`` fuzzing sockets of
   ``--frames`` frames each and ``--pre-connect`` one-frame sockets, while two real aiortc
   clients publish and subscribe; the subscriber's frame rate is measured during the fuzzing.

Prints a table and writes bench/results/fuzz.md. Failures are reported, not raised.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import jwt
from opentok import Client, MediaModes, Roles

from archivist.client import ArchivistClient
from bench.common import publish_result, table
from tests.api.test_openapi import run_schemathesis
from tests.servers import Server, make_server
from tests.signaling import fuzzer


async def signaling(server: Server, ot: Client, args: argparse.Namespace) -> dict[str, Any]:
    session_id = str(ot.create_session(media_mode=MediaModes.routed).session_id)

    def token(role: str = "publisher", sid: str | None = None) -> str:
        return str(ot.generate_token(sid or session_id, role=Roles(role)))

    key = server.project.api_key
    alice = await ArchivistClient.open(server.url, key, session_id, token())
    bob = await ArchivistClient.open(server.url, key, session_id, token("subscriber"))
    try:
        publication = await alice.publish()
        sub = await bob.subscribe(publication.stream_id)
        await sub.wait_frames(10)
        claims = jwt.decode(token(), options={"verify_signature": False})
        expired = jwt.encode(claims | {"exp": int(time.time()) - 3600}, server.project.api_secret,
                             algorithm="HS256")
        other = str(ot.create_session(media_mode=MediaModes.routed).session_id)
        target = fuzzer.Target(url=server.url, api_key=key, session_id=session_id, token=token,
                               victim_connection=alice.connection_id, victim_stream=publication.stream_id,
                               other_session_token=token(sid=other), expired_token=expired)
        frames0, started = sub.video_frames, time.monotonic()
        findings = await fuzzer.run(target, connected_frames=args.frames, connections=args.connections,
                                    pre_connect=args.pre_connect, seed=args.seed)
        seconds = time.monotonic() - started
        fps = (sub.video_frames - frames0) / seconds
        await alice.request("signal", signalType="after", data="x")
        still = (await bob.wait_event("signal", lambda e: e["signalType"] == "after"))["data"] == "x"
        return {"findings": findings, "seconds": seconds, "fps": fps,
                "session ok": still and not alice.events_of("sessionDisconnected")}
    finally:
        await bob.close()
        await alice.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--pre-connect", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archivist-fuzz-") as tmp:
        server = make_server(Path(tmp))
        try:
            ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
            rest_dir = Path(tmp) / "schemathesis"
            rest_dir.mkdir()
            rest = run_schemathesis(server, str(ot.create_session(media_mode=MediaModes.routed).session_id),
                                    rest_dir, args.examples)
            ws = asyncio.run(signaling(server, ot, args))
            tracebacks = server.logs().count("Traceback")
        finally:
            server.stop()
    result = rest["result"]
    findings: fuzzer.Findings = ws["findings"]
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(rest["statuses"].items()))
    rows = [
        ["REST (schemathesis)", f"{rest['requests']}", f"{rest['seconds']:.0f}",
         f"{len(result['failures'])} failures, {len(result['errors'])} errors", statuses],
        ["signaling fuzzer", f"{findings.frames}", f"{ws['seconds']:.0f}", f"{len(findings.violations)} violations",
         f"closes {dict(sorted(findings.closes.items()))}; subscriber {ws['fps']:.1f} fps during; "
         f"session {'works' if ws['session ok'] else 'BROKEN'} after"],
    ]
    load = os.getloadavg()
    notes = [
        "",
        f"schemathesis {result['schemathesis_version']}: {args.examples} examples per operation and phase, "
        f"23 operations, every check, deterministic generation. Signaling: {args.connections} sockets x "
        f"{args.frames} frames + {args.pre_connect} pre-connect sockets, seed {args.seed}; frames by kind: "
        f"{dict(findings.sent)}.",
        f"Server tracebacks logged: {tracebacks}. Load average at the end: {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f} (2 cores shared: re-measure on a quiet machine for the timings).",
        *(f"- {violation}" for violation in findings.violations[:20]),
    ]
    publish_result("fuzz", table("Fuzzing: REST and signaling", ["suite", "requests / frames", "seconds", "found",
                                                                  "answers"], rows, notes))

if __name__ == "__main__":
    main()
