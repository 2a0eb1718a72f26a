"""What the rooms need of media: the handles a stream and a subscription own, and the factory
that makes them.

The room tree is given a :class:`MediaFactory` (``app.py`` gives it ``media.PeerFactory``; the
room tests give it a small in-process one). ``Connection.publish`` / ``Connection.subscribe``
make every handle through it and the owning ``Stream`` / ``Subscription`` closes it: nothing
else creates or closes media.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from archivist.media.peers import CodecInfo, PacketSink
from archivist.media.timing import TrackTiming

StateCallback = Callable[[str], None]
"""``callback("connected" | "failed" | "closed")``; failed/closed only when not closed by us."""


class MediaHandle(Protocol):
    """One peer connection of a stream or a subscription."""

    @property
    def label(self) -> str: ...

    @property
    def closed(self) -> bool:
        """True from the moment ``close()`` is called."""

    def on_state(self, callback: StateCallback) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    async def close(self) -> None:
        """Idempotent; a second caller waits for the first."""


class PublisherMedia(MediaHandle, Protocol):
    """The server's end of a published stream: receives the client's encoded packets."""

    @property
    def codecs(self) -> Mapping[str, CodecInfo]:
        """Kind ("audio"/"video") -> the codec negotiated by :meth:`answer`."""

    @property
    def timing(self) -> Mapping[str, TrackTiming]:
        """Kind -> what the track's packets and sender reports say of its clock (lip sync)."""

    @property
    def last_packet(self) -> Mapping[str, tuple[int, float]]:
        """Kind -> (pts, monotonic instant) of the latest packet."""

    def continue_from(self, previous: PublisherMedia) -> None:
        """Replace ``previous`` under the same stream: packets go on from its timeline (call
        before :meth:`answer`)."""

    async def answer(self, offer_sdp: str) -> str:
        """Answer the client's sendonly offer; returns the answer SDP."""

    async def wait_flowing(self, timeout: float) -> bool:
        """True once the first packet arrived, False after ``timeout`` seconds without one."""

    def request_keyframe(self) -> None:
        """Ask the client for a keyframe (rate-limited)."""

    def add_packet_sink(self, kind: str, sink: PacketSink) -> Callable[[], None]:
        """Get every encoded packet of ``kind`` from now on; returns the sink's remover."""


class SubscriberMedia(MediaHandle, Protocol):
    """The server's end of a subscription: forwards a publisher's packets to one client."""

    async def answer(self, offer_sdp: str, *, audio: bool = True, video: bool = True) -> str:
        """Answer the client's recvonly offer; returns the answer SDP. Every kind of the
        publisher's the client offers to receive is set up; ``audio``/``video`` say which are
        forwarded from the start (:meth:`set_forwarding`)."""

    def set_forwarding(self, *, audio: bool, video: bool) -> None:
        """Forward that kind's packets or not (video resumes at a keyframe, asked for)."""

    def switch_source(self, publisher: PublisherMedia) -> None:
        """The stream's media was replaced: forward ``publisher``'s packets from now on."""


class MediaFactory(Protocol):
    def publisher(self, label: str) -> PublisherMedia: ...

    def subscriber(self, publisher: PublisherMedia, label: str) -> SubscriberMedia: ...
