"""A Connection: one client connected to a room with a token, and the owner of its media.

:meth:`Connection.publish` and :meth:`Connection.subscribe` are where every peer connection is
made (through the room's media factory); the stream or subscription that owns it closes it. The
connection watches its media: a stream is announced once its first packet arrives (dropped with
``mediaStopped`` if none comes in time), a peer that fails closes its stream or subscription
with ``networkDisconnected``, and when every peer of the connection has failed the connection
closes too. Those waits are tasks of the connection, ended when it closes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archivist import logs
from archivist.auth.tokens import ClientToken, Role
from archivist.clock import now_ms
from archivist.errors import AuthFailed, BadRequest, Conflict, NotFound
from archivist.lifecycle import CloseOnce, Failures, Tasks
from archivist.rooms.reasons import CloseReason
from archivist.rooms.stream import Stream, Subscription, new_id

if TYPE_CHECKING:
    from archivist.media.peers import CodecInfo
    from archivist.rooms.events import ClientSink
    from archivist.rooms.room import Room

log = logs.get(__name__)


def _codec_names(codecs: Mapping[str, CodecInfo]) -> str:
    return ", ".join(c.mime_type for c in codecs.values()) or "none"


@dataclass(eq=False)
class Connection:
    room: Room
    token: ClientToken
    sink: ClientSink
    id: str = field(default_factory=new_id)
    creation_time: int = field(default_factory=now_ms)
    streams: dict[str, Stream] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    close_reason: CloseReason | None = None
    _closing: CloseOnce = field(default_factory=CloseOnce, repr=False)
    _tasks: Tasks = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tasks = Tasks(f"connection {self.id}")

    @property
    def closed(self) -> bool:
        """True from the moment its close starts."""
        return self._closing.started

    @property
    def role(self) -> Role:
        return self.token.role

    @property
    def data(self) -> str:
        return self.token.connection_data or ""

    def describe(self) -> dict[str, Any]:
        return {"connectionId": self.id, "creationTime": self.creation_time, "data": self.data}

    def require_moderator(self, action: str) -> None:
        if not self.role.can_moderate:
            raise AuthFailed(f"this token's role ({self.role.value}) cannot {action}")

    def _check_open(self) -> None:
        if self.closed:
            raise NotFound("connection is closed")

    # ---- media: where peers are made ---------------------------------------------------------
    async def publish(
        self,
        offer_sdp: str,
        *,
        name: str = "",
        has_audio: bool = True,
        has_video: bool = True,
        video_type: str = "camera",
        width: int | None = None,
        height: int | None = None,
        frame_rate: int | None = None,
        layout_classes: Sequence[str] | None = None,
    ) -> tuple[Stream, str]:
        """Create a stream and its media, answer the client's offer; returns the stream and the
        answer SDP. The room hears of the stream once its media flows."""
        self._check_open()
        if not self.role.can_publish:
            raise AuthFailed("this token's role (subscriber) cannot publish")
        stream_id = new_id()
        stream = Stream(
            connection=self,
            media=self.room.media.publisher(f"publisher {stream_id}"),
            id=stream_id,
            name=name,
            has_audio=has_audio,
            has_video=has_video,
            video_type=video_type,
            width=width,
            height=height,
            frame_rate=frame_rate,
            layout_classes=list(self.token.layout_classes if layout_classes is None else layout_classes),
        )
        self.streams[stream.id] = stream
        try:
            sdp = await stream.media.answer(offer_sdp)
        except BaseException:
            await self._discard(stream.close(CloseReason.MEDIA_STOPPED), stream.media.label)
            raise
        if stream.closed:
            raise NotFound("stream closed while setting up its media")
        stream.media.on_state(lambda state: self._media_state(stream, state))
        self._tasks.spawn(self._announce_when_flowing(stream), name=f"announce {stream.id}")
        return stream, sdp

    async def subscribe(
        self, stream_id: str, offer_sdp: str, *, audio: bool = True, video: bool = True
    ) -> tuple[Subscription, str]:
        """Subscribe to a stream of the room: its media answers the client's offer; returns the
        subscription and the answer SDP."""
        self._check_open()
        if not self.role.can_subscribe:
            raise AuthFailed(f"this token's role ({self.role.value}) cannot subscribe")
        stream = self.room.find_stream(stream_id)
        if stream is None:
            raise NotFound("stream not found")
        sub_id = new_id()
        sub = Subscription(
            connection=self,
            stream=stream,
            media=self.room.media.subscriber(stream.media, f"subscriber {sub_id}"),
            subscribe_to_audio=audio,
            subscribe_to_video=video,
            id=sub_id,
        )
        self.subscriptions[sub.id] = sub
        stream.subscriptions[sub.id] = sub
        try:
            sdp = await sub.media.answer(offer_sdp, audio=audio and stream.has_audio, video=video and stream.has_video)
        except BaseException:
            # silent: the request gets the error
            await self._discard(sub.close(CloseReason.STREAM_DESTROYED), sub.media.label)
            raise
        if sub.closed:
            raise NotFound("stream closed while subscribing")
        sub.media.on_state(lambda state: self._media_state(sub, state))
        return sub, sdp

    # ---- media replaced: the client's network changed -----------------------------------------
    async def republish(self, stream_id: str, offer_sdp: str) -> tuple[Stream, str]:
        """The client sends one of its streams over a new peer connection (its address changed,
        its old one failed): the new media answers ``offer_sdp``, carries on the old one's
        timeline and codecs, and takes its place; subscribers and recordings go on with the
        same stream (a gap, not a new stream). Returns the stream and the answer SDP."""
        self._check_open()
        stream = self.streams.get(stream_id)
        if stream is None or stream.closed:
            raise NotFound("stream not found")
        if not stream.announced:
            raise Conflict("the stream has not started yet (no media came): unpublish and publish again")
        media = self.room.media.publisher(f"publisher {stream.id} (replaced)")
        media.continue_from(stream.media)
        try:
            sdp = await media.answer(offer_sdp)
            if dict(media.codecs) != dict(stream.media.codecs):
                raise BadRequest(
                    "the new offer negotiates other codecs than the stream has "
                    f"({_codec_names(media.codecs)} instead of {_codec_names(stream.media.codecs)})"
                )
            if stream.closed:
                raise NotFound("stream closed while its media was being replaced")
        except BaseException:
            await self._discard(media.close(), media.label)
            raise
        await stream.replace_media(media)
        media.on_state(lambda state: self._media_state(stream, state))
        self.room.stream_media_replaced(stream)
        log.info("stream media replaced", stream=stream.id, peer=media.label)
        return stream, sdp

    async def resubscribe(self, subscription_id: str, offer_sdp: str) -> tuple[Subscription, str]:
        """The client receives one of its subscriptions over a new peer connection: the new
        media answers ``offer_sdp`` and the old one closes. Returns it and the answer SDP."""
        self._check_open()
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub.closed:
            raise NotFound("subscription not found")
        stream = sub.stream
        source = stream.media
        media = self.room.media.subscriber(source, f"subscriber {sub.id} (replaced)")
        try:
            sdp = await media.answer(offer_sdp, audio=sub.subscribe_to_audio and stream.has_audio,
                                     video=sub.subscribe_to_video and stream.has_video)
            if sub.closed:
                raise NotFound("subscription closed while its media was being replaced")
        except BaseException:
            await self._discard(media.close(), media.label)
            raise
        if stream.media is not source:  # the stream's media was replaced meanwhile
            media.switch_source(stream.media)
        await sub.replace_media(media)
        media.on_state(lambda state: self._media_state(sub, state))
        log.info("subscription media replaced", subscription=sub.id, peer=media.label)
        return sub, sdp

    async def _discard(self, closing: Any, label: str) -> None:
        """Close what a failed setup left; the setup's own error is what the caller sees."""
        try:
            await closing
        except Exception:
            log.exception("closing a failed media setup failed", peer=label)

    async def _announce_when_flowing(self, stream: Stream) -> None:
        if not await stream.media.wait_flowing(self.room.media_timeout):
            if not stream.closed:
                log.warning("published stream sent no media; dropped", stream=stream.id)
                await stream.close(CloseReason.MEDIA_STOPPED)
            return
        if not stream.closed:
            await self.room.announce_stream(stream)
            log.info("stream announced", stream=stream.id,
                     codecs={k: v.mime_type for k, v in stream.media.codecs.items()})

    def _media_state(self, owner: Stream | Subscription, state: str) -> None:
        if state not in ("failed", "closed") or self.closed:
            return
        log.info("peer connection lost", peer=owner.media.label, state=state)
        self._tasks.spawn(self._media_lost(owner), name=f"media lost {owner.media.label}")

    async def _media_lost(self, owner: Stream | Subscription) -> None:
        try:
            await owner.close(CloseReason.NETWORK_DISCONNECTED)
        finally:
            media = [s.media for s in self.streams.values()] + [s.media for s in self.subscriptions.values()]
            if not self.closed and all(m.closed for m in media):
                log.info("every peer connection failed", connection=self.id)
                await self.close(CloseReason.NETWORK_DISCONNECTED)

    # ---- requests on its streams and subscriptions -------------------------------------------
    async def unpublish(self, stream_id: str) -> None:
        stream = self.streams.get(stream_id)
        if stream is None or stream.closed:
            raise NotFound("stream not found")
        await stream.close(CloseReason.CLIENT_DISCONNECTED)

    async def unsubscribe(self, subscription_id: str) -> None:
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            raise NotFound("subscription not found")
        await sub.close(CloseReason.UNSUBSCRIBED)

    async def change_stream(self, stream_id: str, *, has_audio: bool | None, has_video: bool | None) -> Stream:
        """``publishAudio`` / ``publishVideo`` of one of its streams: everyone hears
        ``streamPropertyChanged`` (the publisher too), the subscriptions forward what is on."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.closed:
            raise NotFound("stream not found")
        changes = stream.change(has_audio=has_audio, has_video=has_video)
        if changes:
            await self.room.stream_changed(stream, changes)
        return stream

    def change_subscription(self, subscription_id: str, *, audio: bool | None, video: bool | None) -> Subscription:
        """``subscribeToAudio`` / ``subscribeToVideo``: the server sends only what is wanted."""
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub.closed:
            raise NotFound("subscription not found")
        sub.change(audio=audio, video=video)
        if video and sub.stream.has_video:
            sub.stream.media.request_keyframe()
        return sub

    async def mute_forced(self, streams: list[Stream], *, active: bool) -> None:
        """A moderator (or the REST API) muted these streams of its, or changed the session's
        mute state: their audio stops at once (the others hear ``streamPropertyChanged``), and
        the client hears ``muteForced`` so its publishers turn their microphones off."""
        for stream in streams:
            changes = stream.change(has_audio=False)
            if changes:
                await self.room.stream_changed(stream, changes)
        await self.sink.send_event({"type": "muteForced", "active": active, "streamIds": [s.id for s in streams]})

    def request_keyframe(self, subscription_id: str) -> None:
        """The subscriber asks for a keyframe of the stream it receives."""
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            raise NotFound("subscription not found")
        sub.stream.media.request_keyframe()

    async def force_unpublish(self, stream_id: str) -> None:
        self.require_moderator("forceUnpublish")
        stream = self.room.find_stream(stream_id)
        if stream is None:
            raise NotFound("stream not found")
        await stream.close(CloseReason.FORCE_UNPUBLISHED)

    # ---- children that ended on their own ------------------------------------------------------
    async def stream_ended(self, stream: Stream, reason: CloseReason) -> None:
        if self.streams.pop(stream.id, None) is not None:
            await self.room.stream_ended(stream, reason)

    def subscription_ended(self, sub: Subscription) -> None:
        self.subscriptions.pop(sub.id, None)

    # ---- close -------------------------------------------------------------------------------
    async def close(self, reason: CloseReason) -> None:
        """The connection ends by itself (the client left or was forced out, its media failed):
        subscriptions, streams, then the room hears, then the client's transport closes.
        Idempotent; a second caller waits for the first; failures are raised together."""
        await self._closing.run(lambda: self._close(reason, tell_room=True))

    async def room_closed(self, reason: CloseReason) -> None:
        """Its room is closing it (and tells the others itself)."""
        await self._closing.run(lambda: self._close(reason, tell_room=False))

    async def _close(self, reason: CloseReason, *, tell_room: bool) -> None:
        self.close_reason = reason
        failures = Failures(f"closing connection {self.id}")
        stream_reason = reason if reason is not CloseReason.UNPUBLISHED else CloseReason.CLIENT_DISCONNECTED
        for sub in list(self.subscriptions.values()):
            with failures.catch():
                await sub.connection_closed()
        self.subscriptions.clear()
        for stream in list(self.streams.values()):
            with failures.catch():
                await stream.connection_closed(stream_reason)
            if self.streams.pop(stream.id, None) is not None:  # else it ended on its own meanwhile
                with failures.catch():
                    await self.room.stream_ended(stream, stream_reason)
        if tell_room:
            with failures.catch():
                await self.room.connection_ended(self, reason)
        with failures.catch():
            await self.sink.send_event({"type": "sessionDisconnected", "reason": reason.value})
        with failures.catch():
            await self.sink.disconnect(reason)
        with failures.catch():
            await self._tasks.close()
        failures.raise_any()
