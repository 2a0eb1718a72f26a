"""Recording core: compose, mix, encode and mux live streams into a crash-safe fragmented MP4.

The package is a library: it knows nothing of rooms, signaling or the REST API. An in-server
recorder decodes each subscribed stream once and feeds decoded frames to
:class:`~archivist.recording.recorder.ComposedRecorder`.
"""

from archivist.recording.finalize import RecordingResult, finalize_file
from archivist.recording.layout import RESOLUTIONS, BestFit, Layout, Rect, parse_resolution
from archivist.recording.recorder import ComposedRecorder, RecordingError, RecordingOptions
from archivist.recording.recovery import RecoveryError, RecoveryResult, recover_file

__all__ = [
    "RESOLUTIONS",
    "BestFit",
    "ComposedRecorder",
    "Layout",
    "RecordingError",
    "RecordingOptions",
    "RecordingResult",
    "RecoveryError",
    "RecoveryResult",
    "Rect",
    "finalize_file",
    "parse_resolution",
    "recover_file",
]
