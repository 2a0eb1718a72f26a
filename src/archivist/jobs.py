"""Background work kept in the database: poll for due jobs, lease them, run a few at a time.

Both the archive-file transfers (``storage/transfers.py``) and the status-callback deliveries
(``webhooks/delivery.py``) are rows that become due, are leased by one node (so another node
leaves them alone), and are processed with bounded concurrency. :class:`LeasedJobRunner` is that
loop: it polls every ``poll_interval`` seconds and at once when :meth:`wake` is called, never
lets a job's exception end the loop (logged), and on :meth:`close` stops polling, gives running
jobs ``grace`` seconds, cancels the rest, waits for them and releases their leases so the next
start resumes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Generic, TypeVar

from archivist import logs
from archivist.clock import now_ms

log = logs.get(__name__)

J = TypeVar("J")


class LeasedJobRunner(Generic[J]):
    name = "jobs"

    def __init__(
        self, concurrency: int, poll_interval: float, grace: float = 0.0, *, wake: asyncio.Event | None = None
    ) -> None:
        self._concurrency = concurrency
        self._poll = poll_interval
        self._grace = grace
        self._wake = wake if wake is not None else asyncio.Event()
        """Set when new work is queued (shared with whoever queues it); the loop polls at once."""
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._closing = False

    # ---- what a runner defines -----------------------------------------------------------------
    def key(self, job: J) -> str:
        raise NotImplementedError

    async def due(self, now: int, limit: int) -> list[J]:
        """Jobs whose time has come, oldest first."""
        raise NotImplementedError

    async def claim(self, job: J, now: int) -> bool:
        """Take the job's lease; False when another worker has it."""
        raise NotImplementedError

    async def process(self, job: J) -> None:
        raise NotImplementedError

    async def release(self, keys: list[str]) -> None:
        """Give up the leases of jobs cut short by a shutdown."""
        raise NotImplementedError

    def blocked(self, job: J) -> bool:
        """A due job that must wait for another one running now (ordering); default: never."""
        return False

    def finished(self, job: J) -> None:
        """Called after ``process`` (successful or not)."""

    async def housekeeping(self) -> None:
        """Periodic extra work of the loop (called on every poll)."""

    # ---- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()
            try:
                await self._dispatch()
                await self.housekeeping()
            except Exception:  # e.g. the database briefly unavailable: log, retry next poll
                log.exception("job scheduling failed", runner=self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _dispatch(self) -> None:
        free_slots = self._concurrency - len(self._inflight)
        if free_slots <= 0:
            return
        now = now_ms()
        for job in await self.due(now, limit=free_slots + len(self._inflight)):
            if len(self._inflight) >= self._concurrency:
                break
            key = self.key(job)
            if key in self._inflight or self.blocked(job) or not await self.claim(job, now):
                continue
            self._inflight[key] = asyncio.get_running_loop().create_task(self._one(job), name=f"{self.name}-{key}")

    async def _one(self, job: J) -> None:
        try:
            await self.process(job)
        except Exception:
            log.exception("job failed", runner=self.name, job=self.key(job))
        finally:
            self._inflight.pop(self.key(job), None)
            self.finished(job)
            self._wake.set()

    async def close(self) -> None:
        """Stop polling, end running jobs (after ``grace``), release their leases. Idempotent."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        held = list(self._inflight)
        tasks = list(self._inflight.values())
        if tasks and self._grace > 0:
            log.info("waiting for running jobs", runner=self.name, count=len(tasks))
            await asyncio.wait(tasks, timeout=self._grace)
        for task in tasks:
            task.cancel()  # stuck on a slow network call: abandon it, the lease release resumes it
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("job ended with an error", runner=self.name, exc_info=result)
        if held:
            try:
                await self.release(held)
            except Exception:
                log.exception("could not release job leases", runner=self.name)
