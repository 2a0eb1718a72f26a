"""A composed recorder in a process of its own, so that recording never stalls the event loop.

A composed recorder decodes, composes, mixes and encodes: up to a core per busy archive. As a
thread of the server it shared the server's GIL, and its niced worker thread, preempted by the
kernel while it held the GIL, made the event loop wait for it: the loop lagged up to 0.6 s at
four archives on two cores (issue 12). :class:`RecorderProcess` has the interface of
:class:`~archivist.recording.recorder.ComposedRecorder` that the launcher and the feeds use
(``start``, ``add_stream``, ``remove_stream``, ``set_placeholder``, ``push_packet``, ``layout``,
``stop``, ``close``, the progress figures) and runs a ``ComposedRecorder`` in a child process,
``python -m archivist.recording.recorder_process``. The packets are placed on the server's clock
(``time.monotonic``, the same clock in both processes) before they are sent.

The wire: frames of a 4-byte big-endian length and a pickle, commands from the server on the
child's stdin, events from the child on a copy of its stdout (its fd 1 then points at its
stderr, so nothing a library prints can corrupt the frames). Both ends are this package.

* The child starts, imports the recording core and says ``ready``; :class:`SpareProcess` keeps
  one ready child, so an archive starts at once.
* ``start`` (file, options, layout, the archive's start instant) → ``started`` or ``failed``.
* inputs (``add``, ``remove``, ``placeholder``, ``packet``, ``layout``…), no answer; the child
  sends ``keyframe`` when a decoder waits for one and ``progress`` four times a second.
* ``stop`` → ``stopped`` with the file's result, or ``stop-failed``; ``close`` → ``closed``.
  Then the child exits.
* A failure of the recorder's worker is sent as ``error`` (the exception, whose ``errno`` tells a
  full disk) and logged by the child with its traceback, on the server's stderr.

Lifetime: the child dies with the server (``PR_SET_PDEATHSIG``: a killed server leaves the file
as a killed in-server recorder did, for start-up recovery to finish). A child that ends without
``stopped`` fails the recording, as a failed worker thread does. The server's stdin end closing
(the server gone without killing it) closes the recording, leaving a complete file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archivist import logs
from archivist.lifecycle import CloseOnce
from archivist.recording.finalize import RecordingResult
from archivist.recording.layout import ArchiveLayout, LayoutSpec
from archivist.recording.recorder import RecordingError, RecordingOptions

log = logs.get(__name__)

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 2**20
"""No frame is larger (a video packet is at most a few hundred kB)."""
MAX_PIPE_BYTES = 32 * 2**20
"""Packets queued for a child that does not read them are dropped beyond this (counted)."""
PROGRESS_PERIOD_S = 0.25
READY_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 30.0
"""How long a child may take to finish its file after ``close`` before it is killed."""
STOP_TIMEOUT_S = 120.0
"""How long a child may take to answer ``stop`` (finish and hash its file) before it is killed
and the recording counts as failed (what it wrote is salvaged)."""


def _frame(message: tuple[Any, ...]) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def _read(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"recorder process frame of {size} bytes")
    try:
        message: tuple[Any, ...] = pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None
    return message


def portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle, else an equivalent that does (an OSError keeps its errno,
    which tells a full disk)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        if isinstance(exc, OSError) and exc.errno is not None:
            return OSError(exc.errno, f"{type(exc).__name__}: {exc.strerror or exc}")
        return RecordingError(f"{type(exc).__name__}: {exc}")


# ---- the server's side ---------------------------------------------------------------------------
class _Child:
    """A started child process and its event stream (not yet given a recording)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin = proc.stdin
        self.stdout = proc.stdout

    @classmethod
    async def spawn(cls) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "archivist.recording.recorder_process", str(os.getpid()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "ARCHIVIST_RECORDER_LOG": _log_setting()},
        )
        child = cls(proc)
        try:
            ready = await asyncio.wait_for(_read(child.stdout), READY_TIMEOUT_S)
        except BaseException:
            await child.kill()
            raise
        if ready is None or ready[0] != "ready":
            code = await child.kill()
            raise RecordingError(f"the recorder process did not start (exit code {code}, said {ready!r})")
        return child

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.stdin.is_closing()

    def send(self, message: tuple[Any, ...]) -> None:
        self.write(_frame(message))

    def write(self, frame: bytes) -> None:
        if not self.stdin.is_closing():
            self.stdin.write(frame)

    def backlog(self) -> int:
        return self.stdin.transport.get_write_buffer_size()

    async def kill(self) -> int | None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        return await self.proc.wait()


