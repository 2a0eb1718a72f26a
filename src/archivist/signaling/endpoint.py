"""The per-connection WebSocket endpoint ``/v2/signaling`` (docs/protocol.md).

One :class:`SignalingSession` per WebSocket: the ``connect`` handshake (token check, close
codes), then each request translated into a call on the client's ``Connection`` (or its room),
in order. It makes no media of its own: the room tree does (``rooms/connection.py``). Events
reach the client through :class:`WebSocketSink` (the room's ``ClientSink``), whose single writer
task keeps replies and events in order and never blocks the room on a slow or vanished client.

Liveness: uvicorn pings every 5 s and drops a client that answers none for 10 s (``archivist
serve`` sets ``ws_ping_interval``/``ws_ping_timeout``); a dropped transport suspends the
connection for the reconnect grace period (``signaling/resume.py``), after which it closes with
``networkDisconnected`` (peer connections that fail: see ``rooms/connection.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from archivist import logs
from archivist.auth.tokens import TokenError, TokenVerifier
from archivist.errors import ArchivistError
from archivist.media.ice import IceConfig
from archivist.media.peers import MediaError
from archivist.rooms.connection import Connection
from archivist.rooms.host import RoomHost
from archivist.rooms.reasons import CloseReason
from archivist.sessions.model import MediaMode
from archivist.sessions.service import SessionService
from archivist.signaling import messages as m
from archivist.signaling.resume import ClientChannel, Resumes

log = logs.get(__name__)

CONNECT_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
RECONNECT_GRACE = 30.0


class SignalingServices(Protocol):
    @property
    def host(self) -> RoomHost: ...

    @property
    def ice(self) -> IceConfig: ...

    @property
    def verifier(self) -> TokenVerifier: ...

    @property
    def sessions(self) -> SessionService: ...


ServicesLookup = Callable[[WebSocket], SignalingServices]


def _app_services(websocket: WebSocket) -> SignalingServices:
    services: SignalingServices = websocket.app.state.services
    return services


@dataclass
class _Close:
    code: int
    reason: str = ""


class WebSocketSink:
    """``ClientSink`` over one WebSocket. Frames queue up for one writer task; events that
    arrive before ``release()`` (during the join) are held so ``connected`` goes first."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self._queue: asyncio.Queue[dict[str, Any] | _Close] = asyncio.Queue()
        self._held: list[dict[str, Any]] | None = []
        self._closing = False
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._writer = asyncio.get_running_loop().create_task(self._write(), name="signaling-writer")

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a frame now (replies; bypasses the hold)."""
        if not self._closing:
            self._queue.put_nowait(frame)

    async def send_event(self, event: dict[str, Any]) -> None:
        if self._closing:
            return
        if self._held is not None:
            self._held.append(event)
        else:
            self._queue.put_nowait(event)

    def release(self) -> None:
        held, self._held = self._held or [], None
        for event in held:
            self.send(event)

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then close with ``code`` (idempotent)."""
        if self._closing:
            return
        self._closing = True
        self.release()
        self._queue.put_nowait(_Close(code, reason))

    async def disconnect(self, reason: CloseReason) -> None:
        self.close(m.close_code_for(reason), reason.value)

    async def _write(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Close):
                    self.close_code = item.code
                    if self.ws.application_state == WebSocketState.CONNECTED:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(self.ws.close(item.code, item.reason[:100]), WRITE_TIMEOUT)
                    return
                if self.ws.application_state != WebSocketState.CONNECTED:
                    continue
                try:
                    await asyncio.wait_for(self.ws.send_text(json.dumps(item)), WRITE_TIMEOUT)
                except Exception as exc:  # the client went away: expected, no traceback
                    log.info("signaling write failed; client gone", error=repr(exc))
                    self._closing = True
                    return
        finally:
            self.closed.set()

    async def finish(self) -> None:
        """Close (if not yet) and wait for the writer to end."""
        self.close(m.CLOSE_NORMAL)
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), WRITE_TIMEOUT + 1)
        except TimeoutError:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


