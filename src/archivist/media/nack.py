"""Repeated retransmission requests for a publisher's video.

aiortc's receiver sends one NACK when it notices a gap in the sequence numbers (and repeats the
whole missing set only when a later gap appears), while its video jitter buffer holds every
frame behind a missing packet until 512 more packets have come. On a lossy uplink a lost
retransmission (10 % loss: one in ten) froze the picture until the next unrelated loss, or for
seconds. :class:`NackRepeater` asks again every :data:`INTERVAL` for each packet still missing,
for at most :data:`PATIENCE` (a sender keeps about a second of history; after that a keyframe is
the way out, and the receiver asks for one itself when its buffer overflows).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiortc import RTCRtpReceiver

from archivist import logs
from archivist.media import seams

log = logs.get(__name__)

INTERVAL = 0.06
"""Seconds between two requests for the same packet: above a continental round trip, so a
retransmission on its way is rarely asked for twice."""
PATIENCE = 1.0
"""Seconds a packet is asked for before it is given up."""


class NackRepeater:
    """Repeats the NACKs of one video receiver until the packets arrive or :data:`PATIENCE` ends."""

    def __init__(self, receiver: RTCRtpReceiver, *, interval: float = INTERVAL, patience: float = PATIENCE) -> None:
        self._receiver = receiver
        self._interval = interval
        self._patience = patience
        self._first_missed: dict[int, float] = {}
        self.repeated = 0
        """Packets asked for again (one per packet per request)."""
        self.recovered = 0
        """Packets that arrived after being asked for again."""
        self._asked_again: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="nack-repeater")

    def tick(self, now: float) -> list[int]:
        """The packets to ask for again now (and forget those that came or were given up)."""
        missing = seams.missing_packets(self._receiver)
        for seq in list(self._first_missed):
            if seq not in missing:
                del self._first_missed[seq]
                if seq in self._asked_again:
                    self._asked_again.discard(seq)
                    self.recovered += 1
        due = []
        for seq in missing:
            first = self._first_missed.setdefault(seq, now)
            age = now - first
            if self._interval <= age < self._patience:  # aiortc itself asked at the first sight
                due.append(seq)
            elif age >= self._patience:
                self._asked_again.discard(seq)
        return sorted(due)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            due = self.tick(time.monotonic())
            if not due:
                continue
            try:
                if await seams.send_nack(self._receiver, due):
                    self.repeated += len(due)
                    self._asked_again.update(due)
            except ConnectionError:  # the transport is closing
                return

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
