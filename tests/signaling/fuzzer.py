"""A seeded fuzzer for the signaling WebSocket (docs/protocol.md), used by test_fuzz.py and
bench/fuzz.py.

It draws frames of five kinds: *malformed* (not JSON, not an object, wrong types, missing
fields, deep nesting, NaN, lone surrogates, binary), *oversized* (SDP, signal, names, rid
beyond their limits), *out-of-order* (requests for streams, subscriptions and connections that
do not exist or are gone, ``connect`` twice), *replayed* (the same frame, rid and all, sent
again; a real SDP offer published twice; a token reused on a second socket) and
*role-violating* (a subscriber publishing, anyone but a moderator forcing others out). Frames go
both before ``connect`` (each on its own socket, which must then close with a documented code)
and after it. Every answer is checked against the protocol as it arrives: a JSON object with a
``type``, errors with a documented code (never 500), documented close codes only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from archivist.client import signaling_url

ERROR_CODES = {400, 403, 404, 409, 413}
CLOSE_CODES = {1000, 4001, 4002, 4004, 4400}
KINDS = ("malformed", "oversized", "out-of-order", "replayed", "role-violating")
REQUEST_TYPES = ("publish", "unpublish", "subscribe", "unsubscribe", "signal", "forceDisconnect",
                 "forceUnpublish", "keyframe", "ping")


@dataclass
class Target:
    """The live session under attack and what the fuzzer may know of it."""

    url: str
    api_key: str
    session_id: str
    token: Callable[[str], str]
    """role -> a fresh valid token for the session"""
    victim_connection: str
    victim_stream: str
    other_session_token: str
    expired_token: str


@dataclass
class Findings:
    sent: Counter[str] = field(default_factory=Counter)
    """frames sent, by kind (and 'pre-connect' for the frames sent before connect)"""
    replies: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return sum(self.sent.values())

    def check_frame(self, raw: str | bytes, where: str) -> dict[str, Any] | None:
        try:
            frame = json.loads(raw)
        except ValueError:
            self.violations.append(f"{where}: not JSON: {raw[:200]!r}")
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self.violations.append(f"{where}: not a typed object: {raw[:200]!r}")
            return None
        if frame["type"] == "error":
            code = frame.get("code")
            self.replies[f"error {code}"] += 1
            if code not in ERROR_CODES or not isinstance(frame.get("message"), str):
                self.violations.append(f"{where}: error frame {frame}")
        else:
            self.replies[frame["type"]] += 1
        return frame

    def check_close(self, code: int | None, where: str) -> None:
        self.closes[code or 0] += 1
        if code not in CLOSE_CODES:
            self.violations.append(f"{where}: close code {code}")


def _surrogate_json(value: str) -> str:
    return json.dumps(value)[:-1] + '\\ud800"'


class FrameMaker:
    """Draws one frame (JSON text or bytes) of a kind, from a seeded generator."""

    def __init__(self, rng: random.Random, target: Target, offer_sdp: str) -> None:
        self.rng = rng
        self.target = target
        self.offer_sdp = offer_sdp
        self.rid = 0
        self.sent_frames: list[str] = []

    def _rid(self) -> int:
        self.rid += 1
        return self.rid

    def _junk_value(self) -> Any:
        r = self.rng
        return r.choice([None, True, 0, -1, 2**70, 1.5, "", "x" * r.randint(1, 40), [], {}, [1, [2]], {"a": {}}])

    def _request(self, type_: str) -> dict[str, Any]:
        t = self.target
        fields: dict[str, Any] = {"type": type_, "rid": self._rid()}
        if type_ == "publish":
            fields.update(sdp="v=0\r\n", hasAudio=True, hasVideo=True, name="fuzz")
        elif type_ in ("unpublish", "forceUnpublish"):
            fields["streamId"] = t.victim_stream
        elif type_ == "subscribe":
            fields.update(streamId=t.victim_stream, sdp="v=0\r\n")
        elif type_ in ("unsubscribe", "keyframe"):
            fields["subscriptionId"] = "sub-" + str(self.rng.randint(0, 10**6))
        elif type_ == "signal":
            fields.update(signalType="fuzz", data="d")
        elif type_ == "forceDisconnect":
            fields["connectionId"] = t.victim_connection
        return fields

    def malformed(self) -> str | bytes:
        r = self.rng
        choice = r.randrange(12)
        if choice == 0:
            return bytes(r.getrandbits(8) for _ in range(r.randint(1, 64)))
        if choice == 1:
            return "".join(chr(r.randint(32, 0x2FF)) for _ in range(r.randint(1, 64)))
        if choice == 2:
            text = json.dumps(self._request(r.choice(REQUEST_TYPES)))
            return text[: r.randint(1, len(text) - 1)]
        if choice == 3:
            return json.dumps(r.choice([[1, 2], "text", 42, None, True, []]))
        if choice == 4:
            return json.dumps({"type": self._junk_value(), "rid": self._rid()})
        if choice == 5:
            frame = self._request(r.choice(REQUEST_TYPES))
            frame.pop(r.choice([k for k in frame if k != "type"]), None)
            return json.dumps(frame)
        if choice == 6:
            frame = self._request(r.choice(REQUEST_TYPES))
            frame[r.choice([k for k in frame if k != "type"])] = self._junk_value()
            return json.dumps(frame)
        if choice == 7:
            depth = r.choice([40, 500, 1000, 5000, 20000])
            return '{"type": "ping", "rid": 1, "x": ' + "[" * depth + "]" * depth + "}"
        if choice == 8:
            return '{"type": "ping", "rid": ' + r.choice(["NaN", "Infinity", "-Infinity", "1e999"]) + "}"
        if choice == 9:
            key = r.choice(["signalType", "data", "to", "rid", "name"])
            return '{"type": "signal", "' + key + '": ' + _surrogate_json("x") + "}"
        if choice == 10:
            return json.dumps({"type": "ping", "rid": r.choice([True, {"a": 1}, [1], "r" * 200])})
        return json.dumps({"type": r.choice(["dance", "CONNECT", "Ping", " ping", "error"]), "rid": self._rid()})

    def oversized(self) -> str:
        r = self.rng
        choice = r.randrange(5)
        if choice == 0:
            return json.dumps({"type": "publish", "rid": self._rid(), "sdp": "v=0\r\n" + "a" * 150_000,
                               "hasAudio": True, "hasVideo": True})
        if choice == 1:
            return json.dumps({"type": "signal", "rid": self._rid(), "data": "\u00e9" * 5000})
        if choice == 2:
            return json.dumps({"type": "signal", "rid": self._rid(), "signalType": "t" * 200})
        if choice == 3:
            return json.dumps({"type": "publish", "rid": self._rid(), "sdp": "v=0", "name": "n" * 5000})
        return json.dumps({"type": "unsubscribe", "rid": self._rid(), "subscriptionId": "s" * 5000})

    def out_of_order(self) -> str:
        r = self.rng
        unknown = "nope-" + str(r.randint(0, 10**6))
        return json.dumps(r.choice([
            {"type": "subscribe", "streamId": unknown, "sdp": "v=0\r\n"},
            {"type": "unpublish", "streamId": unknown},
            {"type": "unpublish", "streamId": self.target.victim_stream},  # someone else's
            {"type": "unsubscribe", "subscriptionId": unknown},
            {"type": "keyframe", "subscriptionId": unknown},
            {"type": "signal", "to": unknown, "data": "x"},
            {"type": "connect", "apiKey": self.target.api_key, "sessionId": self.target.session_id,
             "token": self.target.token("publisher")},
        ]) | {"rid": self._rid()})

    def replayed(self) -> str:
        r = self.rng
        if self.sent_frames and r.random() < 0.6:
            return r.choice(self.sent_frames)  # rid and all
        if r.random() < 0.25:  # a real offer, published again and again (each one a new stream)
            return json.dumps({"type": "publish", "rid": self._rid(), "sdp": self.offer_sdp,
                               "hasAudio": True, "hasVideo": True, "name": "replayed"})
        return json.dumps({"type": "signal", "rid": "same", "signalType": "replay", "data": "again"})

    def role_violating(self) -> str:
        r = self.rng
        return json.dumps(r.choice([
            {"type": "forceDisconnect", "connectionId": self.target.victim_connection},
            {"type": "forceUnpublish", "streamId": self.target.victim_stream},
            {"type": "publish", "sdp": "v=0\r\n", "hasAudio": True, "hasVideo": True},
        ]) | {"rid": self._rid()})

    def draw(self, kind: str) -> str | bytes:
        frame = {"malformed": self.malformed, "oversized": self.oversized, "out-of-order": self.out_of_order,
                 "replayed": self.replayed, "role-violating": self.role_violating}[kind]()
        if isinstance(frame, str) and kind != "replayed" and len(frame) < 2000:
            self.sent_frames.append(frame)
        return frame


async def offer_sdp() -> str:
    """A real SDP offer (audio + video, sendonly) to replay."""
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def _reader(ws: ClientConnection, findings: Findings, where: str, last: asyncio.Event) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            frame = findings.check_frame(raw, where)
            if frame is not None and frame.get("rid") == "last":
                last.set()


async def _connect(target: Target, role: str, findings: Findings) -> ClientConnection:
    ws = await ws_connect(signaling_url(target.url), max_size=2**22, ping_interval=None)
    await ws.send(json.dumps({"type": "connect", "rid": "c", "apiKey": target.api_key,
                              "sessionId": target.session_id, "token": target.token(role)}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
    if reply.get("type") != "connected":
        findings.violations.append(f"{role} could not connect: {reply}")
    return ws


async def fuzz_connected(target: Target, role: str, frames: int, seed: int, sdp: str, findings: Findings) -> None:
    """``frames`` frames on one connected socket (a subscriber for the role violations)."""
    rng = random.Random(seed)
    maker = FrameMaker(rng, target, sdp)
    ws = await _connect(target, role, findings)
    last = asyncio.Event()
    reader = asyncio.get_running_loop().create_task(_reader(ws, findings, f"{role} #{seed}", last))
    try:
        for _ in range(frames):
            kind = rng.choice(KINDS)
            frame = maker.draw(kind)
            findings.sent[kind] += 1
            await ws.send(frame)
            await asyncio.sleep(0.02 if rng.random() < 0.05 else 0)  # let the answers (and pings) in
        await ws.send(json.dumps({"type": "ping", "rid": "last"}))
        try:  # the answers come in order: once this one is in, every one is
            await asyncio.wait_for(last.wait(), 60)
        except TimeoutError:
            findings.violations.append(f"{role} #{seed}: no answer to the last ping")
    finally:
        await ws.close()
        await asyncio.wait_for(reader, 10)
    if ws.close_code not in (1000, None):
        findings.violations.append(f"{role} #{seed}: closed with {ws.close_code} while fuzzing")


async def fuzz_before_connect(target: Target, sockets: int, seed: int, findings: Findings) -> None:
    """One frame per socket before ``connect``: an error frame and a documented close code."""
    rng = random.Random(seed)
    maker = FrameMaker(rng, target, "v=0\r\n")
    good = target.token("publisher")
    for i in range(sockets):
        choice = rng.randrange(6)
        if choice <= 1:
            frame = maker.draw(rng.choice(("malformed", "oversized", "role-violating")))
        else:
            token = [good[: rng.randrange(len(good))] + rng.choice("xyz=!") + good[rng.randrange(len(good)):],
                     target.expired_token, target.other_session_token,
                     "T1==" + base64.b64encode(bytes(rng.getrandbits(8) for _ in range(40))).decode()][choice - 2]
            frame = json.dumps({"type": "connect", "rid": i, "apiKey": target.api_key,
                                "sessionId": target.session_id, "token": token})
        findings.sent["pre-connect"] += 1
        async with ws_connect(signaling_url(target.url), max_size=2**22) as ws:
            await ws.send(frame)
            try:
                raw = await asyncio.wait_for(ws.recv(), 15)
            except ConnectionClosed:
                findings.violations.append(f"pre-connect #{i}: closed without an error frame")
            else:
                answer = findings.check_frame(raw, f"pre-connect #{i}")
                if answer is not None and answer["type"] != "error":
                    findings.violations.append(f"pre-connect #{i}: {answer['type']} for {frame[:200]!r}")
            await asyncio.wait_for(ws.wait_closed(), 15)
            findings.check_close(ws.close_code, f"pre-connect #{i}")


async def replay_token(target: Target, findings: Findings) -> None:
    """A token is good for many connections (as OpenTok's): the same one, twice at once."""
    token = target.token("publisher")
    sockets = []
    for _ in range(2):
        ws = await ws_connect(signaling_url(target.url))
        await ws.send(json.dumps({"type": "connect", "rid": 1, "apiKey": target.api_key,
                                  "sessionId": target.session_id, "token": token}))
        frame = findings.check_frame(await asyncio.wait_for(ws.recv(), 15), "token replay")
        if frame is None or frame["type"] != "connected":
            findings.violations.append(f"token replay refused: {frame}")
        findings.sent["replayed"] += 1
        sockets.append(ws)
    for ws in sockets:
        await ws.send(json.dumps({"type": "disconnect", "rid": 2}))
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                findings.check_frame(raw, "token replay")
        findings.check_close(ws.close_code, "token replay")


async def run(target: Target, *, connected_frames: int, connections: int, pre_connect: int, seed: int) -> Findings:
    findings = Findings()
    sdp = await offer_sdp()
    roles = ["subscriber", "publisher", "publisheronly"]  # never a moderator: it may force others out
    await asyncio.gather(
        *(fuzz_connected(target, roles[i % len(roles)], connected_frames, seed + i, sdp, findings)
          for i in range(connections)),
        fuzz_before_connect(target, pre_connect, seed + 1000, findings),
        replay_token(target, findings),
    )
    return findings
