"""The signaling fuzzer (tests/signaling/fuzzer.py) against a real server while a real session
(two aiortc clients, one publishing, one subscribing) goes on: every answer follows the
protocol, nothing the fuzzer does reaches the session, and the session still works after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import jwt
from opentok import Client, MediaModes

from tests.servers import Server
from tests.signaling import fuzzer
from tests.signaling.conftest import ClientFactory

SEED = 20261201
CONNECTED_FRAMES = 600
"""Frames per connected fuzzing socket (3 sockets: subscriber, publisher, publisher-only)."""
PRE_CONNECT = 300


async def test_fuzzer_while_a_session_goes_on(
    server: Server, ot: Client, session_id: str, token: Callable[..., str], connect: ClientFactory
) -> None:
    alice = await connect("publisher", data="alice")
    bob = await connect("subscriber", data="bob")
    publication = await alice.publish()
    sub = await bob.subscribe(publication.stream_id)
    await sub.wait_frames(10)
    good = token()
    claims = jwt.decode(good, options={"verify_signature": False})
    expired = jwt.encode(claims | {"exp": int(time.time()) - 3600}, server.project.api_secret, algorithm="HS256")
    other = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    target = fuzzer.Target(
        url=server.url, api_key=server.project.api_key, session_id=session_id, token=lambda role: token(role),
        victim_connection=alice.connection_id, victim_stream=publication.stream_id,
        other_session_token=token(sid=other), expired_token=expired,
    )
    frames_before = sub.video_frames
    started = time.monotonic()
    findings = await fuzzer.run(target, connected_frames=CONNECTED_FRAMES, connections=3, pre_connect=PRE_CONNECT,
                                seed=SEED)
    seconds = time.monotonic() - started
    print(f"signaling fuzzer: {findings.frames} frames in {seconds:.1f} s: {dict(findings.sent)}; "
          f"answers {dict(findings.replies)}; closes {dict(findings.closes)}")
    assert findings.violations == []
    assert findings.frames >= 3 * CONNECTED_FRAMES + PRE_CONNECT
    assert all(findings.sent[kind] > 50 for kind in fuzzer.KINDS)
    assert findings.replies["error 403"] > 0 and findings.replies["error 413"] > 0  # roles and limits held
    assert set(findings.closes) >= {4001, 4002, 4004, 4400}

    # the session went on and still works: media flowed all along, signals and new requests work
    assert sub.video_frames > frames_before + 10 * seconds
    assert not alice.events_of("sessionDisconnected") and not bob.events_of("sessionDisconnected")
    assert not [e for e in bob.events_of("streamDestroyed") if e["stream"]["streamId"] == publication.stream_id]
    await alice.request("signal", signalType="after", data="still here")
    assert (await bob.wait_event("signal", lambda e: e["signalType"] == "after"))["data"] == "still here"
    count = sub.video_frames
    await asyncio.sleep(1)
    assert sub.video_frames >= count + 10
    later = await connect("subscriber", data="carol")
    sub2 = await later.subscribe(publication.stream_id)
    await sub2.wait_frames(5)
    assert "Traceback" not in server.logs() and "signaling request failed" not in server.logs()
