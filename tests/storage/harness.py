"""Real parts for the storage and webhook tests.

* :func:`write_mp4`: a small real MP4 (H.264, fragmented like the recorder's) made with PyAV;
* :class:`MotoServer`: moto's standalone S3 server as a separate process (``moto_server``);
* :class:`Azurite`: Microsoft's Azure Storage emulator (npm ``azurite``, installed by
  ``scripts/test`` with ``npm ci``), its blob service as a separate process;
* :func:`running_app`: the real ASGI app with its real lifespan (``build_services``, background
  workers, SQLite file) and an HTTP client for it;
* :func:`finished_archive`: an archive that went ``started`` → ``stopped`` through the real
  repository (and its status-callback hook), with its real file where the recorder writes it,
  ready for ``ArchiveService.place_file`` (what ``stop_recording()`` calls once the recorder is
  done).
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np

from archivist.app import Services, create_app
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus, Reason
from archivist.config import Settings
from archivist.store.archives import ArchiveRepository
from archivist.store.projects import Project
from archivist.webhooks.outbox import Outbox
from tests.servers import ROOT, free_port

MOTO = ROOT / ".venv" / "bin" / "moto_server"
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's well-known development account (documented by Microsoft; not a secret)."""


def write_mp4(path: Path, seconds: float = 1.0, fps: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream: Any = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((120, 160, 3), (i * 23) % 256, np.uint8)
            img[:, : 16 * (i % 10)] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Short intervals: retries and polls in tens of milliseconds, not minutes."""
    base = Settings(
        data_dir=data_dir,
        sample_app=False,
        create_default_project=False,
        upload_attempts=3,
        upload_backoff=0.05,
        upload_backoff_max=0.2,
        fallback_retry_interval=0.4,
        storage_poll_interval=0.05,
        webhook_backoff=0.1,
        webhook_backoff_max=0.4,
        webhook_poll_interval=0.05,
        webhook_timeout=3.0,
        sweep_interval=0.1,
        callback_allow_private=True,  # the receivers are on this machine
    )
    return base.replace(**overrides)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """The real app, lifespan included (tests hand finished files to ``place_file``)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://archivist.test") as http:
            yield services, http


def auth(project: Project) -> dict[str, str]:
    return {"X-TB-PARTNER-AUTH": f"{project.api_key}:{project.api_secret}"}


async def finished_archive(
    services: Services, project: Project, *, name: str | None = "test archive", created_at: int | None = None
) -> tuple[Archive, RecordingOutcome]:
    now = created_at if created_at is not None else int(time.time() * 1000)
    archive = Archive(
        id=str(uuid.uuid4()), project_key=project.api_key, session_id=f"1_test-{uuid.uuid4().hex}", name=name,
        status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now, duration=0, size=0,
        has_audio=True, has_video=True, output_mode="composed", stream_mode="auto", resolution="640x480",
        layout={"type": "bestFit"}, max_bitrate=None, quantization_parameter=None, multi_archive_tag=None,
        storage_key=None, sha256=None, seq=time.time_ns() // 1000,
    )
    # the same repository and outbox hook the server runs with: "started" and "stopped" are events
    records = ArchiveRepository(services.engine, [Outbox(services.settings.callback_url).enqueue])
    await records.add(archive)
    stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED, duration=0)
    assert await records.save_if_status(stopped, ArchiveStatus.STARTED)
    key = f"{project.api_key}/{archive.id}.mp4"
    path = services.settings.archives_dir / key
    await asyncio.to_thread(write_mp4, path)
    outcome = RecordingOutcome(duration=1, size=path.stat().st_size, storage_key=key, sha256=sha256(path))
    return stopped, outcome


async def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll an async (or sync) check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class MotoServer:
    """moto's standalone S3-compatible server, a real HTTP process on its own port."""

    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start in 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self) -> Any:
        import boto3  # type: ignore[import-untyped]

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def start_moto(tmp: Path, port: int | None = None) -> MotoServer:
    return MotoServer(port or free_port(), tmp / "moto.log").start()


@dataclass
class Azurite:
    """Azurite's blob service, a real Azure Blob Storage protocol server on its own port."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.account_url};")

    def start(self) -> Azurite:
        if not AZURITE.exists():
            raise RuntimeError(f"{AZURITE} is missing: run `npm ci` (scripts/test does)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "azurite.log").open("ab")
        self.proc = subprocess.Popen(
            [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", str(self.workdir),
             "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"],
            stdout=log, stderr=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"azurite exited: {(self.workdir / 'azurite.log').read_text()[-2000:]}")
            try:
                httpx.get(f"{self.account_url}?comp=list", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("azurite did not start in 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def container(self, name: str, *, create: bool = True) -> Any:
        client = self.service().get_container_client(name)
        if create:
            client.create_container()
        return client


def start_azurite(tmp: Path, port: int | None = None) -> Azurite:
    return Azurite(port or free_port(), tmp / "azurite").start()
