"""Benchmark (issue 11): stop -> uploaded, uploading while recording vs uploading at stop.

    .venv/bin/python -m bench.upload [--minutes 10 1] [--speed 8]

For each length and each store (moto's S3 server: multipart upload; Azurite: block blob), a
composed archive is recorded by the real recording pipeline (compositor, mixer, x264, the
fragmented MP4 muxer) into the real app (archive service, file storage, upload worker, SQLite),
with a project storing in that store, and stopped; we time stop -> ``uploaded``:

* **while recording** (``ARCHIVIST_UPLOAD_WHILE_RECORDING``, the default): the live upload
  followed the file as it grew; at stop the recorder flushes, the rest (< one part) goes up,
  the upload completes, the worker confirms it;
* **at stop** (the setting off, as before): the same file, placed as a new archive of an app with
  the setting off; its time is the same recorder stop (flush + hash, measured in the first run)
  plus the whole-file upload.

Pacing: recording 10 minutes in real time would take 10 minutes per run, so the pipeline is
driven on a synthetic clock at up to ``--speed`` times real time (its own output clock: every
video tick and AAC block is rendered, nothing skipped; the picture is a cycling noise pattern,
so x264 spends the archive's whole bitrate cap, ~0.8 Mbit/s at 640x480 with audio, as a busy
camera would). The file grows ``speed`` times faster than in a real recording, which only makes
the live upload's job harder: the bytes left to send at stop are at most one part either way.
Stores run on this machine (no WAN): the at-stop column is then a lower bound of what a real
store costs, the while-recording column is dominated by the last part and the round trips.
Prints a table and writes bench/results/upload.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from archivist.app import Services
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus, Reason
from archivist.recording.encoder import AudioSettings, VideoSettings
from archivist.recording.finalize import finalize_file
from archivist.recording.layout import BestFit
from archivist.recording.pipeline import RecordingPipeline
from archivist.storage.live import recording_key
from archivist.store.archives import ArchiveRepository
from archivist.store.projects import Project
from archivist.store.storage_targets import AZURE, S3, StorageTarget, StorageTargetRepository
from bench.common import publish_result, table
from tests.storage.harness import Azurite, MotoServer, fast_settings, running_app, start_azurite, start_moto

FPS = 30


def _archive(project: Project) -> Archive:
    now = int(time.time() * 1000)
    return Archive(
        id=str(uuid.uuid4()), project_key=project.api_key, session_id=f"1_bench-{uuid.uuid4().hex}", name="bench",
        status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now, duration=0, size=0,
        has_audio=True, has_video=True, output_mode="composed", stream_mode="auto", resolution="640x480",
        layout={"type": "bestFit"}, max_bitrate=None, quantization_parameter=None, multi_archive_tag=None,
        storage_key=None, sha256=None, seq=time.time_ns() // 1000,
    )


def _noise_frames(count: int = 30) -> list[Any]:
    rng = np.random.default_rng(11)
    return [av.VideoFrame.from_ndarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), format="rgb24")
            .reformat(format="yuv420p") for _ in range(count)]


def _tone(start: int, count: int) -> Any:
    n = np.arange(start, start + count)
    samples = (0.2 * 32767 * np.sin(2 * np.pi * 440 * n / 48000)).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 48000
    return frame


T0 = 1000.0
"""The synthetic clock's instant of the recording's start."""


def open_pipeline(path: Path) -> RecordingPipeline:
    """The recorder's pipeline as ``ComposedRecorder`` makes it (the file is opened). Blocking."""
    pipeline = RecordingPipeline(path, T0, VideoSettings(width=640, height=480, fps=FPS), AudioSettings(),
                                 layout=BestFit(), fragment_s=0.25)
    pipeline.add_stream("cam", True, True, T0)
    return pipeline


def render(pipeline: RecordingPipeline, seconds: float, speed: float) -> float:
    """Render ``seconds`` of a noise picture and a tone on the synthetic clock, paced at up to
    ``speed`` x real time; the file stays open (the caller's stop closes it). Returns the
    pace achieved. Blocking."""
    frames = _noise_frames()
    started = time.monotonic()
    step = 0.1  # media seconds per round
    t, sample = 0.0, 0
    while t < seconds:
        for i in range(round(step * FPS)):
            n = round(t * FPS) + i
            pipeline.push_video("cam", frames[n % len(frames)], T0 + n / FPS)
        count = round(step * 48000)
        pipeline.push_audio("cam", _tone(sample, count), T0 + sample / 48000, sample)
        sample += count
        t += step
        pipeline.render_until(T0 + t - 0.05)
        ahead = t / speed - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    return seconds / (time.monotonic() - started)