class SignalingSession:
    """One client's signaling: handshake, then requests in order until the end."""

    def __init__(
        self,
        websocket: WebSocket,
        services: SignalingServices,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        resumes: Resumes | None = None,
    ) -> None:
        self.ws = websocket
        self.services = services
        self.connect_timeout = connect_timeout
        self.resumes = resumes if resumes is not None else Resumes(0)
        self.sink = WebSocketSink(websocket)
        self.conn: Connection | None = None
        self.channel: ClientChannel | None = None
        self._leaving = False
        """The client said ``disconnect``: its WebSocket's end is no reason to wait for it."""

    # ---- lifecycle -----------------------------------------------------------------------
    async def run(self) -> None:
        try:
            if await self._handshake():
                await self._serve()
        finally:
            await self._cleanup()

    async def _receive(self) -> str | bytes | None:
        """The next frame, or None when the transport or the sink has closed."""
        receiver = asyncio.ensure_future(self.ws.receive())
        closed = asyncio.ensure_future(self.sink.closed.wait())
        try:
            done, _ = await asyncio.wait({receiver, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if receiver not in done:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
            return None
        message = receiver.result()
        if message["type"] == "websocket.disconnect":
            self._client_close_code = int(message.get("code") or 1006)
            return None
        text: str | None = message.get("text")
        if text is not None:
            return text
        data: bytes = message.get("bytes") or b""
        return data

    _client_close_code: int | None = None

    async def _handshake(self) -> bool:
        try:
            raw = await asyncio.wait_for(self._receive(), self.connect_timeout)
        except TimeoutError:
            self._refuse(None, m.CLOSE_CONNECT_TIMEOUT, 408, "no connect message within 10 s")
            return False
        if raw is None:
            return False
        try:
            request = m.parse(raw)
        except m.MalformedMessage as exc:
            self._refuse(exc.rid, m.CLOSE_MALFORMED, 400, exc.message)
            return False
        if not isinstance(request, m.Connect):
            self._refuse(request.rid, m.CLOSE_MALFORMED, 400, "the first message must be 'connect'")
            return False
        if request.resume is not None:  # the resume token is the credential (the token may have expired since)
            return await self._resume(request)
        try:
            token = await self.services.verifier.verify(request.token, request.session_id)
        except TokenError as exc:
            code = m.TOKEN_CLOSE_CODES.get(exc.reason, m.CLOSE_INVALID_TOKEN)
            log.info("connect refused", reason=exc.reason, session_id=request.session_id)
            self._refuse(request.rid, code, 403 if code != m.CLOSE_NOT_FOUND else 404, exc.message)
            return False
        if token.project_key != request.api_key:
            self._refuse(request.rid, m.CLOSE_NOT_FOUND, 404, "token is for another apiKey")
            return False
        session = await self.services.sessions.find(request.session_id)
        if session is None:
            self._refuse(request.rid, m.CLOSE_NOT_FOUND, 404, "session not found")
            return False
        channel = ClientChannel(self.sink, self.resumes)
        try:
            conn = await self.services.host.join(
                token.project_key, session.id, session.media_mode is MediaMode.RELAYED, token, channel
            )
        except ArchivistError as exc:  # the server is shutting down
            self._refuse(request.rid, m.CLOSE_GOING_AWAY, m.error_code_for(exc), exc.message)
            return False
        channel.conn = conn
        self.conn, self.channel = conn, channel
        self._send_connected(request.rid, conn, channel)
        log.info("client connected", connection=conn.id, session_id=session.id, role=conn.role.value)
        return True

    async def _resume(self, request: m.Connect) -> bool:
        """``connect`` with a resume token: reattach the connection its WebSocket dropped."""
        assert request.resume is not None
        channel = self.resumes.take(request.resume)
        conn = channel.conn if channel is not None else None
        if channel is None or conn is None or conn.room.session_id != request.session_id \
                or conn.room.project_key != request.api_key or not await channel.resume(self.sink, request.last_seq):
            self._refuse(request.rid, m.CLOSE_RESUME_REFUSED, 404, "nothing to resume: the connection has ended")
            if conn is not None and not conn.closed:  # its missed events are lost: it cannot go on
                try:
                    await conn.close(CloseReason.NETWORK_DISCONNECTED)
                except Exception:
                    log.exception("closing a connection that cannot be resumed failed", connection=conn.id)
            return False
        self.conn, self.channel = conn, channel
        self._send_connected(request.rid, conn, channel, resumed=True)
        log.info("client reconnected", connection=conn.id, session_id=conn.room.session_id)
        return True

    def _send_connected(self, rid: m.Rid, conn: Connection, channel: ClientChannel, *, resumed: bool = False) -> None:
        role = conn.role
        resume = {"resumeToken": channel.token, "resumeWindow": self.resumes.grace} if self.resumes.grace > 0 else {}
        self.sink.send(
            m.reply(
                rid,
                "connected",
                sessionId=conn.room.session_id,
                connection=conn.describe(),
                resumed=resumed,
                **resume,
                capabilities={
                    "publish": role.can_publish,
                    "subscribe": role.can_subscribe,
                    "forceDisconnect": role.can_moderate,
                    "forceUnpublish": role.can_moderate,
                    "forceMute": role.can_moderate,
                },
                iceServers=self.services.ice.client_servers(conn.id),
            )
        )
        self.sink.release()

    def _refuse(self, rid: m.Rid, close_code: int, code: int, message: str) -> None:
        self.sink.release()
        self.sink.send(m.error_frame(rid, code, message))
        self.sink.close(close_code, message)

    async def _serve(self) -> None:
        conn = self.conn
        assert conn is not None
        while not conn.closed:
            raw = await self._receive()
            if raw is None:
                break
            try:
                request = m.parse(raw)
            except m.MalformedMessage as exc:
                self.sink.send(m.error_frame(exc.rid, 400, exc.message))
                continue
            try:
                await self._dispatch(conn, request)
            except ArchivistError as exc:
                self.sink.send(m.error_frame(request.rid, m.error_code_for(exc), exc.message))
            except MediaError as exc:
                log.warning("media setup failed", connection=conn.id, error=str(exc))
                # a bad offer is the client's fault (400), a full media port range 503
                self.sink.send(m.error_frame(request.rid, exc.status, f"media setup failed: {exc}"))
            except Exception as exc:
                log.exception("signaling request failed", connection=conn.id, request=type(request).__name__)
                self.sink.send(m.error_frame(request.rid, 500, f"server error: {type(exc).__name__}"))

    async def _cleanup(self) -> None:
        conn, channel = self.conn, self.channel
        if channel is not None and not channel.carried_by(self.sink):
            log.info("old WebSocket of a resumed connection ended", connection=conn.id if conn else None)
        elif conn is not None and channel is not None and not conn.closed:
            code = self._client_close_code
            if code in (1000, 1001) or self._leaving:
                reason = CloseReason.CLIENT_DISCONNECTED
            else:
                reason = CloseReason.NETWORK_DISCONNECTED
            if reason is CloseReason.NETWORK_DISCONNECTED and self.resumes.grace > 0:
                # the WebSocket dropped: the connection waits for the client to come back
                channel.suspend()
                log.info("client connection lost; kept for a resume", connection=conn.id,
                         close_code=code, grace_s=self.resumes.grace)
            else:
                try:
                    await conn.close(reason)
                except Exception:
                    log.exception("connection close failed", connection=conn.id)
        await self.sink.finish()
        if conn is not None:
            log.info("client gone", connection=conn.id, reason=str(conn.close_reason))

    # ---- requests: each one a call on the connection -----------------------------------------
    async def _dispatch(self, conn: Connection, request: m.Request) -> None:
        rid = request.rid
        match request:
            case m.Ping():
                self.sink.send(m.reply(rid, "pong"))
            case m.Publish():
                stream, sdp = await conn.publish(
                    request.sdp,
                    name=request.name,
                    has_audio=request.has_audio,
                    has_video=request.has_video,
                    video_type=request.video_type,
                    width=request.width,
                    height=request.height,
                    frame_rate=request.frame_rate,
                    layout_classes=request.layout_classes,
                )
                self.sink.send(m.reply(rid, "published", stream=stream.describe(), sdp=sdp))
            case m.Unpublish(stream_id=stream_id):
                await conn.unpublish(stream_id)
                self.sink.send(m.reply(rid, "unpublished", streamId=stream_id))
            case m.Subscribe():
                sub, sdp = await conn.subscribe(
                    request.stream_id, request.sdp, audio=request.audio, video=request.video
                )
                self.sink.send(m.reply(rid, "subscribed", subscriptionId=sub.id, streamId=sub.stream.id, sdp=sdp))
            case m.Republish():
                stream, sdp = await conn.republish(request.stream_id, request.sdp)
                self.sink.send(m.reply(rid, "republished", stream=stream.describe(), sdp=sdp))
            case m.Resubscribe():
                sub, sdp = await conn.resubscribe(request.subscription_id, request.sdp)
                self.sink.send(m.reply(rid, "resubscribed", subscriptionId=sub.id, streamId=sub.stream.id, sdp=sdp))
            case m.Unsubscribe(subscription_id=sub_id):
                await conn.unsubscribe(sub_id)
                self.sink.send(m.reply(rid, "unsubscribed", subscriptionId=sub_id))
            case m.Signal():
                await conn.room.signal(request.signal_type, request.data, request.to, sender=conn)
                self.sink.send(m.reply(rid, "signalSent"))
            case m.ForceDisconnect(connection_id=target_id):
                conn.require_moderator("forceDisconnect")
                target = conn.room.connection(target_id)
                self.sink.send(m.reply(rid, "forceDisconnected", connectionId=target_id))
                await target.close(CloseReason.FORCE_DISCONNECTED)
            case m.ForceUnpublish(stream_id=stream_id):
                await conn.force_unpublish(stream_id)
                self.sink.send(m.reply(rid, "forceUnpublished", streamId=stream_id))
            case m.StreamChange():
                stream = await conn.change_stream(
                    request.stream_id, has_audio=request.has_audio, has_video=request.has_video
                )
                self.sink.send(m.reply(rid, "streamChanged", stream=stream.describe()))
            case m.SubscriptionChange():
                sub = conn.change_subscription(request.subscription_id, audio=request.audio, video=request.video)
                self.sink.send(m.reply(rid, "subscriptionChanged", subscriptionId=sub.id,
                                       subscribeToAudio=sub.subscribe_to_audio,
                                       subscribeToVideo=sub.subscribe_to_video))
            case m.ForceMuteStream(stream_id=stream_id):
                conn.require_moderator("forceMuteStream")
                await conn.room.force_mute_stream(stream_id)
                self.sink.send(m.reply(rid, "forceMutedStream", streamId=stream_id))
            case m.ForceMuteAll(excluded=excluded):
                conn.require_moderator("forceMuteAll")
                await conn.room.force_mute_all(excluded)
                self.sink.send(m.reply(rid, "forceMutedAll"))
            case m.DisableForceMute():
                conn.require_moderator("disableForceMute")
                await conn.room.disable_force_mute()
                self.sink.send(m.reply(rid, "forceMuteDisabled"))
            case m.Keyframe(subscription_id=sub_id):
                conn.request_keyframe(sub_id)
            case m.Disconnect():
                self._leaving = True
                await conn.close(CloseReason.CLIENT_DISCONNECTED)
            case m.Connect():
                raise m.MalformedMessage("already connected", rid)


def build_signaling_router(
    services: ServicesLookup | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    reconnect_grace: float = RECONNECT_GRACE,
) -> APIRouter:
    """The ``/v2/signaling`` WebSocket route. ``services`` resolves the app's services per
    connection (default: ``websocket.app.state.services``, built in the lifespan);
    ``reconnect_grace``: seconds a dropped client's connection waits for it (0: none)."""
    router = APIRouter()
    lookup = services or _app_services
    resumes = Resumes(reconnect_grace)

    @router.websocket("/v2/signaling")
    async def signaling(websocket: WebSocket) -> None:
        svc = lookup(websocket)
        await websocket.accept()
        session = SignalingSession(websocket, svc, connect_timeout=connect_timeout, resumes=resumes)
        await session.run()

    return router
