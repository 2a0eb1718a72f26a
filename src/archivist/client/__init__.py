"""Python client for Archivist sessions (aiortc): used by tests and benchmarks instead of a browser."""

from archivist.client.session import (
    ArchivistClient,
    ClientError,
    ConnectRefused,
    Publication,
    Subscription,
    signaling_url,
)
from archivist.client.synthetic import BeepTrack, FlashTrack, SyncMarks, TestPatternTrack, ToneTrack

__all__ = [
    "ArchivistClient",
    "BeepTrack",
    "ClientError",
    "ConnectRefused",
    "FlashTrack",
    "Publication",
    "Subscription",
    "SyncMarks",
    "TestPatternTrack",
    "ToneTrack",
    "signaling_url",
]
