"""Following a fragmented MP4 as the recorder writes it: only what is final is handed out.

The muxer (``muxer.py``) writes ``ftyp`` and an empty ``moov`` when it opens, then one
``moof``+``mdat`` fragment at a time, and at close an ``mfra`` index; it never seeks back to
rewrite what it wrote (checked by ``tests/storage/test_live_upload.py``: the streamed bytes are
the final file's, byte for byte). :class:`FragmentTail` reads the growing file and returns the
bytes of *complete* boxes only: a box whose size runs past the end of the file, and a ``moof``
whose ``mdat`` is not complete yet, wait for the next read. So what it handed out is always a
prefix of what :func:`~archivist.recording.recovery.recover_file` keeps after a crash.

Blocking file reads: call it from a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from archivist.recording.recovery import read_box_header

MAX_READ = 16 << 20
"""At most this many bytes per :meth:`FragmentTail.read` (a fragment is never split)."""


class FragmentTail:
    def __init__(self, path: Path, max_read: int = MAX_READ) -> None:
        self.path = path
        self.offset = 0
        """Bytes handed out so far: the end of the last complete box (or fragment)."""
        self.max_read = max_read

    def read(self) -> bytes:
        """The complete boxes written since the last call (``b""`` when none is complete yet)."""
        with self.path.open("rb") as f:
            file_size = f.seek(0, 2)
            end = self.offset
            while end - self.offset < self.max_read:
                box_end = _complete_end(f, end, file_size)
                if box_end is None:
                    break
                end = box_end
            f.seek(self.offset)
            data = f.read(end - self.offset)
        self.offset += len(data)
        return data

    def read_rest(self, size: int) -> bytes:
        """The recording is closed and ``size`` bytes long: everything after what was handed
        out, whatever its boxes (the file is final)."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(max(0, size - self.offset))
        self.offset += len(data)
        return data


def _box(f: BinaryIO, pos: int, file_size: int) -> tuple[str, int] | None:
    """(type, end) of the box at ``pos`` when it is all in the file, else None. A box of size 0
    ("up to the end of the file") is never complete while the file grows."""
    header = read_box_header(f, pos, file_size, open_ended=False)
    if header is None:
        return None
    kind, head, size = header
    if size < head or pos + size > file_size:
        return None
    return kind, pos + size


def _complete_end(f: BinaryIO, pos: int, file_size: int) -> int | None:
    """Where the complete box at ``pos`` ends (a ``moof`` only with the ``mdat`` after it)."""
    box = _box(f, pos, file_size)
    if box is None:
        return None
    kind, end = box
    if kind != "moof":
        return end
    mdat = _box(f, end, file_size)
    if mdat is None or mdat[0] != "mdat":
        return None
    return mdat[1]
