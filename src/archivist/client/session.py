"""A Python client for Archivist sessions (aiortc): what tests and benchmarks use in place of a
browser. It speaks ``docs/protocol.md``: connect with a token, publish synthetic media,
subscribe and count decoded frames, signal, disconnect, and collect every event."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from archivist.client.synthetic import BeepTrack, FlashTrack, SyncMarks, TestPatternTrack, ToneTrack
from archivist.media import seams

Event = dict[str, Any]


class ClientError(Exception):
    """The server answered a request with an ``error`` frame."""

    def __init__(self, code: int, message: str, frame: Event) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.frame = frame


class ConnectRefused(Exception):
    """The server refused ``connect`` and closed the WebSocket."""

    def __init__(self, close_code: int | None, error: Event | None) -> None:
        super().__init__(f"connect refused (close code {close_code}): {error}")
        self.close_code = close_code
        self.error = error


def signaling_url(server_url: str) -> str:
    base = server_url.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    return base if base.endswith("/v2/signaling") else base + "/v2/signaling"


@dataclass
class Publication:
    stream: Event
    pc: RTCPeerConnection
    tracks: list[MediaStreamTrack]
    codec: str = "VP8"

    @property
    def stream_id(self) -> str:
        return str(self.stream["streamId"])


@dataclass
class Subscription:
    subscription_id: str
    stream_id: str
    pc: RTCPeerConnection
    requested_at: float
    video_frames: int = 0
    audio_frames: int = 0
    first_frame_at: float | None = None
    width: int | None = None
    height: int | None = None
    last_video_pts: int | None = None
    last_video_at: float | None = None
    longest_video_gap: float = 0.0
    """The longest time between two decoded video frames since the first (a picture freeze)."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def first_frame_latency(self) -> float | None:
        """Seconds from the subscribe request to the first decoded video frame."""
        return None if self.first_frame_at is None else self.first_frame_at - self.requested_at

    async def wait_frames(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.video_frames < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.video_frames} of {count} video frames in {timeout} s")
            await asyncio.sleep(0.05)


def _turn_transport(url: str) -> str:
    scheme, _, rest = url.partition(":")
    _, _, query = rest.partition("?transport=")
    return query.lower() or ("tcp" if scheme == "turns" else "udp")