def _log_setting() -> str:
    """The server's log level and format, for the child's own log lines (``LEVEL[,json]``)."""
    root = logs.level_name()
    return f"{root},json" if logs.json_enabled() else root


class SpareProcess:
    """One child process kept started and idle, so that an archive's recorder starts at once
    (the child's imports take a few hundred ms). Taken by :meth:`take`, replaced behind."""

    def __init__(self) -> None:
        self._next: asyncio.Task[_Child] | None = None
        self._closed = False

    async def take(self) -> _Child:
        task, self._next = self._next, None
        child: _Child | None = None
        if task is not None:
            try:
                child = await task
            except Exception as exc:  # its start failed: try once more, now
                log.warning("spare recorder process failed to start", error=repr(exc))
            if child is not None and not child.alive:
                await child.kill()
                child = None
        if child is None:
            child = await _Child.spawn()
        self.prepare()
        return child

    async def ready(self) -> None:
        """Wait until the spare is started (a server says it is up once it can record at once:
        a recorder started meanwhile would begin its file with the wait as a gap)."""
        task = self._next
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    def prepare(self) -> None:
        """Start the next spare (if none is starting)."""
        if self._next is None and not self._closed:
            self._next = asyncio.get_running_loop().create_task(_Child.spawn(), name="spare-recorder-process")

    async def close(self) -> None:
        self._closed = True
        task, self._next = self._next, None
        if task is None:
            return
        task.cancel()
        try:
            child = await task
        except asyncio.CancelledError:
            return
        except Exception as exc:
            log.warning("spare recorder process failed to start", error=repr(exc))
            return
        await child.kill()


class _Link:
    """The server's end of one recording's pipe, shared by the recorder and its layout (so that
    neither refers to the other: a finished recorder is freed by reference counting). From the
    archive's start until its process is there, what is sent waits here, in order."""

    def __init__(self) -> None:
        self.child: _Child | None = None
        self.open = False
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0

    def send(self, message: tuple[Any, ...], *, droppable: bool = False) -> bool:
        """False: not sent (closed, or a ``droppable`` message, a packet, beyond
        :data:`MAX_PIPE_BYTES` of backlog)."""
        if not self.open:
            return False
        child = self.child
        backlog = self._waiting_bytes if child is None else child.backlog()
        if droppable and backlog > MAX_PIPE_BYTES:
            return False
        if child is None:
            frame = _frame(message)
            self._waiting.append(frame)
            self._waiting_bytes += len(frame)
        else:
            child.send(message)
        return True

    def connect(self, child: _Child, first: tuple[Any, ...]) -> None:
        """The process is there: ``first``, then what waited, then everything else."""
        child.send(first)
        for frame in self._waiting:
            child.write(frame)
        self._waiting, self._waiting_bytes = [], 0
        self.child = child


class _ForwardedLayout(ArchiveLayout):
    """The live layout as the server sees it; every change goes on to the child."""

    def __init__(self, spec: LayoutSpec, link: _Link) -> None:
        super().__init__(spec)
        self._link = link

    def set(self, spec: LayoutSpec) -> None:
        super().set(spec)
        self._link.send(("layout", spec))

    def set_stream(
        self,
        stream_id: str,
        *,
        classes: Sequence[str] | None = None,
        video_type: str | None = None,
        owner: str | None = None,
    ) -> None:
        super().set_stream(stream_id, classes=classes, video_type=video_type, owner=owner)  # validates
        self._link.send(("layout-stream", stream_id, None if classes is None else list(classes), video_type, owner))

    def forget_stream(self, stream_id: str) -> None:
        super().forget_stream(stream_id)
        self._link.send(("layout-forget", stream_id))


