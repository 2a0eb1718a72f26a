"""``FragmentTail`` on a real recorder's file: cut at every kind of place a growing file can be
cut, it hands out complete boxes only (a ``moof`` only with its whole ``mdat``), never more than
recovery keeps, and all of them add up to the file."""

from __future__ import annotations

import struct
from pathlib import Path

from archivist.recording.fragments import FragmentTail
from archivist.recording.recovery import inspect_file
from tests.storage.harness import write_mp4


def _boxes(data: bytes) -> list[tuple[str, int, int]]:
    out, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        out.append((kind.decode(), pos, pos + size))
        pos += size
    return out


def test_only_complete_fragments_are_handed_out(tmp_path: Path) -> None:
    source = tmp_path / "whole.mp4"
    write_mp4(source, seconds=3.0)
    whole = source.read_bytes()
    boxes = _boxes(whole)
    kinds = [k for k, _, _ in boxes]
    assert kinds[:2] == ["ftyp", "moov"] and "moof" in kinds and kinds[-1] == "mfra"
    moof = next((s, e) for k, s, e in boxes if k == "moof")

    growing = tmp_path / "growing.mp4"
    growing.write_bytes(b"")
    tail = FragmentTail(growing)
    handed = bytearray()
    # the file grows in uneven steps that cut box headers, a moof, the mdat after it
    ends = {e for k, _, e in boxes if k != "moof"} | {0}  # where a hand-out may stop
    cuts = sorted({3, 20, moof[0] + 4, moof[1] - 1, moof[1], moof[1] + 6, moof[1] + 100,
                   *range(0, len(whole), 1777), len(whole)})
    for cut in cuts:
        growing.write_bytes(whole[:cut])
        handed += tail.read()
        assert whole.startswith(handed)
        assert len(handed) <= inspect_file(growing).size  # never beyond what recovery keeps
        assert len(handed) in ends  # on a box boundary, never right after a moof
    assert bytes(handed) == whole  # the complete file's last box (mfra) is complete too
    assert tail.read() == b"" and tail.read_rest(len(whole)) == b""


def test_read_rest_takes_whatever_the_closed_file_holds(tmp_path: Path) -> None:
    source = tmp_path / "whole.mp4"
    write_mp4(source, seconds=1.0)
    whole = source.read_bytes()
    growing = tmp_path / "growing.mp4"
    growing.write_bytes(whole[: len(whole) - 10])  # the last box is not complete yet
    tail = FragmentTail(growing)
    first = tail.read()
    assert len(first) < len(whole) - 10
    growing.write_bytes(whole)
    assert first + tail.read_rest(len(whole)) == whole
