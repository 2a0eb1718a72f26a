"""Recording core: compose, mix, encode and mux live streams into a crash-safe fragmented MP4,
or write each stream's encoded packets to its own file (individual output).

The package is a library: it knows nothing of rooms, signaling or the REST API. An in-server
recorder feeds each subscribed stream's packets to
:class:`~archivist.recording.recorder.ComposedRecorder` (decoded once, laid out by an
:class:`~archivist.recording.layout.ArchiveLayout`) or to
:class:`~archivist.recording.individual.IndividualRecorder` (not decoded).
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
