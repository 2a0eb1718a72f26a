"""Giving freed memory back to the system after a recording (glibc's ``malloc_trim``).

A recorder's buffers are large and short-lived: decoded frames waiting for their tick (up to
``MAX_PENDING_BYTES`` per stream), the decoders' frame pools, the encoder's pictures. They are
allocated by libav and numpy through ``malloc`` on the recorder's threads, and glibc keeps what
they free: its heaps only shrink from the top, and its mmap threshold rises as soon as one big
block is freed, so later frames come from the heaps too. Measured in issue 12's soak (one
session, archives back to back): the memory in use stayed at 60-90 MB while the free memory
glibc held grew by 20-50 MB at every archive (``mallinfo2``: 6 -> 120 MB over six archives), and
one ``malloc_trim(0)`` at the end gave 140 MB back. ``MALLOC_ARENA_MAX=2`` did not change it.

:func:`release_free_memory` runs ``malloc_trim(0)``: every arena's free pages go back to the
system (``madvise``), what is in use stays. The launcher calls it off the event loop once a
recorder has finished. Elsewhere than glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import logs

log = logs.get(__name__)

_lock = threading.Lock()
_libc: Any = None
_loaded = False


def _glibc() -> Any:
    """glibc's handle when it has ``malloc_trim``, else None (looked up once)."""
    global _libc, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            name = ctypes.util.find_library("c")
            try:
                libc = ctypes.CDLL(name) if name else None
            except OSError:
                libc = None
            if libc is not None and hasattr(libc, "malloc_trim"):
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                libc.malloc_trim.restype = ctypes.c_int
                _libc = libc
        return _libc


def rss_bytes() -> int:
    """This process's resident set size (0 where ``/proc`` is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Released:
    available: bool
    """``malloc_trim`` exists here (glibc)."""
    rss_before: int
    rss_after: int

    @property
    def released(self) -> int:
        return max(0, self.rss_before - self.rss_after)


def release_free_memory() -> Released:
    """Give the memory freed so far back to the system. Blocking (it walks every arena, a few
    ms): call it on a worker thread."""
    libc = _glibc()
    before = rss_bytes()
    if libc is None:
        return Released(False, before, before)
    libc.malloc_trim(0)
    return Released(True, before, rss_bytes())