class ArchivistClient:
    """One connection to a session. Use :meth:`open`; always :meth:`close` (idempotent).

    Its peer connections use the ICE servers of the ``connected`` reply (``ice_servers``);
    ``ice_transport_policy="relay"`` makes them use TURN relay candidates only. aiortc uses one
    TURN URL per peer connection (the first): ``turn_transport`` ("udp" or "tcp") keeps only the
    TURN URLs of that transport, as a browser behind a UDP-blocking firewall would end up using.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ice_servers: list[Event] = []
        self.ice_transport_policy = "all"
        self.turn_transport: str | None = None
        self.events: list[Event] = []
        self.connection: Event | None = None
        self.capabilities: Event = {}
        self.close_code: int | None = None
        self.publications: list[Publication] = []
        self.subscriptions: dict[str, Subscription] = {}
        self._rids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Event]] = {}
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self.resume_token: str | None = None
        self.last_seq: int | None = None
        """The ``seq`` of the last event received (a resume asks for the ones after it)."""
        self._open_args: tuple[str, str, str, str, dict[str, Any]] = ("", "", "", "", {})

    # ---- connection ------------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        server_url: str,
        api_key: str,
        session_id: str,
        token: str,
        *,
        timeout: float = 10.0,
        ice_transport_policy: str = "all",
        turn_transport: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> ArchivistClient:
        if ice_transport_policy not in ("all", "relay"):
            raise ValueError(f"ice_transport_policy must be all or relay, not {ice_transport_policy!r}")
        url = signaling_url(server_url)
        tls: dict[str, Any] = {"ssl": ssl_context} if ssl_context is not None and url.startswith("wss") else {}
        ws = await connect(url, open_timeout=timeout, max_size=2**22, **tls)
        client = cls(ws)
        client.ice_transport_policy = ice_transport_policy
        client.turn_transport = turn_transport
        client._reader = asyncio.get_running_loop().create_task(client._read())
        try:
            reply = await client.request(
                "connect", timeout=timeout, apiKey=api_key, sessionId=session_id, token=token
            )
        except ClientError as exc:
            await client._wait_closed(timeout)
            code = client.close_code
            await client.close()
            raise ConnectRefused(code, exc.frame) from None
        except (ConnectionClosed, ConnectionError):
            await client._wait_closed(timeout)
            code = client.close_code
            await client.close()
            raise ConnectRefused(code, None) from None
        client._connected(reply)
        client._open_args = (url, api_key, session_id, token, tls)
        return client

    def _connected(self, reply: Event) -> None:
        self.connection = reply["connection"]
        self.capabilities = reply.get("capabilities", {})
        self.ice_servers = list(reply.get("iceServers") or [])
        self.resume_token = reply.get("resumeToken")

    async def resume(self, timeout: float = 10.0) -> Event:
        """After the WebSocket dropped (:meth:`vanish`): a new one, ``connect`` with the resume
        token; the peer connections were never touched. Returns the ``connected`` reply;
        raises :class:`ConnectRefused` (close code 4010) when the server gave the connection up."""
        url, api_key, session_id, token, tls = self._open_args
        if self._reader is not None and not self._reader.done():
            raise RuntimeError("the WebSocket is still open")
        self.ws = await connect(url, open_timeout=timeout, max_size=2**22, **tls)
        self.close_code = None
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            reply = await self.request("connect", timeout=timeout, apiKey=api_key, sessionId=session_id,
                                       token=token, resume=self.resume_token, lastSeq=self.last_seq)
        except (ClientError, ConnectionClosed, ConnectionError) as exc:
            await self._wait_closed(timeout)
            raise ConnectRefused(self.close_code, getattr(exc, "frame", None)) from None
        self._connected(reply)
        return reply

    def rtc_configuration(self) -> RTCConfiguration:
        """The configuration of this client's next peer connection (see the class doc)."""
        servers = []
        for server in self.ice_servers:
            urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
            if self.turn_transport is not None:
                urls = [u for u in urls if not u.startswith("turn") or _turn_transport(u) == self.turn_transport]
            if urls:
                servers.append(
                    RTCIceServer(urls=urls, username=server.get("username"), credential=server.get("credential"))
                )
        policy = RTCIceTransportPolicy.RELAY if self.ice_transport_policy == "relay" else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)

    @property
    def connection_id(self) -> str:
        assert self.connection is not None
        return str(self.connection["connectionId"])

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                rid = frame.get("rid")
                future = self._pending.pop(str(rid), None) if rid is not None else None
                if future is not None and not future.done():
                    future.set_result(frame)
                else:
                    if isinstance(frame.get("seq"), int):
                        if self.last_seq is not None and frame["seq"] <= self.last_seq:
                            continue  # sent again on a resume: already here
                        self.last_seq = frame["seq"]
                    async with self._changed:
                        self.events.append(frame)
                        self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"connection closed ({self.close_code})"))
            self._pending.clear()
            async with self._changed:
                self._changed.notify_all()

    async def _wait_closed(self, timeout: float) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def request(self, type_: str, *, timeout: float = 15.0, **fields: Any) -> Event:
        """Send a request and return its reply; an ``error`` reply raises :class:`ClientError`."""
        rid = str(next(self._rids))
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        await self.ws.send(json.dumps({"type": type_, "rid": rid, **fields}))
        reply = await asyncio.wait_for(future, timeout)
        if reply.get("type") == "error":
            raise ClientError(int(reply.get("code", 0)), str(reply.get("message", "")), reply)
        return reply

    async def wait_event(
        self, type_: str, where: Callable[[Event], bool] | None = None, timeout: float = 10.0
    ) -> Event:
        """The first event (received so far or later) of ``type_`` matching ``where``."""
        deadline = time.monotonic() + timeout

        def find() -> Event | None:
            for event in self.events:
                if event.get("type") == type_ and (where is None or where(event)):
                    return event
            return None

        async with self._changed:
            while True:
                found = find()
                if found is not None:
                    return found
                if self._reader is None or self._reader.done():
                    raise ConnectionError(f"connection closed ({self.close_code}) before {type_}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {type_} event in {timeout} s; got {[e['type'] for e in self.events]}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def events_of(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.get("type") == type_]

    # ---- media -----------------------------------------------------------------------------
    async def publish(
        self,
        *,
        name: str = "",
        audio: bool = True,
        video: bool = True,
        codec: str = "VP8",
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        wait_created: bool = True,
        marks: SyncMarks | None = None,
        sources: tuple[MediaStreamTrack | None, MediaStreamTrack | None] | None = None,
        layout_classes: Sequence[str] | None = None,
    ) -> Publication:
        """Publish a moving test pattern (and a tone); returns once the stream is announced.
        With ``marks``, publish flashes and beeps at the same instants instead (A/V sync);
        with ``sources``, publish these (audio, video) tracks (a track may yield encoded
        ``av.Packet``s of ``codec``, which aiortc sends without encoding). ``layout_classes``:
        the stream's ``layoutClassList`` (default: the token's initial layout classes)."""
        pc = RTCPeerConnection(self.rtc_configuration())
        tracks: list[MediaStreamTrack] = []
        if sources is not None:
            audio, video = sources[0] is not None, sources[1] is not None
        if audio:
            if sources is not None and sources[0] is not None:
                tone = sources[0]
            else:
                tone = ToneTrack() if marks is None else BeepTrack(marks)
            pc.addTransceiver(tone, direction="sendonly")
            tracks.append(tone)
        if video:
            if sources is not None and sources[1] is not None:
                pattern = sources[1]
            elif marks is None:
                pattern = TestPatternTrack(width, height, fps)
            else:
                pattern = FlashTrack(marks, width, height, fps)
            self._send_track(pc, pattern, codec)
            tracks.append(pattern)
        await pc.setLocalDescription(await pc.createOffer())
        extra: dict[str, Any] = {} if layout_classes is None else {"layoutClassList": list(layout_classes)}
        try:
            reply = await self.request(
                "publish",
                name=name,
                hasAudio=audio,
                hasVideo=video,
                videoType="camera",
                width=width,
                height=height,
                frameRate=fps,
                sdp=pc.localDescription.sdp,
                **extra,
            )
            await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        except BaseException:
            await pc.close()
            raise
        publication = Publication(stream=reply["stream"], pc=pc, tracks=tracks, codec=codec)
        self.publications.append(publication)
        if wait_created:
            await self.wait_event(
                "streamCreated",
                lambda e: e.get("publisher") is True and e["stream"]["streamId"] == publication.stream_id,
                timeout=15,
            )
        return publication

    @staticmethod
    def _send_track(pc: RTCPeerConnection, track: MediaStreamTrack, codec: str) -> None:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if track.kind != "video":
            return
        caps = RTCRtpSender.getCapabilities("video").codecs
        prefs = [c for c in caps if c.mimeType.lower() == f"video/{codec.lower()}"]
        if not prefs:
            raise ValueError(f"unknown video codec {codec}")
        prefs += [c for c in caps if c.mimeType.lower() == "video/rtx"]
        transceiver.setCodecPreferences(prefs)

    async def republish(self, publication: Publication) -> Event:
        """Send the same stream over a new peer connection (what a client does when its network
        changed and its peer connection died): its tracks go on in the new one, the old one is
        closed once the server has answered (a browser does the same; closing it first would tell
        the server the stream ended); the stream keeps its id. Returns the ``republished`` reply."""
        old = publication.pc
        pc = RTCPeerConnection(self.rtc_configuration())
        for track in publication.tracks:
            self._send_track(pc, track, publication.codec)
        await pc.setLocalDescription(await pc.createOffer())
        # aiortc stops the track of a sender whose transport ends (the server closes the old
        # peer when it takes the new one): the old senders let go of the tracks first
        old_tracks = [(sender, sender.track) for sender in old.getSenders()]
        for sender, _ in old_tracks:
            sender.replaceTrack(None)
        try:
            reply = await self.request("republish", streamId=publication.stream_id, sdp=pc.localDescription.sdp)
        except BaseException:
            for sender, track in old_tracks:
                sender.replaceTrack(track)
            await pc.close()
            raise
        await old.close()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        publication.pc = pc
        return reply

    async def resubscribe(self, sub: Subscription) -> Event:
        """Receive the same subscription over a new peer connection (the old one is closed
        once the server has answered); frame counts go on. Returns the ``resubscribed`` reply."""
        kinds = [t.kind for t in sub.pc.getTransceivers()]
        pc = RTCPeerConnection(self.rtc_configuration())
        for kind in kinds:
            pc.addTransceiver(kind, direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        try:
            reply = await self.request("resubscribe", subscriptionId=sub.subscription_id, sdp=pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        except BaseException:
            await pc.close()
            raise
        await sub.pc.close()
        for task in sub.tasks:
            task.cancel()
        await asyncio.gather(*sub.tasks, return_exceptions=True)
        sub.tasks.clear()
        sub.pc = pc
        self._consume_all(sub, pc)
        return reply

    async def unpublish(self, publication: Publication) -> Event:
        reply = await self.request("unpublish", streamId=publication.stream_id)
        await publication.pc.close()
        return reply

    async def subscribe(
        self, stream_id: str, *, audio: bool = True, video: bool = True, decode: bool = True
    ) -> Subscription:
        """Subscribe and count decoded frames (first-frame latency from the request). With
        ``decode=False`` frames are counted as received, undecoded (cheap: for benchmarks)."""
        pc = RTCPeerConnection(self.rtc_configuration())
        if audio:
            pc.addTransceiver("audio", direction="recvonly")
        if video:
            pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        started = time.monotonic()
        try:
            reply = await self.request(
                "subscribe",
                streamId=stream_id,
                subscribeToAudio=audio,
                subscribeToVideo=video,
                sdp=pc.localDescription.sdp,
            )
        except BaseException:
            await pc.close()
            raise
        sub = Subscription(
            subscription_id=str(reply["subscriptionId"]), stream_id=stream_id, pc=pc, requested_at=started
        )
        self.subscriptions[sub.subscription_id] = sub
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        if not decode:
            for transceiver in pc.getTransceivers():
                seams.mark_passthrough(transceiver.receiver)
        self._consume_all(sub, pc)
        return sub

    def _consume_all(self, sub: Subscription, pc: RTCPeerConnection) -> None:
        loop = asyncio.get_running_loop()
        for transceiver in pc.getTransceivers():
            track = transceiver.receiver.track
            if track is not None:
                sub.tasks.append(loop.create_task(self._consume(sub, track, transceiver.kind)))

    @staticmethod
    async def _consume(sub: Subscription, track: MediaStreamTrack, kind: str) -> None:
        try:
            while True:
                frame = await track.recv()
                if kind == "video":
                    now = time.monotonic()
                    if sub.first_frame_at is None:
                        sub.first_frame_at = now
                    if sub.last_video_at is not None:
                        sub.longest_video_gap = max(sub.longest_video_gap, now - sub.last_video_at)
                    sub.last_video_at = now
                    sub.video_frames += 1
                    if isinstance(frame, av.VideoFrame):
                        sub.width, sub.height = frame.width, frame.height
                    sub.last_video_pts = frame.pts
                else:
                    sub.audio_frames += 1
        except MediaStreamError:
            return

    async def unsubscribe(self, sub: Subscription) -> Event:
        reply = await self.request("unsubscribe", subscriptionId=sub.subscription_id)
        await self._close_subscription(sub)
        return reply

    async def _close_subscription(self, sub: Subscription) -> None:
        self.subscriptions.pop(sub.subscription_id, None)
        await sub.pc.close()
        for task in sub.tasks:
            task.cancel()
        await asyncio.gather(*sub.tasks, return_exceptions=True)

    # ---- messaging ---------------------------------------------------------------------------
    async def signal(self, data: str, signal_type: str = "", to: str | None = None) -> Event:
        fields: dict[str, Any] = {"signalType": signal_type, "data": data}
        if to is not None:
            fields["to"] = to
        return await self.request("signal", **fields)

    # ---- endings -----------------------------------------------------------------------------
    async def disconnect(self, timeout: float = 5.0) -> None:
        """Say goodbye, wait for the server to close (1000), then release media."""
        if self._reader is not None and not self._reader.done():
            await self.ws.send(json.dumps({"type": "disconnect"}))
            await self._wait_closed(timeout)
        await self.close()

    async def vanish(self) -> None:
        """Drop the TCP connection without a close frame and without signaling (a crashed
        client); peer connections are closed silently afterwards by :meth:`close`."""
        self.ws.transport.abort()
        await self._wait_closed(5.0)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sub in list(self.subscriptions.values()):
            await self._close_subscription(sub)
        for pub in self.publications:
            await pub.pc.close()
        await self.ws.close()
        if self._reader is not None:
            await self._wait_closed(5.0)
            if not self._reader.done():
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
