"""A client's connection outlives a dropped WebSocket for a grace period (docs/protocol.md).

The room tree sees one :class:`ClientChannel` per connection as its ``ClientSink``, whatever
WebSocket carries it now. When the WebSocket drops without a goodbye (no ``disconnect``, close
code not 1000/1001), the channel is *suspended*: the connection, its streams, subscriptions and
peer connections (and so any archive recording them) go on, events for the client are kept in
order, and the channel waits in :class:`Resumes` under its resume token. A ``connect`` carrying
that token within ``grace`` seconds reattaches it to the new WebSocket. Every event carries a
``seq`` (0, 1, 2 … per connection) and the channel keeps the last ``MAX_KEPT`` it sent: the
resuming client says the last one it got (``lastSeq``) and gets every later one again, those
written into the dying WebSocket before the server noticed the drop included. When the grace
period ends the connection closes with ``networkDisconnected`` (everyone hears as before); a
resume whose missed events are no longer all kept is refused (close 4010).

A resume may also come before the server has noticed that the old WebSocket is dead (a client
whose address changed gives up on its quiet WebSocket after its heartbeat, 5 s, sooner than
the server's pings, 5 + 10 s): the resume token is the credential, so the new WebSocket takes
over and the old one is closed (4011); the old one's end then changes nothing.

The resume token (192 random bits) is the credential of a resume: it is handed out in the
``connected`` reply, replaced at every resume, and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from typing import TYPE_CHECKING, Any

from archivist import logs
from archivist.rooms.reasons import CloseReason

if TYPE_CHECKING:
    from archivist.rooms.connection import Connection
    from archivist.signaling.endpoint import WebSocketSink

log = logs.get(__name__)

CLOSE_TAKEN_OVER = 4011
"""Close code of a WebSocket whose connection a resume moved to another WebSocket."""
MAX_KEPT = 512
"""Events a connection keeps after sending them, for a resume to send again."""


class Resumes:
    """The suspended channels, by resume token (one per signaling router)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._by_token: dict[str, ClientChannel] = {}

    def take(self, token: str) -> ClientChannel | None:
        """The channel of a resume token, suspended or still attached (each token works once)."""
        return self._by_token.pop(token, None)

    def _add(self, channel: ClientChannel) -> None:
        self._by_token[channel.token] = channel

    def _forget(self, channel: ClientChannel) -> None:
        if self._by_token.get(channel.token) is channel:
            del self._by_token[channel.token]

    def __len__(self) -> int:
        return len(self._by_token)


class ClientChannel:
    """``ClientSink`` of one connection across WebSockets."""

    def __init__(self, sink: WebSocketSink, resumes: Resumes) -> None:
        self.sink: WebSocketSink | None = sink
        self.resumes = resumes
        self.token = secrets.token_urlsafe(24)
        self.conn: Connection | None = None
        self._sent: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT)
        self._seq = 0
        self._ended = False
        self._expiry: asyncio.Task[None] | None = None
        if resumes.grace > 0:
            resumes._add(self)

    @property
    def suspended(self) -> bool:
        return self.sink is None and not self._ended

    # ---- ClientSink --------------------------------------------------------------------------
    async def send_event(self, event: dict[str, Any]) -> None:
        if self._ended:
            return
        numbered = {**event, "seq": self._seq}
        self._seq += 1
        self._sent.append(numbered)
        if self.sink is not None:
            await self.sink.send_event(numbered)

    async def disconnect(self, reason: CloseReason) -> None:
        """The connection ended (for any reason): nothing to resume any more."""
        self._ended = True
        self._sent.clear()
        self.resumes._forget(self)
        await self._stop_expiry()
        if self.sink is not None:
            await self.sink.disconnect(reason)

    # ---- the signaling endpoint's ------------------------------------------------------------
    def carried_by(self, sink: WebSocketSink) -> bool:
        """Whether ``sink`` is its WebSocket now (not one a resume has taken over from)."""
        return self.sink is sink

    def suspend(self) -> None:
        """Its WebSocket dropped: keep the connection for ``grace`` seconds."""
        if self._ended or self.conn is None:
            return
        self.sink = None  # it stays in ``resumes`` under its token (registered since it was made)
        self._expiry = asyncio.get_running_loop().create_task(
            self._expire(self.resumes.grace), name=f"resume window {self.conn.id}"
        )

    async def resume(self, sink: WebSocketSink, last_seq: int | None) -> bool:
        """Reattach to a new WebSocket (its sink holds events until released): every event
        after ``last_seq`` (the last one the client got; None: none) goes to it first. False
        if the connection cannot be resumed: it is closing, or those events are not all kept."""
        conn = self.conn
        if self._ended or conn is None or conn.closed:
            return False
        first = last_seq + 1 if last_seq is not None else 0
        if first > self._seq or (first < self._seq and (not self._sent or self._sent[0]["seq"] > first)):
            log.info("resume refused: missed events no longer kept", connection=conn.id, last_seq=last_seq)
            return False
        await self._stop_expiry()
        if self.sink is not None:  # the old WebSocket is still open here: the client gave up on it
            log.info("resumed before the old WebSocket ended; it is closed", connection=conn.id)
            self.sink.close(CLOSE_TAKEN_OVER, "resumed on another WebSocket")
        self.resumes._forget(self)
        self.token = secrets.token_urlsafe(24)
        self.resumes._add(self)
        self.sink = sink
        for event in [e for e in self._sent if e["seq"] >= first]:
            await sink.send_event(event)
        return True

    async def _expire(self, after: float) -> None:
        await asyncio.sleep(after)
        self.resumes._forget(self)
        conn = self.conn
        if conn is None or conn.closed or not self.suspended:
            return
        log.info("client did not come back; connection closed", connection=conn.id)
        try:
            await conn.close(CloseReason.NETWORK_DISCONNECTED)
        except Exception:
            log.exception("closing a connection that did not come back failed", connection=conn.id)

    async def _stop_expiry(self) -> None:
        task, self._expiry = self._expiry, None
        if task is None or task is asyncio.current_task() or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
