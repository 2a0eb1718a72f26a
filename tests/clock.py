"""A clock the test moves itself: an ``archivist.clock.Clock`` whose sleepers wake when
:meth:`ManualClock.advance` passes their time (no real sleeping)."""

from __future__ import annotations

import asyncio


class ManualClock:
    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self._now = start_ms
        self._moved = asyncio.Event()
        self.sleepers = 0

    def now_ms(self) -> int:
        return self._now

    async def sleep_until(self, when_ms: int) -> None:
        self.sleepers += 1
        try:
            while self._now < when_ms:
                moved = self._moved
                await moved.wait()
        finally:
            self.sleepers -= 1

    def advance(self, seconds: float) -> None:
        self._now += int(seconds * 1000)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
