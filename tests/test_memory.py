"""``release_free_memory``: what glibc keeps after big buffers are freed goes back to the system."""

from __future__ import annotations

import ctypes
import platform
import threading

import pytest

from archivist.memory import release_free_memory

MB = 2**20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_frames_go_back_to_the_system() -> None:
    """As on a recorder's thread: frame-sized blocks (460 KB, a 640x480 picture) allocated in
    the heap, small long-lived blocks between them (so the heap cannot shrink from its top),
    then the frames freed. glibc keeps them resident until ``malloc_trim``."""
    kept: list[ctypes.Array[ctypes.c_char]] = []

    def work() -> None:
        # freeing one 8 MB mmapped block raises glibc's mmap threshold: the frames then come
        # from the heap, as the recorder's do after its first big free
        del_me = ctypes.create_string_buffer(8 * MB)
        del del_me
        frames = []
        for _ in range(300):
            frame = ctypes.create_string_buffer(460 * 1024)
            ctypes.memset(frame, 1, len(frame))  # touched: resident
            frames.append(frame)
            kept.append(ctypes.create_string_buffer(64))
        frames.clear()

    baseline = release_free_memory().rss_after
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    done = release_free_memory()
    assert done.available
    # 138 MB of frames were resident: none of it is now, whatever glibc had kept of it
    assert done.rss_after < baseline + 30 * MB, (baseline / MB, done.rss_before / MB, done.rss_after / MB)
    assert len(kept) == 300  # what is in use stays
