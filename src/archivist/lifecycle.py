"""The close idiom every owner uses (rooms, connections, streams, peers, recorders, services).

* :class:`CloseOnce`: ``close()`` is idempotent; the first call runs the close and every later
  call waits for that one to end (one future, as aiortc's ``RTCPeerConnection.close``). A call
  made from inside the running close returns at once instead of waiting for itself.
* :class:`Failures`: a cascade closes every child even when some fail; the failures are raised
  together at the end as one ``ExceptionGroup``.
* :class:`Tasks`: the tasks an owner starts, awaited when it closes; a task's failure is logged
  with its traceback, never lost.

Parents close their children parent-first through the child's "closed by its parent" method,
which never calls back up (mediasoup's ``close()`` vs ``transportClosed()``); a child closing on
its own tells its parent through an internal method (mediasoup's ``@close``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from archivist import logs

log = logs.get(__name__)


class CloseOnce:
    """Runs a close at most once; later callers await the first one's end."""

    def __init__(self) -> None:
        self._done: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[Any] | None = None

    @property
    def started(self) -> bool:
        """True from the first call on (closing or closed)."""
        return self._done is not None

    @property
    def finished(self) -> bool:
        return self._done is not None and self._done.done()

    async def run(self, body: Callable[[], Awaitable[None]]) -> bool:
        """Run ``body`` if nobody has yet; True when this call ran it. The body's failure is
        raised to this caller only; a later caller only waits for the end."""
        if self._done is not None:
            if asyncio.current_task() is not self._runner:
                await asyncio.shield(self._done)
            return False
        self._done = asyncio.get_running_loop().create_future()
        self._runner = asyncio.current_task()
        try:
            await body()
        finally:
            self._done.set_result(None)
            self._runner = None
        return True


class Failures:
    """Collects the failures of a cascade's steps; :meth:`raise_any` raises them as one group."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.errors: list[Exception] = []

    @contextmanager
    def catch(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            self.errors.append(exc)

    def raise_any(self) -> None:
        if self.errors:
            raise ExceptionGroup(self.what, self.errors)


class Tasks:
    """The background tasks of one owner: started with :meth:`spawn`, awaited by :meth:`close`."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background task failed", owner=self.owner, task=task.get_name(), exc_info=exc)

    async def drain(self) -> None:
        """Wait until every task has ended, also those started meanwhile (not the caller itself)."""
        while pending := [t for t in self._tasks if t is not asyncio.current_task()]:
            await asyncio.wait(pending)

    async def close(self, *, cancel: bool = True) -> None:
        """End every task (cancelled first unless ``cancel`` is False) and wait for them. The
        calling task, when it is one of them, is left to finish what it is doing."""
        self.closed = True
        if cancel:
            for task in self._tasks:
                if task is not asyncio.current_task():
                    task.cancel()
        await self.drain()