async def _uploaded(services: Services, archive_id: str, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await services.archives.find(archive_id)
        if found is not None and found.status is ArchiveStatus.UPLOADED:
            return time.monotonic()
        if found is not None and found.status is not ArchiveStatus.STOPPED:
            raise RuntimeError(f"archive {archive_id} became {found.status}")
        await asyncio.sleep(0.005)
    raise TimeoutError(f"archive {archive_id} not uploaded in {timeout} s")


def _target(project_key: str, kind: str, moto: MotoServer, azurite: Azurite, bucket: str) -> StorageTarget:
    if kind == S3:
        return StorageTarget(id="", project_key=project_key, backend=S3, bucket=bucket, endpoint_url=moto.url,
                             region="us-east-1", access_key_id="testing", secret_access_key="testing")
    return StorageTarget(id="", project_key=project_key, backend=AZURE, bucket=bucket,
                         connection_string=azurite.connection_string)


@dataclass
class Result:
    store: str
    minutes: float
    size: int
    pace: float
    stop_s: float  # recorder flush + trailer + SHA-256
    live_s: float  # stop -> uploaded, uploading while recording
    complete_s: float  # of which: the rest of the file, the upload's completion
    at_stop_s: float  # stop -> uploaded, uploading at stop (the same stop + the whole upload)


async def one(kind: str, minutes: float, speed: float, moto: MotoServer, azurite: Azurite, work: Path) -> Result:
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    if kind == S3:
        moto.client().create_bucket(Bucket=bucket)
    else:
        azurite.container(bucket)
    async with running_app(fast_settings(work / f"live-{bucket}")) as (svc, _http):
        project = await svc.projects.create("bench")
        await StorageTargetRepository(svc.engine).add(_target(project.api_key, kind, moto, azurite, bucket))
        records = ArchiveRepository(svc.engine)
        archive = _archive(project)
        await records.add(archive)
        path = svc.settings.archives_dir / recording_key(archive)
        path.parent.mkdir(parents=True, exist_ok=True)
        pipeline = await asyncio.to_thread(open_pipeline, path)
        await svc.files.live.on_status(archive)  # what the archive service tells its listeners at start
        seconds = minutes * 60
        pace = await asyncio.to_thread(render, pipeline, seconds, speed)
        # stop: the service's "stopped", the recorder's finish and hash, then place_file
        stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
        assert await records.save_if_status(stopped, ArchiveStatus.STARTED)
        t_stop = time.monotonic()
        await asyncio.to_thread(pipeline.finish, T0 + seconds)
        result = await asyncio.to_thread(finalize_file, path)
        stop_s = time.monotonic() - t_stop
        outcome = RecordingOutcome(round(result.duration), result.size, recording_key(archive), result.sha256)
        kept = work / f"{archive.id}.mp4"
        shutil.copyfile(path, kept)  # for the at-stop run (the local copy goes once uploaded)
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)  # the rest + complete
        placed_s = time.monotonic() - t_stop
        live_s = await _uploaded(svc, archive.id) - t_stop

    settings = fast_settings(work / f"stop-{bucket}", upload_while_recording=False)
    async with running_app(settings) as (svc, _http):
        project = await svc.projects.create("bench")
        await StorageTargetRepository(svc.engine).add(_target(project.api_key, kind, moto, azurite, bucket))
        records = ArchiveRepository(svc.engine)
        archive = _archive(project)
        await records.add(archive)
        stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
        assert await records.save_if_status(stopped, ArchiveStatus.STARTED)
        path = svc.settings.archives_dir / recording_key(archive)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(kept, path)
        outcome = RecordingOutcome(round(result.duration), result.size, recording_key(archive), result.sha256)
        t_place = time.monotonic()
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        at_stop_s = stop_s + await _uploaded(svc, archive.id) - t_place
    return Result(kind, minutes, result.size, pace, stop_s, live_s, placed_s - stop_s, at_stop_s)


async def main(minutes: list[float], speed: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        moto = start_moto(work)
        azurite = start_azurite(work)
        results: list[Result] = []
        try:
            for length in minutes:
                for kind in (S3, AZURE):
                    results.append(await one(kind, length, speed, moto, azurite, work))
                    r = results[-1]
                    print(f"{r.store} {r.minutes:g} min: {r.size / 1e6:.1f} MB, live {r.live_s:.3f} s, "
                          f"at stop {r.at_stop_s:.3f} s", flush=True)
        finally:
            moto.stop()
            azurite.stop()
    rows = [(f"{r.store} ({'multipart' if r.store == S3 else 'block blob'})", f"{r.minutes:g} min",
             f"{r.size / 1e6:.1f} MB", f"{r.stop_s * 1000:.0f} ms", f"{r.complete_s * 1000:.0f} ms",
             f"{r.live_s * 1000:.0f} ms", f"{r.at_stop_s * 1000:.0f} ms", "<= 2 s") for r in results]
    notes = [
        "",
        "stop -> uploaded: from the stop (the recorder's last frames, trailer and SHA-256: the 'recorder stop' "
        "column) to the archive's `uploaded` status.",
        "While recording: the live upload followed the file (S3 parts of 8 MiB, Azure blocks of 4 MiB); at stop "
        "only the rest goes up ('rest + complete': the last part or block, CompleteMultipartUpload or Put Block "
        "List, the size read back); then the upload worker confirms the object and the archive becomes "
        "`uploaded`. At stop: the same file uploaded whole after the same recorder stop.",
        f"Recorded by the real pipeline on a synthetic clock at up to {speed:g}x real time (achieved: "
        + ", ".join(f"{r.pace:.1f}x" for r in results) + "); noise picture at the 640x480 bitrate cap, a tone.",
        "Stores on this machine (moto_server, Azurite): no network in between, so at-stop is a lower bound.",
    ]
    publish_result("upload", table(
        "Upload while recording: stop -> uploaded",
        ["store", "archive", "size", "recorder stop", "rest + complete", "while recording", "at stop", "target"],
        rows, notes,
    ))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 1.0])
    parser.add_argument("--speed", type=float, default=8.0)
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.speed))
