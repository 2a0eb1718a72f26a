"""``release_free_memory``: what glibc keeps after big buffers are freed goes back to the system."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

MB = 2**20


CHILD = r"""
import ctypes, json, threading
from archivist.memory import release_free_memory
MB = 2**20
kept = []

def work():
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
print(json.dumps({"available": done.available, "baseline": baseline, "before": done.rss_before,
                  "after": done.rss_after, "kept": len(kept)}))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_frames_go_back_to_the_system() -> None:
    """As on a recorder's thread: frame-sized blocks (460 KB, a 640x480 picture) allocated in
    the heap, small long-lived blocks between them (so the heap cannot shrink from its top),
    then the frames freed. glibc keeps them resident until ``malloc_trim``. Measured in a
    process of its own: in the test run's (600+ MB, many arenas) what glibc hands back or
    reuses depends on every test before."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["available"]
    # 138 MB of frames were resident: none of it is now, whatever glibc had kept of it
    sizes = {k: got[k] / MB for k in ("baseline", "before", "after")}
    assert got["after"] < got["baseline"] + 30 * MB, sizes
    assert got["kept"] == 300  # what is in use stays
