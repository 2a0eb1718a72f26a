"""Event-loop lag: how late the loop runs a callback that was due, measured continuously.

Everything on the loop (signaling, packet forwarding, REST) waits for the slowest callback; codec
work belongs on worker threads (see ``recording``). :class:`LoopMonitor` sleeps ``interval``
seconds again and again and records how much later than asked it woke up, so ``/health``,
``/metrics`` (a cumulative histogram of every sample) and the benchmarks can show the lag while
archives record.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections import deque
from typing import Any

INTERVAL_S = 0.05
WINDOW = 1200  # samples kept: one minute at the default interval
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds (seconds) of the lag histogram's buckets; one more counts everything."""


class LoopMonitor:
    def __init__(self, interval: float = INTERVAL_S, window: int = WINDOW) -> None:
        self.interval = interval
        self._lags: deque[float] = deque(maxlen=window)
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None
        self.bucket_counts = [0] * (len(BUCKETS) + 1)
        """Samples per bucket of :data:`BUCKETS` (not cumulative; the last: above them all)."""
        self.lag_sum = 0.0
        self.samples = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-monitor")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - due)
            self.record(lag)

    def record(self, lag: float) -> None:
        self._lags.append(lag)
        self.max_lag = max(self.max_lag, lag)
        self.bucket_counts[bisect.bisect_left(BUCKETS, lag)] += 1
        self.lag_sum += lag
        self.samples += 1

    def recent_max(self) -> float:
        """The largest lag of the last minute, in seconds."""
        return max(self._lags, default=0.0)

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