class RecorderProcess:
    """A composed recorder running in a child process (see the module's docstring)."""

    def __init__(
        self,
        path: Path,
        options: RecordingOptions | None = None,
        *,
        layout: LayoutSpec | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "recorder",
        spare: SpareProcess | None = None,
    ) -> None:
        self.path = Path(path)
        self.options = options or RecordingOptions()
        if not (self.options.has_audio or self.options.has_video):
            raise ValueError("a recording needs audio, video or both")
        self.options.video_settings()  # validates early, on the caller
        self._link = _Link()
        self._layout = _ForwardedLayout(layout or LayoutSpec(), self._link)
        self._on_error = on_error
        self._name = name
        self._spare = spare
        self._child: _Child | None = None
        self._events: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._finished: asyncio.Future[tuple[RecordingResult | None, BaseException | None]] | None = None
        self._state = "new"
        self._stop_at: float | None = None
        self._error: BaseException | None = None
        self._result: RecordingResult | None = None
        self._closing = CloseOnce()
        self._pipe_dropped = {"audio": 0, "video": 0}
        self._child_dropped = {"audio": 0, "video": 0}
        self.on_keyframe_needed: Callable[[str], None] | None = None
        self.t0: float | None = None
        self.stats: dict[str, Any] = {}
        self.latency = self.options.latency_s
        self.lag_seconds = self.options.latency_s
        """As the in-process recorder's: at least its latency, before the first report too."""
        self.behind_s = 0.0
        self.degraded = False
        self.cpu_seconds = 0.0
        self.pid: int | None = None

    # -- what the launcher reads ---------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def layout(self) -> ArchiveLayout:
        return self._layout

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def dropped(self) -> dict[str, int]:
        return {kind: self._pipe_dropped[kind] + self._child_dropped[kind] for kind in ("audio", "video")}

    # -- inputs (event loop; never block) ------------------------------------------------------
    def add_stream(
        self, stream_id: str, has_audio: bool = True, has_video: bool = True, codecs: dict[str, str] | None = None
    ) -> None:
        self._send(("add", stream_id, has_audio, has_video, dict(codecs or {})))

    def remove_stream(self, stream_id: str) -> None:
        self._send(("remove", stream_id))

    def set_placeholder(self, stream_id: str, name: str | None) -> None:
        self._send(("placeholder", stream_id, name))

    def push_packet(self, stream_id: str, kind: str, packet: Any, t: float, media: int | None = None) -> bool:
        """As :meth:`ComposedRecorder.push_packet`: False when it was dropped."""
        if kind not in ("audio", "video"):
            raise ValueError(f"unknown kind {kind!r}")
        if self._state not in ("running", "stopping") or (self._stop_at is not None and t > self._stop_at):
            return False
        pts = packet.pts
        message = ("packet", stream_id, kind, bytes(packet), None if pts is None else int(pts),
                   bool(packet.is_keyframe), t, media)
        if not self._link.send(message, droppable=True):
            self._pipe_dropped[kind] += 1
            return False
        return True

    def _send(self, message: tuple[Any, ...]) -> None:
        self._link.send(message)

    # -- lifecycle -----------------------------------------------------------------------------
    def begin(self) -> None:
        """The archive starts now: this is its file's zero, and what is pushed from now on is
        kept (it waits for the process if that is still starting; :meth:`start` waits for it)."""
        if self._state != "new":
            raise RuntimeError(f"cannot start a recorder in state {self._state}")
        self._state = "running"
        self.t0 = time.monotonic()
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        self._finished = loop.create_future()
        self._link.open = True
        self._starting = loop.create_task(self._begin(), name=f"{self._name}-start")

    async def _begin(self) -> None:
        assert self._started is not None and self._finished is not None
        try:
            child = await (self._spare.take() if self._spare is not None else _Child.spawn())
            self._child, self.pid = child, child.proc.pid
            self._events = asyncio.get_running_loop().create_task(self._read_events(child),
                                                                   name=f"{self._name}-events")
            self._link.connect(child, ("start", str(self.path), self.options, self._layout.spec, self.t0,
                                       self._name))
            await asyncio.shield(self._started)
        except BaseException as exc:
            # raised by start(); not an on_error failure (the recording never began)
            self._state, self._link.open = "failed", False
            self._error = self._error or exc
            if not self._finished.done():
                self._finished.set_result((None, exc))
            raise

    async def start(self) -> None:
        """Start (:meth:`begin`, if not yet) and wait until the process records: raises what
        stopped it (its exception: an ``OSError`` when the file cannot be made)."""
        if self._state == "new":
            self.begin()
        if self._starting is None:
            raise RuntimeError(f"cannot start a recorder in state {self._state}")
        try:
            await asyncio.shield(self._starting)
        except BaseException:
            await self._end_child(kill=True)
            raise
        log.info("recording started", path=str(self.path), options=self.options.resolution, pid=self.pid)

    async def stop(self, at: float | None = None) -> RecordingResult:
        """As :meth:`ComposedRecorder.stop`: the file lasts until now or ``at``."""
        if self._result is not None:
            return self._result
        if self._state == "new":
            raise RuntimeError("recorder was never started")
        if self._state == "running":
            now = time.monotonic()
            self._stop_at = now if at is None else min(at, now)
            self._state = "stopping"
            self._send(("stop", self._stop_at))  # the instant decided here, not when it is read
        elif self._state != "stopping":  # failed: the child waits for its end of the pipe
            await self._end_child(kill=False)
        if self._state == "stopping" and self._starting is not None:
            # the process may still be starting; a start that fails ends it (and fails this stop)
            await asyncio.wait([self._starting])
        assert self._finished is not None
        await asyncio.wait([self._finished], timeout=STOP_TIMEOUT_S + self.latency)
        if not self._finished.done() and self._child is not None:
            log.error("recorder process did not finish its file: killed", path=str(self.path), pid=self.pid)
            await self._child.kill()  # its event reader then fails the recording
        result, error = await asyncio.shield(self._finished)
        await self._end_child(kill=False)
        if self._error is not None or error is not None:
            cause = self._error or error
            raise RecordingError(f"recording {self.path.name} failed: {cause!r}") from cause
        if result is None or self._state != "stopping":
            raise RuntimeError(f"cannot stop a recorder in state {self._state}")
        self._result = result
        self._state = "stopped"
        log.info("recording stopped", path=str(self.path), duration=round(result.duration, 3), size=result.size,
                 stats=self.stats, pid=self.pid)
        return result

    async def close(self) -> None:
        """A running recorder is stopped, its file left complete (idempotent)."""
        await self._closing.run(self._close)

    async def _close(self) -> None:
        if self._state in ("running", "stopping"):
            self._stop_at = time.monotonic()
            self._send(("close",))
        await self._end_child(kill=False)
        self._state = "closed"

    async def _end_child(self, *, kill: bool) -> None:
        """Wait for the child to exit (kill it if asked, or if it does not within
        :data:`EXIT_TIMEOUT_S`), then for its event reader."""
        if self._starting is not None and not kill:
            await asyncio.wait([self._starting])  # what waited for the process has reached it
            if not self._starting.cancelled():
                self._starting.exception()  # (raised by start(), if anyone awaited it)
        child = self._child
        if child is not None:
            if not kill:
                with contextlib.suppress(Exception):
                    child.stdin.close()
                try:
                    await asyncio.wait_for(asyncio.shield(child.proc.wait()), EXIT_TIMEOUT_S)
                except TimeoutError:
                    log.error("recorder process did not exit: killed", path=str(self.path), pid=child.proc.pid)
            await child.kill()
        self._link.open = False
        if self._events is not None:
            await self._events
            self._events = None

    # -- events from the child -----------------------------------------------------------------
    async def _read_events(self, child: _Child) -> None:
        ended: BaseException | None = None
        try:
            while (message := await _read(child.stdout)) is not None:
                self._on_event(message)
        except Exception as exc:  # a corrupt frame: the child is of no further use
            log.error("recorder process stream unreadable", path=str(self.path), exc_info=exc)
            ended = exc
            await child.kill()
        code = await child.proc.wait()
        if self._started is not None and not self._started.done():
            self._started.set_exception(RecordingError(f"the recorder process ended (exit code {code})"))
        if self._finished is not None and not self._finished.done():
            if self._state == "stopping" or (self._state == "running" and not self._closing.started):
                # it ended without finishing its file: the recording failed
                self._failed(ended or RecordingError(f"the recorder process ended without finishing its file "
                                                     f"(exit code {code})"))
            self._finished.set_result((None, self._error))

    def _on_event(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "progress":
            figures: dict[str, Any] = message[1]
            self.lag_seconds = figures["lag_seconds"]
            self.behind_s = figures["behind_s"]
            self.degraded = figures["degraded"]
            self.cpu_seconds = figures["cpu_seconds"]
            self.latency = figures["latency"]
            self._child_dropped = figures["dropped"]
        elif kind == "keyframe":
            if self.on_keyframe_needed is not None:
                self.on_keyframe_needed(message[1])
        elif kind == "started":
            assert self._started is not None
            if not self._started.done():
                self._started.set_result(None)
        elif kind == "failed":  # the start failed
            assert self._started is not None
            self._state = "failed"
            if not self._started.done():
                self._started.set_exception(message[1])
        elif kind == "error":
            self._failed(message[1])
        elif kind in ("stopped", "stop-failed", "closed"):
            result = message[1] if kind == "stopped" else None
            error = message[1] if kind == "stop-failed" else None
            if kind != "closed":
                self.stats = message[2]
                self.cpu_seconds = message[3]
            self.lag_seconds = 0.0
            assert self._finished is not None
            if not self._finished.done():
                self._finished.set_result((result, error))
        else:
            log.warning("recorder process said something unknown", kind=kind)

    def _failed(self, exc: BaseException) -> None:
        if self._error is not None:
            return
        self._error = exc
        if self._state in ("running", "stopping"):
            self._state = "failed"
        log.error("recording failed", path=str(self.path), error=repr(exc), pid=self.pid)
        if self._on_error is not None:
            self._on_error(exc)


# ---- the child's side ----------------------------------------------------------------------------
def _die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when the server goes (Linux; elsewhere the stdin EOF closes it)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # the server went before prctl took
        os._exit(1)


class _Events:
    """The child's event stream (blocking writes: the server reads it all the time)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, message: tuple[Any, ...]) -> None:
        data = memoryview(_frame(message))
        while data:
            data = data[os.write(self._fd, data):]


async def _serve(commands_fd: int, events: _Events) -> None:
    import av

    from archivist.recording.recorder import ComposedRecorder

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_FRAME)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(commands_fd, "rb", 0))
    events.send(("ready", os.getpid()))
    first = await _read(reader)
    if first is None:
        return
    _, path, options, spec, t0, name = first

    def failed(exc: BaseException) -> None:
        events.send(("error", portable(exc)))

    recorder = ComposedRecorder(Path(path), options, layout=ArchiveLayout(spec), on_error=failed, name=name)
    recorder.on_keyframe_needed = lambda sid: events.send(("keyframe", sid))
    try:
        await recorder.start(t0)
    except BaseException as exc:
        events.send(("failed", portable(exc)))
        return
    events.send(("started",))

    async def progress() -> None:
        while True:
            events.send(("progress", {
                "lag_seconds": recorder.lag_seconds, "behind_s": recorder.behind_s, "degraded": recorder.degraded,
                "cpu_seconds": recorder.cpu_seconds, "latency": recorder.latency, "dropped": recorder.dropped,
            }))
            await asyncio.sleep(PROGRESS_PERIOD_S)

    reporter = loop.create_task(progress())
    stopping: asyncio.Task[None] | None = None

    async def finish(at: float | None) -> None:
        """Stop, while the commands go on being read: the media captured before the stop instant
        is still coming down the pipe for up to the recorder's latency."""
        try:
            result = await recorder.stop(at)
        except RecordingError as exc:
            events.send(("stop-failed", portable(exc.__cause__ or exc), recorder.stats, recorder.cpu_seconds))
        else:
            events.send(("stopped", result, recorder.stats, recorder.cpu_seconds))
        reading.cancel()

    async def commands() -> None:
        nonlocal stopping
        while (message := await _read(reader)) is not None:
            kind = message[0]
            if kind == "packet":
                _, sid, media_kind, data, pts, keyframe, t, media = message
                packet = av.Packet(data)
                packet.pts = pts
                packet.is_keyframe = keyframe
                recorder.push_packet(sid, media_kind, packet, t, media)
            elif kind == "add":
                recorder.add_stream(message[1], message[2], message[3], codecs=message[4])
            elif kind == "remove":
                recorder.remove_stream(message[1])
            elif kind == "placeholder":
                recorder.set_placeholder(message[1], message[2])
            elif kind == "layout":
                recorder.layout.set(message[1])
            elif kind == "layout-stream":
                recorder.layout.set_stream(message[1], classes=message[2], video_type=message[3], owner=message[4])
            elif kind == "layout-forget":
                recorder.layout.forget_stream(message[1])
            elif kind == "stop":
                if stopping is None:
                    stopping = loop.create_task(finish(message[1]))
            elif kind == "close":
                return
            else:
                raise ValueError(f"unknown recorder command {kind!r}")

    reading = loop.create_task(commands())
    try:
        with contextlib.suppress(asyncio.CancelledError):  # cancelled by finish(): the file is done
            await reading
        if stopping is not None:
            await stopping
        else:  # "close", or the server's end of the pipe closed: leave a complete file
            await recorder.close()
            events.send(("closed",))
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await recorder.close()


def main() -> None:
    parent = int(sys.argv[1]) if len(sys.argv) > 1 else None
    _die_with_parent(parent)
    # the events go out on a copy of stdout; fd 1 (anything printed) goes to stderr instead
    events_fd = os.dup(1)
    os.dup2(2, 1)
    level, _, fmt = os.environ.get("ARCHIVIST_RECORDER_LOG", "INFO").partition(",")
    logs.configure(level, json_logs=fmt == "json")
    # a Ctrl-C in the server's terminal, or a service manager's SIGTERM to the whole group: the
    # server closes its recorders (their files complete); a server that dies takes us along
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(_serve(0, _Events(events_fd)))


if __name__ == "__main__":
    main()
