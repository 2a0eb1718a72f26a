"""aiortc glue: peer connections, packet pass-through forwarding, keyframe requests.

Peers are made by :class:`~archivist.media.factory.PeerFactory` (the rooms are given one) and
closed by the stream or subscription that owns them. Imports nothing of Archivist above it
(only the leaf helpers ``logs`` and ``lifecycle``). Every aiortc-internals seam lives in ``seams``.
"""

from archivist.media.factory import PeerFactory
from archivist.media.peers import (
    CodecInfo,
    MediaError,
    PacketSink,
    PacketSource,
    PacketTrack,
    PublisherPeer,
    SenderReport,
    SubscriberPeer,
)

__all__ = [
    "CodecInfo",
    "MediaError",
    "PacketSink",
    "PacketSource",
    "PacketTrack",
    "PeerFactory",
    "PublisherPeer",
    "SenderReport",
    "SubscriberPeer",
]
