"""Upload while recording (``storage/live.py``), with the real recorder (compositor, mixer, x264,
fragmented MP4 muxer) writing a real archive file, the real app (archive service, file storage,
upload worker, SQLite) and real stores: moto's S3 server (multipart upload) and Azurite (block
blob).

The archive starts as the service starts one (its ``started`` status reaches the listeners,
the live upload among them) and its recorder is fed a noisy picture, so that parts fill up in
seconds; the test sees parts in the store *before* the stop, then hands the finished file to
``place_file`` as the launcher does. The object must be the local file, byte for byte.

Then a real ``archivist serve`` process with a real aiortc publisher (launcher, recorder, status
listener, all of it): killed with SIGKILL mid-recording (S3 and Azure), it recovers the archive on
restart, the unfinished multipart upload is aborted and the recovered file uploaded; stopped
gracefully mid-recording, it completes the live upload, and the restart does not send it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from opentok import Client, MediaModes

from archivist.app import Services
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus, Reason
from archivist.client import ArchivistClient
from archivist.recording import ComposedRecorder, RecordingOptions
from archivist.recording.recovery import inspect_file
from archivist.storage.file_states import FileState
from archivist.storage.live import journal_path, recording_key
from archivist.store.archive_files import ArchiveFileRepository
from archivist.store.archives import ArchiveRepository
from archivist.store.projects import Project
from archivist.store.storage_targets import AZURE, S3, StorageTarget, StorageTargetRepository
from archivist.webhooks.outbox import Outbox
from tests.servers import Server, make_server, wait_status
from tests.storage.harness import Azurite, MotoServer, fast_settings, running_app, wait_for


class NoisyRecording:
    """A started archive whose real recorder is fed a noise picture (a few MB/s at qp 15)."""

    def __init__(self, services: Services, project: Project) -> None:
        self.services = services
        now = int(time.time() * 1000)
        self.archive = Archive(
            id=str(uuid.uuid4()), project_key=project.api_key, session_id=f"1_live-{uuid.uuid4().hex}",
            name="live", status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now,
            duration=0, size=0, has_audio=True, has_video=True, output_mode="composed", stream_mode="auto",
            resolution="640x480", layout={"type": "bestFit"}, max_bitrate=None, quantization_parameter=15,
            multi_archive_tag=None, storage_key=None, sha256=None, seq=time.time_ns() // 1000,
        )
        self.key = recording_key(self.archive)
        self.path = services.settings.archives_dir / self.key
        self.records = ArchiveRepository(services.engine, [Outbox(services.settings.callback_url).enqueue])
        self.recorder = ComposedRecorder(self.path, RecordingOptions(resolution="640x480", quantization_parameter=15))
        self._feeding: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.records.add(self.archive)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self.recorder.start()
        self.recorder.add_stream("noise")
        self._feeding = asyncio.create_task(self._feed())
        await self.services.files.live.on_status(self.archive)  # what the service tells its listeners

    async def _feed(self) -> None:
        rng = np.random.default_rng(7)
        while True:
            img = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            self.recorder.push_video("noise", frame, time.monotonic())
            await asyncio.sleep(1 / 30)

    async def stop(self) -> tuple[Archive, RecordingOutcome, bytes, float]:
        """Stop as the service does (``stopped``, then the recorder's file to ``place_file``);
        the stopped archive, its outcome, the local file as it was at stop, the time of the stop."""
        assert self._feeding is not None
        self._feeding.cancel()
        stopped = self.archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED, duration=0)
        assert await self.records.save_if_status(stopped, ArchiveStatus.STARTED)
        stopped_at = time.monotonic()
        result = await self.recorder.stop()
        await self.recorder.close()
        outcome = RecordingOutcome(duration=round(result.duration), size=result.size, storage_key=self.key,
                                   sha256=result.sha256)
        local = self.path.read_bytes()
        after = await self.services.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        assert after.status is ArchiveStatus.STOPPED
        return stopped, outcome, local, stopped_at

    async def close(self) -> None:
        if self._feeding is not None:
            self._feeding.cancel()
        await self.recorder.close()


async def _uploaded(services: Services, archive_id: str) -> Archive | None:
    found = await services.archives.find(archive_id)
    return found if found is not None and found.status is ArchiveStatus.UPLOADED else None


def _target(project_key: str, backend: str, **fields: Any) -> StorageTarget:
    return StorageTarget(id="", project_key=project_key, backend=backend, **fields)


def _s3_target(project_key: str, moto: MotoServer, bucket: str) -> StorageTarget:
    return _target(project_key, S3, bucket=bucket, endpoint_url=moto.url, region="us-east-1",
                   access_key_id="testing", secret_access_key="testing")


def _multipart(s3: Any, bucket: str) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return uploads


def _parts(s3: Any, bucket: str) -> int:
    uploads = _multipart(s3, bucket)
    if not uploads:
        return 0
    upload = uploads[0]
    return len(s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts", []))


def _duration(data: bytes, tmp: Path) -> float:
    copy = tmp / f"{uuid.uuid4().hex}.mp4"
    copy.write_bytes(data)
    return inspect_file(copy).duration


def _playable(data: bytes, tmp: Path, duration: float) -> None:
    copy = tmp / f"{uuid.uuid4().hex}.mp4"
    copy.write_bytes(data)
    info = inspect_file(copy)
    assert info.has_moov and info.torn_at is None and info.fragments > 3
    assert abs(info.duration - duration) <= 1.0
    with av.open(str(copy)) as container:  # and a real demuxer/decoder reads it
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 30


async def test_s3_parts_go_up_while_recording_and_stop_is_quick(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="live")
    async with running_app(fast_settings(tmp_path / "data")) as (svc, _http):
        project = await svc.projects.create("live-s3")
        await StorageTargetRepository(svc.engine).add(_s3_target(project.api_key, moto, "live"))
        rec = NoisyRecording(svc, project)
        try:
            await rec.start()
            # 8 MiB parts: two of them are in the bucket while the archive still records
            await wait_for(lambda: _parts(s3, "live") >= 2, timeout=60, what="parts uploaded during the recording")
            journal = journal_path(rec.path)
            assert journal.exists()
            key = f"{project.api_key}/{rec.archive.id}/archive.mp4"
            assert _multipart(s3, "live")[0]["Key"] == key
            assert s3.list_objects_v2(Bucket="live").get("KeyCount", 0) == 0  # nothing visible yet
            stopped, outcome, local, stopped_at = await rec.stop()
        finally:
            await rec.close()
        done = await wait_for(lambda: _uploaded(svc, stopped.id), what="uploaded")
        stop_to_uploaded = time.monotonic() - stopped_at
        obj = s3.get_object(Bucket="live", Key=key)
        body = obj["Body"].read()
        assert body == local and hashlib.sha256(body).hexdigest() == outcome.sha256
        assert done.size == len(local) and done.sha256 == outcome.sha256
        assert "sha256" not in obj["Metadata"]  # the streamed object (the upload after stop sets it)
        assert int(obj["ETag"].strip('"').rsplit("-", 1)[1]) == -(-len(local) // (8 << 20))
        assert _multipart(s3, "live") == []
        assert svc.files.live.outcomes == {"complete": 1, "failed": 0, "dropped": 0}
        _playable(body, tmp_path, outcome.duration)
        await wait_for(lambda: not rec.path.exists() and not journal.exists(), what="the local copy to go")
        assert stop_to_uploaded < 10, stop_to_uploaded  # the recorder's flush + the last part, not the file


async def test_s3_failure_mid_recording_falls_back_to_the_upload_after_stop(
    tmp_path: Path, moto: MotoServer
) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="broken")
    async with running_app(fast_settings(tmp_path / "data")) as (svc, _http):
        project = await svc.projects.create("live-broken")
        await StorageTargetRepository(svc.engine).add(_s3_target(project.api_key, moto, "broken"))
        rec = NoisyRecording(svc, project)
        try:
            await rec.start()
            await wait_for(lambda: _parts(s3, "broken") >= 1, timeout=60, what="a part uploaded")
            # the store loses the upload (an operator's lifecycle rule, a bucket reset): the
            # next part fails, the live upload gives up; its abort fails too (no such upload)
            upload = _multipart(s3, "broken")[0]
            s3.abort_multipart_upload(Bucket="broken", Key=upload["Key"], UploadId=upload["UploadId"])
            live = svc.files.live.uploading(rec.archive.id)
            assert live is not None
            await wait_for(lambda: live.error is not None, timeout=60, what="the live upload to fail")
            stopped, outcome, local, _ = await rec.stop()
        finally:
            await rec.close()
        await wait_for(lambda: _uploaded(svc, stopped.id), what="uploaded after stop")
        obj = s3.get_object(Bucket="broken", Key=upload["Key"])
        assert obj["Body"].read() == local
        assert obj["Metadata"]["sha256"] == outcome.sha256  # the whole file went up after stop
        assert _multipart(s3, "broken") == []
        assert not journal_path(rec.path).exists()
        assert svc.files.live.outcomes["failed"] == 1


async def test_azure_blocks_go_up_while_recording(tmp_path: Path, azurite: Azurite) -> None:
    container = azurite.container("live")
    async with running_app(fast_settings(tmp_path / "data")) as (svc, _http):
        project = await svc.projects.create("live-azure")
        await StorageTargetRepository(svc.engine).add(
            _target(project.api_key, AZURE, bucket="live", connection_string=azurite.connection_string)
        )
        rec = NoisyRecording(svc, project)
        key = f"{project.api_key}/{rec.archive.id}/archive.mp4"
        blob = container.get_blob_client(key)

        def staged() -> int:
            try:
                return len(blob.get_block_list("uncommitted")[1])
            except Exception:  # no block yet: the blob does not exist at all
                return 0

        try:
            await rec.start()
            await wait_for(lambda: staged() >= 2, timeout=60, what="blocks staged during the recording")
            assert not blob.exists()  # staged, not committed
            stopped, outcome, local, _ = await rec.stop()
        finally:
            await rec.close()
        await wait_for(lambda: _uploaded(svc, stopped.id), what="uploaded")
        assert blob.download_blob().readall() == local
        props = blob.get_blob_properties()
        assert props.metadata["sha256"] == outcome.sha256 and props.content_settings.content_type == "video/mp4"
        assert len(blob.get_block_list("committed")[0]) == -(-len(local) // (4 << 20))
        row = await ArchiveFileRepository(svc.engine).get(stopped.id)
        assert row is not None and row.state is FileState.UPLOADED and row.attempts == 1


# ---- a real server, killed mid-recording --------------------------------------------------------
def _start_archive(server: Server, session_id: str) -> str:
    key, secret = server.project.api_key, server.project.api_secret
    r = httpx.post(f"{server.url}/v2/project/{key}/archive", headers={"X-TB-PARTNER-AUTH": f"{key}:{secret}"},
                   json={"sessionId": session_id, "name": "killed", "resolution": "1280x720",
                         "quantizationParameter": 15}, timeout=20)
    r.raise_for_status()
    archive_id: str = r.json()["id"]
    return archive_id


async def test_server_killed_mid_recording_recovers_and_completes_the_upload(
    tmp_path: Path, moto: MotoServer
) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="killed")
    server = make_server(tmp_path, extra_env={
        "ARCHIVIST_S3_BUCKET": "killed", "ARCHIVIST_S3_ENDPOINT_URL": moto.url, "ARCHIVIST_S3_REGION": "us-east-1",
        "ARCHIVIST_S3_ACCESS_KEY_ID": "testing", "ARCHIVIST_S3_SECRET_ACCESS_KEY": "testing",
        "ARCHIVIST_STORAGE_POLL_INTERVAL": "0.1", "ARCHIVIST_UPLOAD_BACKOFF": "0.1",
    })
    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    alice = await ArchivistClient.open(server.url, server.project.api_key, session_id,
                                       ot.generate_token(session_id))
    try:
        await alice.publish()
        archive_id = await asyncio.to_thread(_start_archive, server, session_id)
        started = time.monotonic()
        path = server.archive_file(archive_id)
        key = f"{server.project.api_key}/{archive_id}/archive.mp4"
        await wait_for(lambda: _parts(s3, "killed") >= 1, timeout=60, what="a part uploaded during the recording")
        assert journal_path(path).exists() and _multipart(s3, "killed")[0]["Key"] == key
        server.stop(signal.SIGKILL)  # mid-recording: the multipart upload is left unfinished
        recorded = time.monotonic() - started
        assert len(_multipart(s3, "killed")) == 1
        server.start()
        recovered = await wait_status(ot, archive_id, ("uploaded",), timeout=30)
        body = server.archive_json(archive_id)
        assert body["reason"] == "recovered after server restart"
        data = s3.get_object(Bucket="killed", Key=key)["Body"].read()
        # the recovered file, whole (the killed server's parts were not reused), as the archive says
        assert len(data) == body["size"] and hashlib.sha256(data).hexdigest() == body["sha256sum"]
        _playable(data, tmp_path, recovered.duration)
        assert recorded - 2 <= _duration(data, tmp_path) <= recorded + 0.5
        assert _multipart(s3, "killed") == []  # the killed server's multipart upload was aborted
        await wait_for(lambda: not path.exists() and not journal_path(path).exists(), what="the local copy to go")
    finally:
        await alice.close()
        server.stop()


FAST_SERVER = {"ARCHIVIST_STORAGE_POLL_INTERVAL": "0.1", "ARCHIVIST_UPLOAD_BACKOFF": "0.1"}


async def _recording_server(tmp: Path, env: dict[str, str]) -> tuple[Server, Client, ArchivistClient, str]:
    """A real server storing in a remote store (``env``), and an archive recording a publisher."""
    server = make_server(tmp, extra_env={**FAST_SERVER, **env})
    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    alice = await ArchivistClient.open(server.url, server.project.api_key, session_id,
                                       ot.generate_token(session_id))
    await alice.publish()
    archive_id = await asyncio.to_thread(_start_archive, server, session_id)
    return server, ot, alice, archive_id


async def test_azure_server_killed_mid_recording_recovers_and_completes_the_upload(
    tmp_path: Path, azurite: Azurite
) -> None:
    container = azurite.container("killed")
    server, ot, alice, archive_id = await _recording_server(tmp_path, {
        "ARCHIVIST_AZURE_CONTAINER": "killed", "ARCHIVIST_AZURE_CONNECTION_STRING": azurite.connection_string,
    })
    try:
        blob = container.get_blob_client(f"{server.project.api_key}/{archive_id}/archive.mp4")

        def staged() -> int:
            try:
                return len(blob.get_block_list("uncommitted")[1])
            except Exception:  # nothing staged yet: no blob at all
                return 0

        path = server.archive_file(archive_id)
        await wait_for(lambda: staged() >= 1, timeout=60, what="a block staged during the recording")
        server.stop(signal.SIGKILL)
        assert journal_path(path).exists() and not blob.exists()
        server.start()
        await wait_status(ot, archive_id, ("uploaded",), timeout=30)
        body = server.archive_json(archive_id)
        assert body["reason"] == "recovered after server restart"
        data = blob.download_blob().readall()
        assert len(data) == body["size"] and hashlib.sha256(data).hexdigest() == body["sha256sum"]
        assert blob.get_blob_properties().metadata["sha256"] == body["sha256sum"]
        assert staged() == 0  # the killed server's staged blocks went with the commit
        _playable(data, tmp_path, body["duration"])
        await wait_for(lambda: not path.exists() and not journal_path(path).exists(), what="the local copy to go")
    finally:
        await alice.close()
        server.stop()


async def test_server_stopped_mid_recording_completes_the_live_upload(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="shutdown")
    server, ot, alice, archive_id = await _recording_server(tmp_path, {
        "ARCHIVIST_S3_BUCKET": "shutdown", "ARCHIVIST_S3_ENDPOINT_URL": moto.url, "ARCHIVIST_S3_REGION": "us-east-1",
        "ARCHIVIST_S3_ACCESS_KEY_ID": "testing", "ARCHIVIST_S3_SECRET_ACCESS_KEY": "testing",
    })
    try:
        key = f"{server.project.api_key}/{archive_id}/archive.mp4"
        await wait_for(lambda: _parts(s3, "shutdown") >= 1, timeout=60, what="a part uploaded during the recording")
        server.stop(signal.SIGTERM)  # a graceful shutdown stops the recording ("session ended")
        assert _multipart(s3, "shutdown") == []  # the live upload was completed, not left behind
        server.start()
        await wait_status(ot, archive_id, ("uploaded",), timeout=30)
        body = server.archive_json(archive_id)
        assert body["reason"] == "session ended"
        obj = s3.get_object(Bucket="shutdown", Key=key)
        data = obj["Body"].read()
        assert len(data) == body["size"] and hashlib.sha256(data).hexdigest() == body["sha256sum"]
        assert "sha256" not in obj["Metadata"]  # the streamed object: not sent again after the restart
        _playable(data, tmp_path, body["duration"])
    finally:
        await alice.close()
        server.stop()
