"""Event-loop lag: how late the loop runs a callback that was due, measured continuously.

Everything on the loop (signaling, packet forwarding, REST) waits for the slowest callback; codec
work belongs on worker threads (see ``recording``). :class:`LoopMonitor` sleeps ``interval``
seconds again and again and records how much later than asked it woke up, so ``/health`` and the
benchmarks can show the lag while archives record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

INTERVAL_S = 0.05
WINDOW = 1200  # samples kept: one minute at the default interval


class LoopMonitor:
    def __init__(self, interval: float = INTERVAL_S, window: int = WINDOW) -> None:
        self.interval = interval
        self._lags: deque[float] = deque(maxlen=window)
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-monitor")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - due)
            self._lags.append(lag)
            self.max_lag = max(self.max_lag, lag)

    def reset(self) -> None:
        self._lags.clear()
        self.max_lag = 0.0

    def stats(self) -> dict[str, Any]:
        """Lag in milliseconds over the last minute (p50, p99, max) and the maximum since start
        or the last :meth:`reset`."""
        lags = sorted(self._lags)
        if not lags:
            return {"samples": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "maxEver": round(self.max_lag * 1000, 1)}

        def pct(p: float) -> float:
            return round(lags[min(len(lags) - 1, int(p * len(lags)))] * 1000, 1)

        return {"samples": len(lags), "p50": pct(0.5), "p99": pct(0.99), "max": round(lags[-1] * 1000, 1),
                "maxEver": round(self.max_lag * 1000, 1)}

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
