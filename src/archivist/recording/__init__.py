"""Recording: compose, mix, encode and mux live streams into a crash-safe fragmented MP4, or
write each stream's encoded packets to its own file (individual output).

Two layers. The core is a library that knows nothing of rooms, signaling or the REST API:
:class:`~archivist.recording.recorder.ComposedRecorder` takes each stream's packets (decoded
once on its worker thread, laid out by an :class:`~archivist.recording.layout.ArchiveLayout`)
and :class:`~archivist.recording.individual.IndividualRecorder` writes them undecoded. The
launcher (``launcher``) is the seam to the rest of the server: the archives'
``RecorderLauncher`` and a room observer, it owns one recorder per archive (it creates and
closes them) and feeds it each stream of the session through a ``feed`` (the stream's media
handle, ``rooms/media.py``).
"""

from archivist.recording.finalize import RecordingResult, finalize_file
from archivist.recording.individual import IndividualOptions, IndividualRecorder, PacketRecorder
from archivist.recording.individual_recovery import recover_individual
from archivist.recording.layout import (
    RESOLUTIONS,
    ArchiveLayout,
    BestFit,
    Layout,
    LayoutError,
    LayoutSpec,
    Rect,
    parse_resolution,
)
from archivist.recording.package import ArchiveInfo, IndividualResult
from archivist.recording.recorder import ComposedRecorder, RecordingError, RecordingOptions
from archivist.recording.recovery import RecoveryError, RecoveryResult, recover_file

__all__ = [
    "RESOLUTIONS",
    "ArchiveInfo",
    "ArchiveLayout",
    "BestFit",
    "ComposedRecorder",
    "IndividualOptions",
    "IndividualRecorder",
    "IndividualResult",
    "Layout",
    "LayoutError",
    "LayoutSpec",
    "PacketRecorder",
    "RecordingError",
    "RecordingOptions",
    "RecordingResult",
    "RecoveryError",
    "RecoveryResult",
    "Rect",
    "finalize_file",
    "parse_resolution",
    "recover_file",
    "recover_individual",
]
