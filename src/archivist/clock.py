"""Wall-clock time as the rows store it (milliseconds since the epoch), and the injectable clock.

:func:`now_ms` is the one definition every module uses for timestamps. Components that wait on
the wall clock (the archive service's maximum-duration timers) take a :class:`Clock`, so a test
can give them one whose time it moves itself instead of sleeping. (The recording's output clock
is another thing: ``recording/clock.py``.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the epoch."""

    async def sleep_until(self, when_ms: int) -> None:
        """Return once ``now_ms() >= when_ms`` (at once if it already is)."""


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return now_ms()

    async def sleep_until(self, when_ms: int) -> None:
        await asyncio.sleep(max(0.0, (when_ms - now_ms()) / 1000))
